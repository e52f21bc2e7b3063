//! Events of schema writes (`crm.object.*`, `crm.attribute.*`), appended inside the writing
//! transaction from the definitions as that transaction sees them.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::events::{self, NewEvent};
use super::schema;
use crate::domain::event::{ChangeContext, EventType};
use crate::domain::event_data::{AttributeEventData, AttributeState, ObjectEventData, ObjectState, diff};
use crate::domain::schema::AttributeDef;

/// An attribute as it was before a write, by object slug and key.
pub struct Watched {
    slug: String,
    key: String,
    attribute_id: Uuid,
    before: AttributeState,
}

async fn attribute(conn: &mut PgConnection, org: Uuid, slug: &str, key: &str) -> Result<AttributeDef, sqlx::Error> {
    let objects = schema::load(&mut *conn, org, Some(slug)).await?;
    objects
        .into_iter()
        .flat_map(|o| o.attributes)
        .find(|a| a.key == key)
        .ok_or_else(|| sqlx::Error::Protocol(format!("attribute '{slug}.{key}' vanished inside its transaction")))
}

fn data<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).expect("event data serializes")
}

/// Appends `crm.attribute.created` for each `(object slug, key)` just inserted.
pub async fn attributes_created(
    conn: &mut PgConnection,
    org: Uuid,
    context: &ChangeContext,
    created: &[(&str, &str)],
) -> Result<(), sqlx::Error> {
    let mut new = Vec::with_capacity(created.len());
    for (slug, key) in created {
        let attr = attribute(conn, org, slug, key).await?;
        let payload = AttributeEventData { attribute: AttributeState::from(&attr), changes: None };
        new.push(schema_event(EventType::AttributeCreated, attr.attribute_id, slug, data(payload)));
    }
    events::append(conn, org, context, &new).await
}

/// Locks the attribute rows `targets` (object slug, key) and reads them, before a write.
pub async fn watch(conn: &mut PgConnection, org: Uuid, targets: &[(&str, &str)]) -> Result<Vec<Watched>, sqlx::Error> {
    let mut watched = Vec::with_capacity(targets.len());
    for (slug, key) in targets {
        sqlx::query(
            "select 1 from crm_attributes a join crm_objects o using (organization_id, object_id)
             where a.organization_id = $1 and o.slug = $2 and a.key = $3 for update of a",
        )
        .bind(org)
        .bind(slug)
        .bind(key)
        .execute(&mut *conn)
        .await?;
        let attr = attribute(conn, org, slug, key).await?;
        let before = AttributeState::from(&attr);
        watched.push(Watched { slug: slug.to_string(), key: key.to_string(), attribute_id: attr.attribute_id, before });
    }
    Ok(watched)
}

/// Appends `crm.attribute.updated` for each watched attribute that changed; `false` when none
/// did (the caller then rolls back: a no-op writes nothing).
pub async fn attributes_updated(
    conn: &mut PgConnection,
    org: Uuid,
    context: &ChangeContext,
    watched: Vec<Watched>,
) -> Result<bool, sqlx::Error> {
    let mut new = Vec::new();
    for w in watched {
        let after = AttributeState::from(&attribute(conn, org, &w.slug, &w.key).await?);
        if let Some(changes) = diff(&w.before, &after) {
            let payload = AttributeEventData { attribute: after, changes: Some(changes) };
            new.push(schema_event(EventType::AttributeUpdated, w.attribute_id, &w.slug, data(payload)));
        }
    }
    events::append(conn, org, context, &new).await?;
    Ok(!new.is_empty())
}

/// Appends `crm.object.created`, or `crm.object.updated` with what changed between `before`
/// and `after`; `false` when nothing changed (nothing appended).
pub async fn object_written(
    conn: &mut PgConnection,
    org: Uuid,
    context: &ChangeContext,
    object_id: Uuid,
    before: Option<&ObjectState>,
    after: ObjectState,
) -> Result<bool, sqlx::Error> {
    let (kind, changes) = match before {
        None => (EventType::ObjectCreated, None),
        Some(before) => match diff(before, &after) {
            Some(changes) => (EventType::ObjectUpdated, Some(changes)),
            None => return Ok(false),
        },
    };
    let slug = after.slug.clone();
    let event = schema_event(kind, object_id, &slug, data(ObjectEventData { object: after, changes }));
    events::append(conn, org, context, &[event]).await?;
    Ok(true)
}

/// Appends what creating an organization created (its standard objects, from
/// `crm_seed_standard_objects`): `crm.object.created` for each object, then
/// `crm.attribute.created` for each attribute a client can see, as creating them through the
/// API would.
pub async fn organization_created(
    conn: &mut PgConnection,
    org: Uuid,
    context: &ChangeContext,
) -> Result<(), sqlx::Error> {
    let objects = schema::load(&mut *conn, org, None).await?;
    let created = objects.iter().map(|o| {
        let payload = ObjectEventData { object: ObjectState::from(o), changes: None };
        schema_event(EventType::ObjectCreated, o.object_id, &o.slug, data(payload))
    });
    let attributes = objects.iter().flat_map(|o| o.attributes.iter().filter(|a| !a.is_system).map(move |a| (o, a)));
    let attributes = attributes.map(|(o, a)| {
        let payload = AttributeEventData { attribute: AttributeState::from(a), changes: None };
        schema_event(EventType::AttributeCreated, a.attribute_id, &o.slug, data(payload))
    });
    let new: Vec<NewEvent> = created.chain(attributes).collect();
    events::append(conn, org, context, &new).await
}

fn schema_event(kind: EventType, aggregate_id: Uuid, slug: &str, data: Value) -> NewEvent {
    NewEvent {
        id: Uuid::new_v4(),
        kind,
        aggregate_id,
        object_slug: slug.to_owned(),
        related_object_slug: None,
        record: None,
        data,
    }
}
