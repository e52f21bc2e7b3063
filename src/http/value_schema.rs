//! JSON Schemas of record values, one per attribute: what `domain::value` accepts, stated
//! exactly enough that a client generated from the workspace document sends nothing the server
//! refuses for its shape, and a fuzzer finds no value the server accepts outside it.

use serde_json::{Value, json};

use crate::domain::attribute::{AttributeType, TextValidation};
use crate::domain::schema::{AttributeDef, ObjectDef};
use crate::domain::value::{MAX_LINKS, MAX_NUMBER, MAX_PHONE_CHARS, MAX_TEXT_CHARS};

/// The characters Rust's `char::is_whitespace` (and so `str::trim`) treats as white space, as a
/// regex class body: `\s` differs between regex dialects.
pub const WHITE_SPACE: &str = "\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

/// Any string without NUL, which PostgreSQL cannot store and every body refuses.
pub const NO_NUL: &str = "^[^\\u0000]*$";

/// A hyphenated UUID in any case, the only form IDs are accepted in.
pub const UUID_PATTERN: &str = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// Which write a record body is for: `isRequired` applies when a record is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Create,
    Update,
}

/// The body of a record write on `object`: its writable attributes, nothing else.
pub fn record_body(object: &ObjectDef, write: Write) -> Value {
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for attr in object.value_attributes() {
        let must = write == Write::Create && attr.is_required;
        if must {
            required.push(Value::String(attr.key.clone()));
        }
        properties.insert(attr.key.clone(), value(attr, !must));
    }
    let mut body = json!({
        "type": "object",
        "description": format!("Values of the attributes of `{}`; omitted attributes are left as they are (null on create).", object.slug),
        "properties": properties,
        "additionalProperties": false,
    });
    if !required.is_empty() {
        body["required"] = Value::Array(required);
    }
    body
}

/// The schema of one attribute's value; `nullable` where `null` (or `[]`) may clear it.
pub fn value(attr: &AttributeDef, nullable: bool) -> Value {
    let mut schema = match attr.kind {
        AttributeType::Text => text(attr),
        AttributeType::Number | AttributeType::Currency => {
            json!({"type": "number", "minimum": -MAX_NUMBER, "maximum": MAX_NUMBER})
        }
        AttributeType::PhoneNumber => json!({
            "type": "string",
            "maxLength": MAX_PHONE_CHARS,
            "pattern": "^[ -]*\\+?[ -]*[0-9][0-9 -]*$",
            "description": "`+` and digits; spaces and dashes are ignored.",
        }),
        AttributeType::Date => json!({"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}),
        AttributeType::Datetime => json!({"type": "string", "format": "date-time"}),
        AttributeType::Checkbox => json!({"type": "boolean"}),
        AttributeType::Rating => json!({"type": "integer", "minimum": 0, "maximum": 5}),
        AttributeType::Select | AttributeType::Status => option(attr),
        AttributeType::Multiselect => json!({"type": "array", "items": option(attr)}),
        AttributeType::Relation | AttributeType::User => links(attr),
    };
    if !nullable && attr.kind.is_link() {
        // A required relation needs at least one ID: `[]` clears it.
        schema["minItems"] = json!(1);
    }
    if nullable && !schema.get("type").is_some_and(|t| t == "null") {
        schema = json!({"anyOf": [schema, {"type": "null"}]});
    }
    if let Some(map) = schema.as_object_mut() {
        map.insert("title".into(), Value::String(attr.label.clone()));
    }
    schema
}

fn text(attr: &AttributeDef) -> Value {
    let mut patterns = vec![json!({"pattern": NO_NUL})];
    for rule in &attr.validation {
        patterns.push(match rule {
            TextValidation::Email => json!({"pattern": email_pattern(), "maxLength": 254}),
            TextValidation::Url => {
                json!({"format": "uri", "pattern": "^https?://[^/?#\\s\\u0000]+([/?#][^\\s\\u0000]*)?$"})
            }
        });
    }
    json!({"type": "string", "maxLength": MAX_TEXT_CHARS, "allOf": patterns})
}

/// What `member::Email::parse` accepts: optional surrounding white space, a local part, `@`, and
/// a domain with a dot that neither starts nor ends it.
fn email_pattern() -> String {
    let w = WHITE_SPACE;
    let part = format!("[^{w}@\\u0000]");
    let edge = format!("[^{w}@.\\u0000]");
    format!("^[{w}]*{part}+@{edge}{part}*\\.{part}*{edge}[{w}]*$")
}

/// `{"id": <option id>}`; ids may also be sent as their decimal string.
fn option(attr: &AttributeDef) -> Value {
    if attr.options.is_empty() {
        return json!({"type": "null", "description": "The attribute has no options."});
    }
    let ids: Vec<i64> = attr.options.iter().map(|o| o.id).collect();
    let texts: Vec<String> = ids.iter().map(i64::to_string).collect();
    // Each alternative typed: generators refuse an `enum` that mixes types without a `type`.
    let id = json!({"anyOf": [{"type": "integer", "enum": ids}, {"type": "string", "enum": texts}]});
    option_object(attr, id, false)
}

/// `{"id": …}` with `id` as given, described by the options' values.
fn option_object(attr: &AttributeDef, mut id: Value, open: bool) -> Value {
    let described: Vec<String> = attr.options.iter().map(|o| format!("{} = {}", o.id, o.value)).collect();
    id["description"] = Value::String(described.join(", "));
    let mut schema = json!({"type": "object", "required": ["id"], "properties": {"id": id}});
    if !open {
        schema["additionalProperties"] = json!(false);
    }
    schema
}

/// The schema of one attribute's value in a record as the server renders it: every key is
/// present, link attributes as arrays of UUIDs, everything else possibly `null`.
pub fn rendered(attr: &AttributeDef) -> Value {
    let string = |format: Option<&str>| match format {
        Some(format) => json!({"type": "string", "format": format}),
        None => json!({"type": "string"}),
    };
    let option = || option_object(attr, json!({"type": "integer"}), true);
    let schema = match attr.kind {
        AttributeType::Relation | AttributeType::User => {
            let mut ids = links(attr);
            ids.as_object_mut().expect("an object").remove("maxItems");
            ids["items"] = json!({"type": "string", "format": "uuid"});
            return ids;
        }
        AttributeType::Text | AttributeType::PhoneNumber => string(None),
        AttributeType::Date => string(Some("date")),
        AttributeType::Datetime => string(Some("date-time")),
        AttributeType::Number | AttributeType::Currency => json!({"type": "number"}),
        AttributeType::Checkbox => json!({"type": "boolean"}),
        AttributeType::Rating => json!({"type": "integer"}),
        AttributeType::Select | AttributeType::Status => option(),
        AttributeType::Multiselect => json!({"type": "array", "items": option()}),
    };
    json!({"anyOf": [schema, {"type": "null"}], "description": attr.label})
}

/// An array of record or member UUIDs; a relation that links at most one record takes at most one.
pub fn links(attr: &AttributeDef) -> Value {
    let single = attr.relation.as_ref().is_some_and(|r| r.relation_type.single_here());
    let what = match &attr.relation {
        Some(r) => format!("IDs of `{}` records", r.related_object_slug),
        None => "IDs of active members".to_owned(),
    };
    let mut ids = id_list(if single { 1 } else { MAX_LINKS });
    ids["description"] = Value::String(what);
    ids
}

/// An array of at most `max_items` hyphenated UUIDs.
pub fn id_list(max_items: usize) -> Value {
    json!({
        "type": "array",
        "items": {"type": "string", "format": "uuid", "pattern": UUID_PATTERN},
        "maxItems": max_items,
    })
}

/// The relation body as two exclusive alternatives, so a generated type requires at least one
/// list and JSON Schema's `oneOf` holds: `add` non-empty (with any `remove`), or `remove`
/// non-empty with `add` absent, null or empty. `attribute_slug` is the schema of the key;
/// `describe` gives the description of `add` and `remove`.
pub fn relation_alternatives(attribute_slug: &Value, describe: impl Fn(&str) -> Value) -> [Value; 2] {
    let list = |field: &str, min: usize, max: usize| {
        let mut ids = id_list(max);
        let mut schema = if min > 0 {
            ids["minItems"] = json!(min);
            ids
        } else {
            json!({"anyOf": [ids, {"type": "null"}]})
        };
        schema["description"] = describe(field);
        schema
    };
    let alternative = |required: &str, description: &str, add: Value, remove: Value| {
        json!({
            "type": "object",
            "description": description,
            "required": ["attributeSlug", required],
            "properties": {"attributeSlug": attribute_slug, "add": add, "remove": remove},
            "additionalProperties": false,
        })
    };
    [
        alternative(
            "add",
            "Links `add` (and unlinks `remove`, applied first).",
            list("add", 1, MAX_LINKS),
            list("remove", 0, MAX_LINKS),
        ),
        alternative(
            "remove",
            "Unlinks `remove`; `add` is absent, null or empty.",
            list("add", 0, 0),
            list("remove", 1, MAX_LINKS),
        ),
    ]
}
