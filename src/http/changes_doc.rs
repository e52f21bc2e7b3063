//! How the OpenAPI documents describe feed events: one schema per event type (the envelope
//! with that `type` and its exact `data`), joined as `Event` with a discriminator on `type`,
//! so generated clients get typed events.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use crate::domain::event::{Actor, EventType};
use crate::domain::event_data::{
    AttributeEventData, ObjectEventData, RecordCreatedData, RecordDeletedData, RecordUpdatedData, RelationEventData,
};
use crate::domain::schema::ObjectDef;

// Stored events are shaped by db::events::Rendered (NewEvent::render, render_link_change) and
// completed by sql/functions/crm_event_payload.sql; a test checks the feed's events against
// this schema. Never built: only documented.
/// The fields every event has.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct EventEnvelope {
    /// Stable: the same event delivered twice (feed, webhooks) has the same id.
    id: Uuid,
    #[serde(rename = "type")]
    kind: EventType,
    /// When the change's transaction started; the `updatedAt` the change wrote.
    #[schema(format = DateTime, example = "2025-06-01T10:00:00.123456+00:00")]
    occurred_at: String,
    /// The object of the record or attribute, or the object itself.
    #[schema(example = "orders")]
    object_slug: String,
    /// Record events: the record.
    #[schema(required = true)]
    record_id: Option<Uuid>,
    /// Record events: the record's version (ETag) after the change.
    #[schema(required = true)]
    record_version: Option<i64>,
    actor: Actor,
    /// The `x-request-id` of the request that made the change; null for the command line.
    #[schema(required = true)]
    request_id: Option<String>,
    /// The request's `Idempotency-Key`, if it sent one.
    #[schema(required = true)]
    idempotency_key: Option<String>,
}

/// One feed event; `type` says which, and which `data` it carries.
pub struct Event;

/// The schema name and `data` schema name of each event type's variant.
fn variant(t: EventType) -> (&'static str, Cow<'static, str>) {
    match t {
        EventType::RecordCreated => ("RecordCreatedEvent", RecordCreatedData::name()),
        EventType::RecordUpdated => ("RecordUpdatedEvent", RecordUpdatedData::name()),
        EventType::RecordDeleted => ("RecordDeletedEvent", RecordDeletedData::name()),
        EventType::RelationUpdated => ("RelationUpdatedEvent", RelationEventData::name()),
        EventType::ObjectCreated => ("ObjectCreatedEvent", ObjectEventData::name()),
        EventType::ObjectUpdated => ("ObjectUpdatedEvent", ObjectEventData::name()),
        EventType::AttributeCreated => ("AttributeCreatedEvent", AttributeEventData::name()),
        EventType::AttributeUpdated => ("AttributeUpdatedEvent", AttributeEventData::name()),
    }
}

fn schema(value: Value) -> RefOr<Schema> {
    serde_json::from_value(value).expect("a valid schema")
}

fn reference(name: &str) -> String {
    format!("#/components/schemas/{name}")
}

impl PartialSchema for Event {
    fn schema() -> RefOr<Schema> {
        let variants: Vec<(&str, &str)> = EventType::ALL.into_iter().map(|t| (t.as_str(), variant(t).0)).collect();
        let one_of: Vec<Value> = variants.iter().map(|(_, name)| json!({"$ref": reference(name)})).collect();
        let mapping: serde_json::Map<String, Value> =
            variants.iter().map(|(t, name)| (t.to_string(), Value::String(reference(name)))).collect();
        schema(json!({
            "description": "One event; `type` says which `data` it carries.",
            "oneOf": one_of,
            "discriminator": {"propertyName": "type", "mapping": mapping},
        }))
    }
}

impl ToSchema for Event {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Event")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((EventEnvelope::name().into(), <EventEnvelope as PartialSchema>::schema()));
        <EventEnvelope as ToSchema>::schemas(schemas);
        data_schema::<RecordCreatedData>(schemas);
        data_schema::<RecordUpdatedData>(schemas);
        data_schema::<RecordDeletedData>(schemas);
        data_schema::<RelationEventData>(schemas);
        data_schema::<ObjectEventData>(schemas);
        data_schema::<AttributeEventData>(schemas);
        for t in EventType::ALL {
            let (name, data) = variant(t);
            let own = json!({
                "type": "object",
                "required": ["type", "data"],
                "properties": {"type": {"type": "string", "enum": [t.as_str()]}, "data": {"$ref": reference(&data)}},
            });
            let description = format!("A `{}` event.", t.as_str());
            let variant = json!({"description": description, "allOf": [{"$ref": reference("EventEnvelope")}, own]});
            schemas.push((name.to_owned(), schema(variant)));
        }
    }
}

fn data_schema<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into(), <T as PartialSchema>::schema()));
    T::schemas(schemas);
}

/// The workspace document: `objectSlug` of the feed takes this workspace's object slugs.
pub fn specialize(doc: &mut Value, objects: &[Arc<ObjectDef>]) {
    let slugs: Vec<&str> = objects.iter().map(|o| o.slug.as_str()).collect();
    let params = doc.pointer_mut("/paths/~1v2~1changes/get/parameters").and_then(Value::as_array_mut);
    for param in params.into_iter().flatten().filter(|p| p["name"] == "objectSlug") {
        param["schema"] = json!({"type": "string", "enum": slugs});
    }
}
