//! Change events: their types, who caused them, and the before/after diff they carry.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

/// The kind of an event, as its `type` field spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
pub enum EventType {
    #[serde(rename = "crm.record.created")]
    RecordCreated,
    #[serde(rename = "crm.record.updated")]
    RecordUpdated,
    #[serde(rename = "crm.record.deleted")]
    RecordDeleted,
    #[serde(rename = "crm.relation.updated")]
    RelationUpdated,
    #[serde(rename = "crm.object.created")]
    ObjectCreated,
    #[serde(rename = "crm.object.updated")]
    ObjectUpdated,
    #[serde(rename = "crm.attribute.created")]
    AttributeCreated,
    #[serde(rename = "crm.attribute.updated")]
    AttributeUpdated,
}

impl EventType {
    /// Every type, in documentation order.
    pub const ALL: [EventType; 8] = [
        EventType::RecordCreated,
        EventType::RecordUpdated,
        EventType::RecordDeleted,
        EventType::RelationUpdated,
        EventType::ObjectCreated,
        EventType::ObjectUpdated,
        EventType::AttributeCreated,
        EventType::AttributeUpdated,
    ];

    /// The wire name, e.g. `crm.record.created`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::RecordCreated => "crm.record.created",
            EventType::RecordUpdated => "crm.record.updated",
            EventType::RecordDeleted => "crm.record.deleted",
            EventType::RelationUpdated => "crm.relation.updated",
            EventType::ObjectCreated => "crm.object.created",
            EventType::ObjectUpdated => "crm.object.updated",
            EventType::AttributeCreated => "crm.attribute.created",
            EventType::AttributeUpdated => "crm.attribute.updated",
        }
    }

    /// The type with this wire name.
    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// What the event is about (Debezium's aggregate type).
    pub fn aggregate(self) -> Aggregate {
        match self {
            EventType::ObjectCreated | EventType::ObjectUpdated => Aggregate::Object,
            EventType::AttributeCreated | EventType::AttributeUpdated => Aggregate::Attribute,
            _ => Aggregate::Record,
        }
    }
}

/// What an event is about; with its id, the aggregate of an outbox row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Record,
    Object,
    Attribute,
}

impl Aggregate {
    /// The stored name (`crm_events.aggregate_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregate::Record => "record",
            Aggregate::Object => "object",
            Aggregate::Attribute => "attribute",
        }
    }
}

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// An API token.
    Token,
    /// The `crm-api` command line (including `serve --demo`).
    Cli,
}

/// The actor of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Actor {
    #[serde(rename = "type")]
    pub kind: ActorKind,
    /// The token id; null for the command line.
    #[schema(required = true)]
    pub id: Option<Uuid>,
    /// The token's name, or the command that made the change.
    #[schema(required = true)]
    pub name: Option<String>,
}

/// Who made a change and in answer to which request: passed from the handler or command into
/// the write, copied into every event it appends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeContext {
    pub actor: Actor,
    pub request_id: Option<String>,
    pub idempotency_key: Option<String>,
}

impl ChangeContext {
    /// A change made through the API with token `id`.
    pub fn token(id: Uuid, name: Option<String>, request_id: Option<String>, idempotency_key: Option<String>) -> Self {
        ChangeContext { actor: Actor { kind: ActorKind::Token, id: Some(id), name }, request_id, idempotency_key }
    }

    /// A change made by the command line; `command` names it, e.g. `serve --demo`.
    pub fn cli(command: &str) -> ChangeContext {
        let actor = Actor { kind: ActorKind::Cli, id: None, name: Some(command.to_owned()) };
        ChangeContext { actor, request_id: None, idempotency_key: None }
    }
}

/// One changed field: its value before and after.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Change {
    /// The value before the change; null when it was not set.
    pub before: Value,
    /// The value after the change; null when it was cleared.
    pub after: Value,
}

/// Changed fields by name.
pub type Changes = BTreeMap<String, Change>;

/// The fields of `after` that differ from `before` (a missing field counts as null).
pub fn changes(before: &Map<String, Value>, after: &Map<String, Value>) -> Changes {
    let keys = before.keys().chain(after.keys());
    keys.filter_map(|key| {
        let (b, a) = (before.get(key).unwrap_or(&Value::Null), after.get(key).unwrap_or(&Value::Null));
        (b != a).then(|| (key.clone(), Change { before: b.clone(), after: a.clone() }))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn changes_list_only_what_differs() {
        let before = map(json!({"name": "a", "price": 1, "gone": true}));
        let after = map(json!({"name": "a", "price": 2, "new": "x"}));
        let diff = changes(&before, &after);
        assert_eq!(diff.keys().collect::<Vec<_>>(), ["gone", "new", "price"]);
        assert_eq!(diff["gone"], Change { before: json!(true), after: Value::Null });
        assert_eq!(diff["price"], Change { before: json!(1), after: json!(2) });
        assert!(changes(&before, &before).is_empty());
    }

    #[test]
    fn type_names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        }
        assert_eq!(EventType::parse("crm.record"), None);
    }
}
