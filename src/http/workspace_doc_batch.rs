//! The batch relation endpoint in the workspace document: `/v2/crm/{objectSlug}/relations`
//! spelled out per object, each operation's body the exact schema of that object's relation
//! endpoint plus `recordId` and `ifMatch`.

use serde_json::{Map, Value, json};

use super::relation_headers::IF_MATCH_PATTERN;
use super::value_schema;
use super::workspace_doc::rename;
use crate::domain::relation_batch::MAX_OPERATIONS;
use crate::domain::schema::ObjectDef;
use crate::domain::value::MAX_LINKS;
use std::sync::Arc;

const BATCH: &str = "/v2/crm/{objectSlug}/relations";

/// Replaces the templated batch path with one per object that has relation or user attributes.
pub fn specialize(paths: &mut Map<String, Value>, objects: &[Arc<ObjectDef>]) {
    let Some(template) = paths.remove(BATCH) else {
        return;
    };
    for object in objects {
        let Some(operation) = operation_schema(object) else {
            continue;
        };
        let mut item = template.clone();
        let Some(patch) = item.get_mut("patch") else {
            continue;
        };
        if let Some(content) =
            patch.pointer_mut("/requestBody/content/application~1json").and_then(Value::as_object_mut)
        {
            content.remove("example");
            content.remove("examples");
            content.insert("schema".into(), body(operation));
        }
        rename(patch, object);
        paths.insert(BATCH.replace("{objectSlug}", &object.slug), item);
    }
}

/// One operation: the relation endpoint's body of `object` with the record and its condition.
fn operation_schema(object: &ObjectDef) -> Option<Value> {
    let mut schema = relation_body(object)?;
    let properties = schema.get_mut("properties")?.as_object_mut()?;
    properties.insert("recordId".into(), json!({"type": "string", "format": "uuid"}));
    properties.insert(
        "ifMatch".into(),
        json!({"anyOf": [{"type": "string", "pattern": IF_MATCH_PATTERN,
            "description": "The record's ETag, as the If-Match header takes it."}, {"type": "null"}]}),
    );
    schema["required"] = json!(["recordId", "attributeSlug"]);
    Some(schema)
}

/// The relation endpoint's body for `object`: one of its relation or user attributes, and the
/// IDs to add and remove; `None` when it has no such attribute.
fn relation_body(object: &ObjectDef) -> Option<Value> {
    let keys: Vec<&str> = object.value_attributes().filter(|a| a.kind.is_link()).map(|a| a.key.as_str()).collect();
    if keys.is_empty() {
        return None;
    }
    let ids = value_schema::id_list(MAX_LINKS);
    Some(json!({
        "type": "object",
        "description": "`add` and/or `remove` must be a non-empty array of IDs; no ID may be in both.",
        "required": ["attributeSlug"],
        "properties": {
            "attributeSlug": {"type": "string", "enum": keys},
            "add": {"anyOf": [ids.clone(), {"type": "null"}]},
            "remove": {"anyOf": [ids, {"type": "null"}]},
        },
        // "At least one list non-empty" is left to the description and the server's 400: an
        // `anyOf` of partial branches beside `properties` makes openapi-python-client drop the
        // whole endpoint ("Invalid property in union").
        "additionalProperties": false,
    }))
}

fn body(operation: Value) -> Value {
    json!({
        "type": "object",
        "description": "Up to 1,000 operations and 10,000 IDs in all, applied in order.",
        "required": ["operations"],
        "properties": {
            "operations": {"type": "array", "items": operation, "minItems": 1, "maxItems": MAX_OPERATIONS},
            "atomic": {"anyOf": [{"type": "boolean", "default": true}, {"type": "null"}]},
        },
        "additionalProperties": false,
    })
}
