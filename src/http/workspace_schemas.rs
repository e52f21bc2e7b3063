//! The component schemas of one object in the workspace document: the static document's record
//! and relation schemas, copied per object with the object's own attribute keys and value types,
//! so a client generated from it reads `record.attributes.products` as an array of UUIDs.

use serde_json::{Map, Value, json};

use super::value_schema::{self, Write};
use crate::domain::schema::ObjectDef;

/// Static components that get one copy per object, and the suffix of the copy's name.
const SPECIALIZED: [(&str, &str); 7] = [
    ("RecordDto", "Record"),
    ("RecordEnvelope", "RecordEnvelope"),
    ("RecordList", "RecordList"),
    ("RelationRequestBody", "RelationChange"),
    ("RelationAdd", "RelationAdd"),
    ("RelationRemove", "RelationRemove"),
    ("RelationResponse", "RelationResponse"),
];

/// How a `$ref` to a component schema starts.
pub const SCHEMA_REF: &str = "#/components/schemas/";

/// The names of one object's components: `orders` gives `OrdersRecord`, `OrdersRecordList`, …
pub struct Names {
    prefix: String,
}

impl Names {
    pub fn of(object: &ObjectDef) -> Names {
        let prefix = object
            .slug
            .split(['-', '_'])
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
            })
            .collect();
        Names { prefix }
    }

    /// The object's component named `suffix`, e.g. `RecordCreate`.
    pub fn name(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// A `$ref` to the object's component named `suffix`.
    pub fn reference(&self, suffix: &str) -> Value {
        json!({"$ref": format!("{SCHEMA_REF}{}", self.name(suffix))})
    }

    /// Points every `$ref` to a specialized static component at the object's copy.
    pub fn retarget(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get_mut("$ref")
                    && let Some((_, suffix)) =
                        SPECIALIZED.iter().find(|(generic, _)| target.strip_prefix(SCHEMA_REF) == Some(generic))
                {
                    *target = format!("{SCHEMA_REF}{}", self.name(suffix));
                }
                map.values_mut().for_each(|v| self.retarget(v));
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.retarget(v)),
            _ => {}
        }
    }
}

/// The object's components, from the static document's `schemas`: unused ones (a relation body
/// of an object without links) are pruned with the rest of the document's.
pub fn components(schemas: &Map<String, Value>, object: &ObjectDef) -> Vec<(String, Value)> {
    let names = Names::of(object);
    let mut out = Vec::new();
    for (generic, suffix) in SPECIALIZED {
        let Some(mut schema) = schemas.get(generic).cloned() else { continue };
        names.retarget(&mut schema);
        match generic {
            "RecordDto" => record(&mut schema, object),
            "RelationAdd" | "RelationRemove" => schema["properties"]["attributeSlug"] = link_keys(object),
            "RelationRequestBody" => {
                // The static example names `orders`' keys.
                schema.as_object_mut().map(|s| s.remove("example"));
            }
            _ => {}
        }
        out.push((names.name(suffix), schema));
    }
    out.push((names.name("RecordCreate"), value_schema::record_body(object, Write::Create)));
    out.push((names.name("RecordUpdate"), value_schema::record_body(object, Write::Update)));
    out
}

/// A record of `object`: its slug, and every value attribute's key with its rendered type.
fn record(schema: &mut Value, object: &ObjectDef) {
    let mut properties = Map::new();
    for attr in object.value_attributes() {
        properties.insert(attr.key.clone(), value_schema::rendered(attr));
    }
    let keys: Vec<Value> = properties.keys().map(|k| Value::String(k.clone())).collect();
    let description = format!("Every attribute of `{}`.", object.slug);
    let mut attributes = json!({"type": "object", "description": description, "properties": properties});
    if !keys.is_empty() {
        attributes["required"] = Value::Array(keys);
    }
    schema["properties"]["attributes"] = attributes;
    schema["properties"]["objectSlug"] = json!({"type": "string", "enum": [object.slug]});
}

/// `attributeSlug` of a relation change: one of the object's relation and user attributes.
fn link_keys(object: &ObjectDef) -> Value {
    let keys: Vec<&str> = object.value_attributes().filter(|a| a.kind.is_link()).map(|a| a.key.as_str()).collect();
    json!({"type": "string", "enum": keys, "description": "Key of a `relation` or `user` attribute of the object."})
}
