//! Record writes (create, patch, assert): one transaction each, covering values, uniqueness,
//! links and their events; the version is bumped only when something changed.

use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::events::Writer;
use super::links::{self, LinkDiff, LinkError};
use super::record_events;
use super::records::{RecordRow, WriteError, lock};
use super::uniques;
use crate::domain::event::ChangeContext;
use crate::domain::link_problems;
use crate::domain::problem::Problem;
use crate::domain::record_input::RecordWrite;
use crate::domain::relation_change;
use crate::domain::schema::{AttributeDef, ObjectDef};

/// Creates a record from a validated body, in one transaction.
pub async fn create(
    pool: &PgPool,
    org: Uuid,
    object: &ObjectDef,
    write: &RecordWrite<'_>,
    context: &ChangeContext,
) -> Result<RecordRow, WriteError> {
    let writer = Writer { context, object_slug: &object.slug };
    let mut tx = super::begin(pool).await?;
    let outcome = insert(&mut tx, org, object, write, &writer).await;
    finish(tx, pool, org, outcome).await
}

/// Changes only the keys sent; relation and user values are replaced as a set difference.
/// `None` when the record does not exist.
pub async fn patch(
    pool: &PgPool,
    org: Uuid,
    object: &ObjectDef,
    record_id: Uuid,
    write: &RecordWrite<'_>,
    context: &ChangeContext,
) -> Result<Option<RecordRow>, WriteError> {
    let writer = Writer { context, object_slug: &object.slug };
    let mut tx = super::begin(pool).await?;
    let outcome = match lock(&mut tx, org, object.object_id, record_id).await {
        Ok(Some(current)) => update(&mut tx, org, current, write, &writer).await.map(Some),
        Ok(None) => Ok(None),
        Err(e) => Err(e.into()),
    };
    finish(tx, pool, org, outcome).await
}

/// Assert: updates the first record whose `matching` value equals the body's, or creates one
/// unless `missing_on_create` lists required attributes the body leaves empty. Concurrent
/// asserts of the same value are serialized by an advisory lock, so they never create two
/// records. Returns the record and whether it was created.
pub async fn assert(
    pool: &PgPool,
    org: Uuid,
    object: &ObjectDef,
    (matching, canonical): (&AttributeDef, &Value),
    write: &RecordWrite<'_>,
    missing_on_create: Vec<Problem>,
    context: &ChangeContext,
) -> Result<(RecordRow, bool), WriteError> {
    let writer = Writer { context, object_slug: &object.slug };
    let mut tx = super::begin(pool).await?;
    let outcome = assert_in(&mut tx, org, object, (matching, canonical), (write, &writer), missing_on_create).await;
    finish(tx, pool, org, outcome).await
}

async fn assert_in(
    tx: &mut PgConnection,
    org: Uuid,
    object: &ObjectDef,
    (matching, canonical): (&AttributeDef, &Value),
    (write, writer): (&RecordWrite<'_>, &Writer<'_>),
    missing_on_create: Vec<Problem>,
) -> Result<(RecordRow, bool), Failure> {
    let lock_key = format!("{org}/{}/{}/{canonical}", object.object_id, matching.key);
    sqlx::query!("select pg_advisory_xact_lock(hashtextextended($1, 0))", lock_key).execute(&mut *tx).await?;
    let probe = Value::Object(Map::from_iter([(matching.key.clone(), canonical.clone())]));
    let found = sqlx::query_scalar!(
        r#"select record_id from crm_records where organization_id = $1 and object_id = $2 and "values" @> $3
           order by created_at, record_id limit 1"#,
        org,
        object.object_id,
        Json(&probe) as _
    )
    .fetch_optional(&mut *tx)
    .await?;
    let existing = match found {
        Some(id) => lock(tx, org, object.object_id, id).await?,
        None => None,
    };
    match existing {
        Some(current) => Ok((update(tx, org, current, write, writer).await?, false)),
        None if !missing_on_create.is_empty() => Err(Failure::Write(WriteError::Invalid(missing_on_create))),
        None => Ok((insert(tx, org, object, write, writer).await?, true)),
    }
}

/// Ends the transaction (see [`super::end`]); a cardinality violation is explained after the
/// rollback, on another connection.
async fn finish<T>(
    tx: sqlx::Transaction<'_, sqlx::Postgres>,
    pool: &PgPool,
    org: Uuid,
    outcome: Result<T, Failure>,
) -> Result<T, WriteError> {
    match super::end(tx, outcome).await {
        Ok(row) => Ok(row),
        Err(Failure::Write(e)) => Err(e),
        Err(Failure::Cardinality { record_id, attr, ids }) => {
            let mut conn = pool.acquire().await?;
            let conflicts = super::link_conflicts::find(&mut conn, org, record_id, &attr, &ids).await?;
            let pointer = link_problems::record_pointer(&attr);
            Err(WriteError::Conflict(link_problems::conflicts(&pointer, &attr, &ids, &conflicts)))
        }
    }
}

/// A failure inside the transaction; cardinality is explained after rolling back.
enum Failure {
    Write(WriteError),
    Cardinality { record_id: Uuid, attr: Box<AttributeDef>, ids: Vec<Uuid> },
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Failure {
        Failure::Write(WriteError::Database(e))
    }
}

async fn insert(
    conn: &mut PgConnection,
    org: Uuid,
    object: &ObjectDef,
    write: &RecordWrite<'_>,
    writer: &Writer<'_>,
) -> Result<RecordRow, Failure> {
    check_targets(conn, org, write).await?;
    let values = merged(&Map::new(), write);
    let row = sqlx::query_as!(
        RecordRow,
        r#"insert into crm_records (organization_id, object_id, "values") values ($1, $2, $3)
           returning record_id, "values" as "values: Json<Map<String, Value>>", version, created_at, updated_at"#,
        org,
        object.object_id,
        Json(&values) as _
    )
    .fetch_one(&mut *conn)
    .await?;
    uniques::write(conn, org, row.record_id, write).await.map_err(Failure::Write)?;
    record_events::created(conn, org, object, &row, writer).await?;
    write_links(conn, org, (row.record_id, row.version), write, writer).await?;
    Ok(row)
}

/// Updates the (locked) record; its events carry the version it gets if anything changed.
async fn update(
    conn: &mut PgConnection,
    org: Uuid,
    current: RecordRow,
    write: &RecordWrite<'_>,
    writer: &Writer<'_>,
) -> Result<RecordRow, Failure> {
    check_targets(conn, org, write).await?;
    let values = merged(&current.values.0, write);
    uniques::write(conn, org, current.record_id, write).await.map_err(Failure::Write)?;
    let next = (current.record_id, current.version + 1);
    let changes = record_events::value_changes(&current.values.0, &values, write);
    record_events::updated(conn, org, next, changes, writer).await?;
    let links_changed = write_links(conn, org, next, write, writer).await?;
    if values == current.values.0 && links_changed.is_empty() {
        return Ok(current);
    }
    Ok(sqlx::query_as!(
        RecordRow,
        r#"update crm_records set "values" = $3, version = version + 1, updated_at = now()
           where organization_id = $1 and record_id = $2
           returning record_id, "values" as "values: Json<Map<String, Value>>", version, created_at, updated_at"#,
        org,
        current.record_id,
        Json(&values) as _
    )
    .fetch_one(conn)
    .await?)
}

/// The stored values after applying the scalars of `write` (null removes the key).
fn merged(current: &Map<String, Value>, write: &RecordWrite<'_>) -> Map<String, Value> {
    let mut values = current.clone();
    for (attr, value) in &write.scalars {
        match value {
            Value::Null => values.remove(&attr.key),
            v => values.insert(attr.key.clone(), v.clone()),
        };
    }
    values
}

/// Every link target must be linkable; cardinality one takes at most one ID.
async fn check_targets(conn: &mut PgConnection, org: Uuid, write: &RecordWrite<'_>) -> Result<(), Failure> {
    let mut problems = Vec::new();
    for (attr, ids) in &write.links {
        let found = links::unlinkable(conn, org, attr, ids).await?;
        problems.extend(link_problems::unlinkable_ids(&link_problems::record_pointer(attr), attr, ids, &found));
    }
    if !problems.is_empty() {
        return Err(Failure::Write(WriteError::Invalid(problems)));
    }
    let too_many: Vec<Problem> = write
        .links
        .iter()
        .filter_map(|(attr, ids)| link_problems::more_than_one(attr, ids, &link_problems::record_pointer(attr), "got"))
        .collect();
    if too_many.is_empty() { Ok(()) } else { Err(Failure::Write(WriteError::Conflict(too_many))) }
}

/// Makes each link attribute of `write` hold exactly its listed IDs: the links to remove come
/// from the record's current links, the IDs to add are all listed ones (existing links are
/// skipped). Returns what changed, per attribute that changed, in the order of `write`.
async fn write_links<'a>(
    conn: &mut PgConnection,
    org: Uuid,
    (record_id, version): (Uuid, i64),
    write: &RecordWrite<'a>,
    writer: &Writer<'_>,
) -> Result<Vec<(&'a AttributeDef, LinkDiff)>, Failure> {
    if write.links.is_empty() {
        return Ok(Vec::new());
    }
    let current = links::for_records(&mut *conn, org, &[record_id]).await?;
    let mut changed = Vec::new();
    for (attr, ids) in &write.links {
        let linked = current.iter().filter(|l| l.belongs_to(attr)).map(|l| l.other_id);
        let remove = relation_change::unwanted(linked, ids);
        match links::change(conn, org, (record_id, version), attr, (ids, &remove), writer).await {
            Ok(diff) if diff.is_empty() => {}
            Ok(diff) => changed.push((*attr, diff)),
            Err(LinkError::Cardinality) => {
                return Err(Failure::Cardinality { record_id, attr: Box::new((*attr).clone()), ids: ids.clone() });
            }
            Err(LinkError::TargetMissing) => {
                let message = format!("a member linked through '{}' was just deleted; retry", attr.key);
                let problem = Problem::new(link_problems::record_pointer(attr), "not_found", message);
                return Err(Failure::Write(WriteError::Invalid(vec![problem])));
            }
            Err(LinkError::Database(e)) => return Err(e.into()),
        }
    }
    Ok(changed)
}
