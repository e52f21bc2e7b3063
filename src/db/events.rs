//! The change feed's table: appending events inside a write's transaction, reading them in
//! commit order by cursor, the head cursor, pruning, and the cross-process wake-up.
//!
//! Commit order: `seq` is taken before commit, so a transaction that commits late would slip
//! in behind a position expressed as a `seq`. Positions are snapshots instead (see
//! `domain::cursor`): a read returns the events of transactions visible in the batch snapshot
//! `cur` but not in the delivered snapshot `prev`. A transaction committing after `prev` was
//! taken is never visible in `prev`, so it falls into a later batch, never behind the reader.
//! Inside a batch events go out in `seq` order, which is each record's version order because
//! every writer appends its events after taking the record's row lock.

use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::postgres::{PgHasArrayType, PgTypeInfo};
use sqlx::{PgConnection, PgPool, Postgres};
use uuid::Uuid;

use crate::domain::cursor::{Cursor, Snapshot, Within};
use crate::domain::event::{ChangeContext, EventType};
use crate::domain::event_data::RelationEventData;
use crate::domain::schema::AttributeDef;

/// The NOTIFY channel that tells other server processes an organization's feed moved.
pub const CHANNEL: &str = "crm_events";

/// One event to append. Rendered with the writer's context (`render`, `render_link_change`);
/// the transaction's time is added in SQL (`crm_event_payload`).
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The event's stable id.
    pub id: Uuid,
    pub kind: EventType,
    /// The record, object or attribute the event is about.
    pub aggregate_id: Uuid,
    /// The object the record or attribute belongs to (or the object itself).
    pub object_slug: String,
    /// Relation events: the object on the other side.
    pub related_object_slug: Option<String>,
    /// Record events: the record and its version after the change.
    pub record: Option<(Uuid, i64)>,
    pub data: Value,
}

impl NewEvent {
    /// `crm.relation.updated`: `attr` of record `record_id` (of object `object_slug`, now at
    /// `version`) gained `added` and lost `removed`.
    pub fn relation(
        object_slug: &str,
        (record_id, version): (Uuid, i64),
        attr: &AttributeDef,
        added: Vec<Uuid>,
        removed: Vec<Uuid>,
    ) -> NewEvent {
        let data = RelationEventData::of(attr, added, removed);
        NewEvent {
            id: Uuid::new_v4(),
            kind: EventType::RelationUpdated,
            aggregate_id: record_id,
            object_slug: object_slug.to_owned(),
            related_object_slug: data.related_object_slug.clone(),
            record: Some((record_id, version)),
            data: serde_json::to_value(data).expect("event data serializes"),
        }
    }

    /// The event as `crm_events_append` takes it, its payload complete but for the time.
    fn render(&self, context: &ChangeContext) -> Rendered {
        let tail =
            Tail { record: self.record_ref(), record_version: self.record.map(|r| r.1), context, data: &self.data };
        let tail = to_json(&tail);
        Rendered::of(self, vec![opening(self.id, self.kind), format!("\",{}", &tail[1..])])
    }

    /// A `crm.relation.updated` event as `crm_link_change` takes it (`p_event`), to be completed
    /// there with the record's version and the IDs that really changed (`data`'s `added` and
    /// `removed`, which come first; whatever `self.data` holds for them is ignored). The payload's
    /// `recordId` is `self.record`'s: it must be the record the call writes, which fills the
    /// row's columns.
    ///
    /// # Panics
    ///
    /// When `self.record` is `None`: a link change is always a record's
    /// ([`NewEvent::relation`] sets it).
    pub fn render_link_change(&self, context: &ChangeContext) -> Rendered {
        let record = self.record.expect("a link change is a record's");
        self.link_change_shape(context).into_rendered(self.id, record)
    }

    /// What this link change's event shares with every other event of the same object,
    /// attribute and writer, whatever its record: see [`LinkChangeShape`].
    pub fn link_change_shape(&self, context: &ChangeContext) -> LinkChangeShape {
        let rest: Map<String, Value> = (self.data.as_object().into_iter().flatten())
            .filter(|(key, _)| !matches!(key.as_str(), "added" | "removed"))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let rest = if rest.is_empty() { String::new() } else { format!(",{}", inner(&to_json(&rest))) };
        LinkChangeShape {
            object_slug: self.object_slug.clone(),
            related_object_slug: self.related_object_slug.clone(),
            context: format!(",{},\"data\":{{\"added\":", inner(&to_json(context))),
            rest: format!("{rest}}}}}"),
        }
    }

    fn record_ref(&self) -> RecordRef<'_> {
        RecordRef { object_slug: &self.object_slug, record_id: self.record.map(|r| r.0) }
    }
}

/// An event as the SQL functions that append it take it (`crm_events_append`'s rows, the
/// `p_event` of `crm_link_change` and its callers): its id and columns, and its payload as text
/// pieces around the values only the writing transaction knows, which `crm_event_payload`
/// splices in (see there). The one place the envelope (`EventEnvelope` in
/// `http::changes_doc`) is shaped: rendering it here is cheaper than building it as JSON in
/// SQL on every write (the README has the figures).
///
/// Bound as a row of `crm_event_row` (migration 0016; its fields are these, field for field and
/// in this order, `kind` being `type`; `changes_records` tests the stored columns), sent
/// in binary. Not as JSON: the pieces are JSON text, and inside a JSON document every quote in
/// them was escaped here and unescaped by PostgreSQL's parser again on every write.
#[derive(Debug, Clone, sqlx::Encode)]
pub struct Rendered {
    id: Uuid,
    kind: &'static str,
    aggregate_type: &'static str,
    aggregate_id: Uuid,
    object_slug: String,
    related_object_slug: Option<String>,
    record_id: Option<Uuid>,
    record_version: Option<i64>,
    payload: Vec<String>,
}

impl sqlx::Type<Postgres> for Rendered {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("crm_event_row")
    }
}

impl PgHasArrayType for Rendered {
    fn array_type_info() -> PgTypeInfo {
        PgTypeInfo::array_of("crm_event_row")
    }
}

impl Rendered {
    fn of(e: &NewEvent, payload: Vec<String>) -> Rendered {
        Rendered {
            id: e.id,
            kind: e.kind.as_str(),
            aggregate_type: e.kind.aggregate().as_str(),
            aggregate_id: e.aggregate_id,
            object_slug: e.object_slug.clone(),
            related_object_slug: e.related_object_slug.clone(),
            record_id: e.record.map(|r| r.0),
            record_version: e.record.map(|r| r.1),
            payload,
        }
    }
}

/// The pieces of a `crm.relation.updated` event (`NewEvent::render_link_change`) that do not
/// depend on its record: the writer's context and the attribute's slugs. A batch renders them
/// once for each run of operations on one attribute instead of once per operation, where
/// serializing them was most of what the server spent on a batch's events.
#[derive(Debug, Clone)]
pub struct LinkChangeShape {
    object_slug: String,
    related_object_slug: Option<String>,
    /// The piece after `recordVersion`: the context, up to `data`'s `added`.
    context: String,
    /// The last piece: after `removed`, the rest of `data` and the envelope's end.
    rest: String,
}

impl LinkChangeShape {
    /// The event `id` of this shape about `record` (its id and version: see
    /// `NewEvent::render_link_change`).
    pub fn render(&self, id: Uuid, record: (Uuid, i64)) -> Rendered {
        self.clone().into_rendered(id, record)
    }

    /// [`LinkChangeShape::render`] for the shape's only event: its pieces move into the event
    /// instead of being copied (the relation endpoint's one event per request).
    fn into_rendered(self, id: Uuid, (record_id, version): (Uuid, i64)) -> Rendered {
        let record = to_json(&RecordRef { object_slug: &self.object_slug, record_id: Some(record_id) });
        let kind = EventType::RelationUpdated;
        Rendered {
            id,
            kind: kind.as_str(),
            aggregate_type: kind.aggregate().as_str(),
            aggregate_id: record_id,
            object_slug: self.object_slug,
            related_object_slug: self.related_object_slug,
            record_id: Some(record_id),
            record_version: Some(version),
            payload: vec![
                opening(id, kind),
                format!("\",{},\"recordVersion\":", inner(&record)),
                self.context,
                ",\"removed\":".to_owned(),
                self.rest,
            ],
        }
    }
}

/// The envelope's fields before `occurredAt`.
#[derive(Serialize)]
struct Head {
    id: Uuid,
    #[serde(rename = "type")]
    kind: EventType,
}

/// The envelope's fields after `occurredAt`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Tail<'a> {
    #[serde(flatten)]
    record: RecordRef<'a>,
    record_version: Option<i64>,
    #[serde(flatten)]
    context: &'a ChangeContext,
    data: &'a Value,
}

/// The envelope's fields between `occurredAt` and `recordVersion` (in both kinds of pieces).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordRef<'a> {
    object_slug: &'a str,
    record_id: Option<Uuid>,
}

/// The first piece: the envelope up to the opening quote of `occurredAt`'s value.
fn opening(id: Uuid, kind: EventType) -> String {
    let head = to_json(&Head { id, kind });
    format!("{},\"occurredAt\":\"", &head[..head.len() - 1])
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("events serialize")
}

/// A JSON object's members without its braces.
fn inner(object: &str) -> &str {
    &object[1..object.len() - 1]
}

/// Who is writing, for the events a write appends.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    pub context: &'a ChangeContext,
    /// The object of the record being written.
    pub object_slug: &'a str,
}

/// Appends `events` in one statement. Call it inside the transaction that makes the change,
/// after the change (after the record's row lock), from the one function that writes that
/// kind of change; a change that changed nothing appends nothing.
pub async fn append(
    conn: &mut PgConnection,
    organization_id: Uuid,
    context: &ChangeContext,
    events: &[NewEvent],
) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let rows: Vec<Rendered> = events.iter().map(|e| e.render(context)).collect();
    sqlx::query("select crm_events_append($1, $2)").bind(organization_id).bind(rows).execute(conn).await?;
    Ok(())
}

/// Which events a reader wants; `None` means all.
#[derive(Debug, Default)]
pub struct Filter {
    pub types: Option<Vec<EventType>>,
    /// Events of this object, including relation events where it is the other side.
    pub object_slug: Option<String>,
}

/// One page of the feed.
#[derive(Debug)]
pub struct Page {
    /// The events as a JSON array's elements, comma-separated, in feed order.
    pub events_json: String,
    pub count: usize,
    /// Where the next read starts.
    pub next: Cursor,
    /// More events were already there beyond this page.
    pub has_more: bool,
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The cursor names transactions this database has not reached: it comes from elsewhere.
    #[error("the cursor was not issued by this server")]
    Foreign,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(sqlx::FromRow)]
struct PageRow {
    cur: String,
    head_xmax: String,
    found: i64,
    kept: i64,
    last_seq: Option<i64>,
    events: Option<String>,
}

/// Up to `count` events of the organization after `after` (from the oldest retained event
/// when `None`), in commit order, stopping before the event that would take the page's events
/// past `bytes` (a page holds at least one), so large events cannot make a page unbounded.
/// `now` (Unix seconds) stamps the cursor it returns.
pub async fn read(
    pool: &PgPool,
    organization_id: Uuid,
    after: Option<&Cursor>,
    filter: &Filter,
    (count, bytes): (u16, usize),
    now: i64,
) -> Result<Page, ReadError> {
    let start = Cursor { prev: Snapshot::empty(), within: None, issued_at: now };
    let after = after.unwrap_or(&start);
    let within = after.within.as_ref();
    let types = filter.types.as_ref().map(|t| t.iter().map(|t| t.as_str()).collect::<Vec<_>>());
    // Where to start looking (see sql/functions/crm_events_page.sql): following the head, the
    // oldest transaction the delivered snapshot did not see; deep in a batch or from the oldest
    // event, nowhere but `last_seq`.
    let xid_from = (within.is_none() && after.prev != Snapshot::empty()).then(|| after.prev.xmin().to_string());
    let row: PageRow = sqlx::query_as(
        "select r_cur as cur, r_head_xmax as head_xmax, r_found as found, r_kept as kept, r_last_seq as last_seq,
                r_events as events
         from crm_events_page($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(organization_id)
    .bind(within.map(|w| w.cur.to_pg()))
    .bind(xid_from)
    .bind(after.prev.to_pg())
    .bind(within.map_or(0, |w| w.last_seq))
    .bind(types)
    .bind(filter.object_slug.as_deref())
    .bind(i64::from(count))
    .bind(i64::try_from(bytes).unwrap_or(i64::MAX))
    .fetch_one(pool)
    .await?;
    let head_xmax: u64 = row.head_xmax.parse().map_err(|_| ReadError::Foreign)?;
    let cur = Snapshot::parse(&row.cur).ok_or(ReadError::Foreign)?;
    if after.prev.xmax() > head_xmax || cur.xmax() > head_xmax {
        return Err(ReadError::Foreign);
    }
    let has_more = row.found > row.kept;
    // `issued_at` is when `prev` was taken, and the pruner relies on it (see `prune`): a batch
    // read over several pages ends with its snapshot, taken on its first page, not now.
    // Never before `prev` was issued: `now` may come from another server's clock (cursors refuse
    // a batch taken before its `prev`).
    let taken_at = within.map_or(now.max(after.issued_at), |w| w.taken_at);
    let next = match (has_more, row.last_seq) {
        (true, Some(last_seq)) => Cursor {
            prev: after.prev.clone(),
            within: Some(Within { cur, last_seq, taken_at }),
            issued_at: after.issued_at,
        },
        _ => Cursor { prev: cur, within: None, issued_at: taken_at },
    };
    let count = usize::try_from(row.kept).unwrap_or_default();
    Ok(Page { events_json: row.events.unwrap_or_default(), count, next, has_more })
}

/// The feed's head now: everything committed so far is behind it.
pub async fn head(pool: &PgPool) -> Result<Snapshot, sqlx::Error> {
    let text: String = sqlx::query_scalar("select pg_current_snapshot()::text").fetch_one(pool).await?;
    Snapshot::parse(&text).ok_or_else(|| sqlx::Error::Protocol(format!("unreadable snapshot '{text}'")))
}

/// Tells every server process listening on the database that these organizations' feeds
/// moved (`payload`: see `feed`). Its own tiny autocommit statement, never inside a write:
/// NOTIFY takes a cluster-wide lock from pre-commit through the commit's WAL flush.
pub async fn notify(pool: &PgPool, payload: &str) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(pool).await?;
    Ok(())
}

/// Deletes the events retention no longer covers, `batch` rows per short transaction, while
/// holding an advisory lock so one process prunes at a time; `None` when another process holds
/// it. Each run first records a horizon (`crm_event_horizons`, migration 0020: the oldest
/// transaction running now), then deletes the events of transactions older than the newest
/// horizon taken `retention_secs` (and a margin) ago or more: every cursor whose `prev` was taken
/// since already has them behind it, and older cursors are expired (`http::changes`). Old rows
/// are never rows a writer touches, so nothing waits.
pub async fn prune(pool: &PgPool, retention_secs: i64, batch: i64) -> Result<Option<u64>, sqlx::Error> {
    const LOCK: &str = "crm_events prune";
    let mut conn = pool.acquire().await?;
    let locked: bool = sqlx::query_scalar("select pg_try_advisory_lock(hashtextextended($1, 0))")
        .bind(LOCK)
        .fetch_one(&mut *conn)
        .await?;
    if !locked {
        return Ok(None);
    }
    let result = prune_batches(&mut conn, retention_secs, batch).await;
    let unlocked =
        sqlx::query("select pg_advisory_unlock(hashtextextended($1, 0))").bind(LOCK).execute(&mut *conn).await;
    let deleted = result?;
    unlocked?;
    Ok(Some(deleted))
}

/// How much older than retention a horizon must be before it is used: a cursor's `issued_at` is
/// whole seconds from its server's clock (and servers' clocks differ a little), so a horizon
/// exactly `retention` old could postdate a cursor not yet expired.
const HORIZON_MARGIN_SECS: i64 = 300;

async fn prune_batches(conn: &mut PgConnection, retention_secs: i64, batch: i64) -> Result<u64, sqlx::Error> {
    // One horizon a minute, however many processes prune in turn (the advisory lock orders them).
    sqlx::query(
        "insert into crm_event_horizons (taken_at, oldest_xid)
         select now(), pg_snapshot_xmin(pg_current_snapshot())
         where not exists (select from crm_event_horizons where taken_at > now() - interval '50 seconds')",
    )
    .execute(&mut *conn)
    .await?;
    // The horizon in use and those after it stay: the next runs need them.
    let horizon: Option<String> = sqlx::query_scalar(
        "with h as (select taken_at, oldest_xid from crm_event_horizons
                    where taken_at <= now() - make_interval(secs => $1) order by taken_at desc limit 1),
              gone as (delete from crm_event_horizons where taken_at < (select taken_at from h))
         select oldest_xid::text from h",
    )
    .bind(retention_secs.saturating_add(HORIZON_MARGIN_SECS) as f64)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(horizon) = horizon else { return Ok(0) };
    let mut deleted = 0;
    loop {
        // One range of crm_events_xid_idx per organization (organizations are few beside their
        // events); `order by xid` keeps the planner on that index (the primary key, filtered by
        // xid, would read every event of an organization that has none to prune); `limit` bounds
        // both each range and the batch.
        let done = sqlx::query(
            "delete from crm_events e using (
                 select x.organization_id, x.seq from organizations o
                 cross join lateral (select organization_id, seq from crm_events
                                     where organization_id = o.organization_id and xid < $1::xid8
                                     order by xid limit $2) x
                 limit $2) old
             where e.organization_id = old.organization_id and e.seq = old.seq",
        )
        .bind(&horizon)
        .bind(batch)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        deleted += done;
        if done < batch as u64 {
            return Ok(deleted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What `crm_event_payload` does with the pieces (sql/functions/crm_event_payload.sql).
    fn splice(rendered: &Rendered, time: &str, version: i64, added: &[Uuid], removed: &[Uuid]) -> Value {
        let p = &rendered.payload;
        let text = match p.len() {
            2 => format!("{}{time}{}", p[0], p[1]),
            5 => format!(
                "{}{time}{}{version}{}{}{}{}{}",
                p[0],
                p[1],
                p[2],
                to_json(&added),
                p[3],
                to_json(&removed),
                p[4]
            ),
            n => panic!("{n} pieces"),
        };
        serde_json::from_str(&text).expect("the spliced payload is JSON")
    }

    fn context() -> ChangeContext {
        ChangeContext::token(Uuid::new_v4(), Some("sync \"bot\" {\"added\":[]}".into()), Some("req-1".into()), None)
    }

    fn envelope(e: &NewEvent, context: &ChangeContext, time: &str, version: Option<i64>, data: Value) -> Value {
        json!({"id": e.id, "type": e.kind, "occurredAt": time, "objectSlug": e.object_slug,
               "recordId": e.record.map(|r| r.0), "recordVersion": version, "actor": context.actor,
               "requestId": context.request_id, "idempotencyKey": context.idempotency_key, "data": data})
    }

    /// A `crm.relation.updated` event of a new order's products, with `data`.
    fn order_products(data: Value) -> NewEvent {
        let record = Uuid::new_v4();
        NewEvent {
            id: Uuid::new_v4(),
            kind: EventType::RelationUpdated,
            aggregate_id: record,
            object_slug: "orders".into(),
            related_object_slug: Some("products".into()),
            record: Some((record, 0)),
            data,
        }
    }

    #[test]
    fn a_link_change_is_completed_with_its_version_and_lists() {
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let e = order_products(json!({"attributeSlug": "products", "added": [], "removed": [],
                                      "relatedObjectSlug": "products", "inverseAttributeSlug": null}));
        let ctx = context();
        let rendered = e.render_link_change(&ctx);
        assert_eq!(rendered.id, e.id);
        assert_eq!((rendered.kind, rendered.aggregate_type), ("crm.relation.updated", "record"));
        assert_eq!(rendered.related_object_slug.as_deref(), Some("products"));
        let time = "2026-12-01T21:15:05.674112+00:00";
        let data = json!({"attributeSlug": "products", "added": [a, b], "removed": [c], "relatedObjectSlug": "products",
                          "inverseAttributeSlug": null});
        assert_eq!(splice(&rendered, time, 7, &[a, b], &[c]), envelope(&e, &ctx, time, Some(7), data));
        let bare = NewEvent { data: json!({}), ..e.clone() };
        let data = json!({"added": [], "removed": [a]});
        assert_eq!(splice(&bare.render_link_change(&ctx), time, 2, &[], &[a]), envelope(&e, &ctx, time, Some(2), data));
    }

    #[test]
    fn one_shape_renders_every_record_of_its_attribute() {
        let data =
            json!({"attributeSlug": "products", "relatedObjectSlug": "products", "inverseAttributeSlug": "orders"});
        let (first, second) = (order_products(data.clone()), order_products(data));
        let ctx = context();
        let shape = first.link_change_shape(&ctx);
        let time = "2026-12-02T07:15:05.000000+00:00";
        let a = Uuid::new_v4();
        for e in [&first, &second] {
            let rendered = shape.render(e.id, (e.aggregate_id, 0));
            assert_eq!(format!("{rendered:?}"), format!("{:?}", e.render_link_change(&ctx)));
            let data = json!({"attributeSlug": "products", "added": [a], "removed": [], "relatedObjectSlug": "products",
                              "inverseAttributeSlug": "orders"});
            assert_eq!(splice(&rendered, time, 3, &[a], &[]), envelope(e, &ctx, time, Some(3), data));
        }
    }

    #[test]
    fn other_events_are_completed_with_their_time() {
        let e = NewEvent {
            id: Uuid::new_v4(),
            kind: EventType::ObjectCreated,
            aggregate_id: Uuid::new_v4(),
            object_slug: "orders".into(),
            related_object_slug: None,
            record: None,
            data: json!({"object": {"slug": "orders", "note": "\",\"recordVersion\":"}}),
        };
        let ctx = ChangeContext::cli("serve --demo");
        let rendered = e.render(&ctx);
        assert_eq!((rendered.kind, rendered.aggregate_type), ("crm.object.created", "object"));
        let time = "2026-12-01T21:15:05.000000+00:00";
        assert_eq!(splice(&rendered, time, 0, &[], &[]), envelope(&e, &ctx, time, None, e.data.clone()));
    }
}
