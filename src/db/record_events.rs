//! Events of record writes (`crm.record.*`, and the `crm.relation.updated` events of a delete),
//! and the record's attributes as the API shows them, which those events carry.

use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::events::{self, NewEvent, Writer};
use super::links::{self, LinkRow};
use super::records::RecordRow;
use crate::domain::event::{Change, Changes, EventType};
use crate::domain::event_data::{RecordCreatedData, RecordDeletedData, RecordUpdatedData};
use crate::domain::record_input::RecordWrite;
use crate::domain::schema::ObjectDef;
use crate::domain::value;

/// Every non-archived attribute of the record by key: scalars in their type's format, relation
/// and user attributes as arrays of IDs in `links`' order (with `links`: value attributes only).
pub fn attributes(object: &ObjectDef, values: &Map<String, Value>, links: Option<&[&LinkRow]>) -> Map<String, Value> {
    object
        .value_attributes()
        .filter_map(|attr| {
            let value = match (attr.kind.is_link(), links) {
                (true, None) => return None,
                (true, Some(links)) => Value::Array(
                    links
                        .iter()
                        .filter(|l| l.belongs_to(attr))
                        .map(|l| Value::String(l.other_id.to_string()))
                        .collect(),
                ),
                (false, _) => value::render(attr, values.get(&attr.key)),
            };
            Some((attr.key.clone(), value))
        })
        .collect()
}

fn record_event(kind: EventType, writer: &Writer<'_>, (record_id, version): (Uuid, i64), data: Value) -> NewEvent {
    NewEvent {
        id: Uuid::new_v4(),
        kind,
        aggregate_id: record_id,
        object_slug: writer.object_slug.to_owned(),
        related_object_slug: None,
        record: Some((record_id, version)),
        data,
    }
}

fn data<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).expect("event data serializes")
}

/// Appends `crm.record.created` for a record just inserted (before its links, so a reader
/// meets the record before the relation events that link it).
pub async fn created(
    conn: &mut PgConnection,
    org: Uuid,
    object: &ObjectDef,
    row: &RecordRow,
    writer: &Writer<'_>,
) -> Result<(), sqlx::Error> {
    let payload = RecordCreatedData { attributes: attributes(object, &row.values.0, None) };
    let event = record_event(EventType::RecordCreated, writer, (row.record_id, row.version), data(payload));
    events::append(conn, org, writer.context, &[event]).await
}

/// The value attributes `write` changes from `before` to `after` (stored forms), rendered.
pub fn value_changes(before: &Map<String, Value>, after: &Map<String, Value>, write: &RecordWrite<'_>) -> Changes {
    write
        .scalars
        .iter()
        .filter(|(attr, _)| before.get(&attr.key) != after.get(&attr.key))
        .map(|(attr, _)| {
            let change = Change {
                before: value::render(attr, before.get(&attr.key)),
                after: value::render(attr, after.get(&attr.key)),
            };
            (attr.key.clone(), change)
        })
        .collect()
}

/// Appends `crm.record.updated` with `changes` (none: nothing appended).
pub async fn updated(
    conn: &mut PgConnection,
    org: Uuid,
    record: (Uuid, i64),
    changes: Changes,
    writer: &Writer<'_>,
) -> Result<(), sqlx::Error> {
    if changes.is_empty() {
        return Ok(());
    }
    let event = record_event(EventType::RecordUpdated, writer, record, data(RecordUpdatedData { changes }));
    events::append(conn, org, writer.context, &[event]).await
}

/// Appends the events of deleting the (locked) record: one `crm.relation.updated` per
/// attribute that had links, removing them (the other records lose them too), then
/// `crm.record.deleted` with the record as it was. The version they carry is one past the
/// record's last, so a reader ordering by version puts the deletion last.
pub async fn deleted(
    conn: &mut PgConnection,
    org: Uuid,
    object: &ObjectDef,
    row: &RecordRow,
    writer: &Writer<'_>,
) -> Result<(), sqlx::Error> {
    let all = links::for_records(&mut *conn, org, &[row.record_id]).await?;
    let all: Vec<&LinkRow> = all.iter().collect();
    let record = (row.record_id, row.version + 1);
    let mut new: Vec<NewEvent> = object
        .attributes
        .iter()
        .filter(|attr| attr.kind.is_link())
        .filter_map(|attr| {
            let removed: Vec<Uuid> = all.iter().filter(|l| l.belongs_to(attr)).map(|l| l.other_id).collect();
            (!removed.is_empty()).then(|| NewEvent::relation(writer.object_slug, record, attr, vec![], removed))
        })
        .collect();
    let payload = RecordDeletedData { attributes: attributes(object, &row.values.0, Some(&all)) };
    new.push(record_event(EventType::RecordDeleted, writer, record, data(payload)));
    events::append(conn, org, writer.context, &new).await
}
