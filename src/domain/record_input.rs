//! A record body (`{"<attributeKey>": value, …}`) checked against an object's schema.

use serde_json::Value;
use uuid::Uuid;

use super::problem::{Problem, echo, pointer_segment};
use super::schema::{AttributeDef, ObjectDef};
use super::value::{self, ValueError};

/// The validated changes a record body asks for.
#[derive(Debug, Default)]
pub struct RecordWrite<'a> {
    /// Scalar values in canonical form; `Value::Null` clears.
    pub scalars: Vec<(&'a AttributeDef, Value)>,
    /// The complete new set of IDs of each relation or user attribute sent.
    pub links: Vec<(&'a AttributeDef, Vec<Uuid>)>,
}

impl<'a> RecordWrite<'a> {
    /// The canonical value this write gives `key`, if it sets it.
    pub fn scalar(&self, key: &str) -> Option<&Value> {
        self.scalars.iter().find(|(a, _)| a.key == key).map(|(_, v)| v)
    }
}

/// Parses a body, reporting every unknown, read-only, archived or invalid key at once.
pub fn parse<'a>(object: &'a ObjectDef, body: &Value) -> Result<RecordWrite<'a>, Vec<Problem>> {
    let Some(fields) = body.as_object() else {
        return Err(vec![Problem::new("", "invalid_type", "expected a JSON object mapping attribute keys to values")]);
    };
    let mut write = RecordWrite::default();
    let mut problems = Vec::new();
    // Built once: a body may carry a hundred thousand unknown keys.
    let mut writable: Option<String> = None;
    for (key, raw) in fields {
        let pointer = format!("/{}", pointer_segment(key));
        let Some(attr) = object.attribute(key) else {
            let writable = writable.get_or_insert_with(|| writable_keys(object));
            let message = format!("'{}' has no attribute '{}'; {writable}", object.slug, echo(key));
            problems.push(Problem::new(pointer, "unknown_attribute", message));
            continue;
        };
        if attr.is_system {
            problems.push(Problem::new(pointer, "read_only", format!("'{key}' is set by the server")));
            continue;
        }
        if attr.is_archived {
            problems.push(Problem::new(pointer, "archived_attribute", format!("'{key}' is archived")));
            continue;
        }
        let parsed = if attr.kind.is_link() {
            value::parse_links(raw).map(|ids| write.links.push((attr, ids)))
        } else {
            value::parse_scalar(attr, raw).map(|v| write.scalars.push((attr, v))).map_err(|e| vec![e])
        };
        if let Err(errors) = parsed {
            problems.extend(errors.into_iter().map(|e| located(&pointer, e)));
        }
    }
    if problems.is_empty() { Ok(write) } else { Err(problems) }
}

/// Required attributes a new record would leave empty.
pub fn missing_required(object: &ObjectDef, write: &RecordWrite<'_>) -> Vec<Problem> {
    object
        .value_attributes()
        .filter(|a| a.is_required)
        .filter(|a| {
            let scalar_set = write.scalars.iter().any(|(s, v)| s.key == a.key && !v.is_null());
            let links_set = write.links.iter().any(|(l, ids)| l.key == a.key && !ids.is_empty());
            !(scalar_set || links_set)
        })
        .map(|a| {
            let pointer = format!("/{}", pointer_segment(&a.key));
            Problem::new(pointer, "required", format!("'{}' is required", a.key))
        })
        .collect()
}

fn located(pointer: &str, e: ValueError) -> Problem {
    Problem::new(format!("{pointer}{}", e.at), e.code, e.message)
}

/// Names at most this many writable keys in an unknown-key message: one message per unknown key
/// must not repeat a whole schema (a thousand unknown keys on a wide object made gigabytes).
const KEYS_NAMED: usize = 10;

fn writable_keys(object: &ObjectDef) -> String {
    let count = object.value_attributes().count();
    let named: Vec<&str> = object.value_attributes().take(KEYS_NAMED).map(|a| a.key.as_str()).collect();
    let more = match count.saturating_sub(KEYS_NAMED) {
        0 => String::new(),
        n => format!(" and {n} more (GET /v2/crm/objects/{} lists them)", object.slug),
    };
    format!("writable keys: {}{more}", named.join(", "))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::domain::attribute::AttributeType;

    fn object() -> ObjectDef {
        let mut id = AttributeDef::for_test(AttributeType::Text);
        id.key = "id".into();
        id.is_system = true;
        let mut sku = AttributeDef::for_test(AttributeType::Text);
        sku.key = "sku".into();
        sku.is_required = true;
        let mut price = AttributeDef::for_test(AttributeType::Number);
        price.key = "price".into();
        let mut old = AttributeDef::for_test(AttributeType::Text);
        old.key = "old".into();
        old.is_archived = true;
        let mut tags = AttributeDef::for_test(AttributeType::Relation);
        tags.key = "tags".into();
        ObjectDef {
            object_id: Uuid::new_v4(),
            slug: "products".into(),
            singular_name: "Product".into(),
            plural_name: "Products".into(),
            is_standard: false,
            is_active: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            attributes: vec![id, sku, price, old, tags],
        }
    }

    #[test]
    fn splits_scalars_and_links() {
        let object = object();
        let tag = Uuid::new_v4();
        let write = parse(&object, &json!({"sku": "A-1", "price": 2.0, "tags": [tag.to_string()]})).unwrap();
        assert_eq!(write.scalar("price"), Some(&json!(2)));
        assert_eq!(write.links[0].1, vec![tag]);
    }

    #[test]
    fn reports_every_problem_with_its_pointer() {
        let object = object();
        let body = json!({"id": "x", "nope": 1, "old": "y", "price": "cheap", "tags": ["bad"], "a/b": 1});
        let problems = parse(&object, &body).unwrap_err();
        let mut found: Vec<(&str, &str)> = problems.iter().map(|p| (p.pointer.as_str(), p.code)).collect();
        found.sort();
        assert_eq!(
            found,
            vec![
                ("/a~1b", "unknown_attribute"),
                ("/id", "read_only"),
                ("/nope", "unknown_attribute"),
                ("/old", "archived_attribute"),
                ("/price", "invalid_type"),
                ("/tags/0", "invalid_uuid"),
            ]
        );
    }

    #[test]
    fn required_applies_to_missing_and_null_values() {
        let object = object();
        let empty = parse(&object, &json!({})).unwrap();
        assert_eq!(missing_required(&object, &empty)[0].pointer, "/sku");
        let null = parse(&object, &json!({"sku": null})).unwrap();
        assert_eq!(missing_required(&object, &null).len(), 1);
        let set = parse(&object, &json!({"sku": "A-1"})).unwrap();
        assert!(missing_required(&object, &set).is_empty());
    }

    #[test]
    fn a_body_must_be_an_object() {
        assert_eq!(parse(&object(), &json!([1])).unwrap_err()[0].code, "invalid_type");
    }
}
