//! Records: reading, locking and deleting rows (writes are in `record_write`). Scalar values
//! live in the row, uniqueness in `crm_unique_values`, links in `links`.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::event::ChangeContext;
use crate::domain::problem::Problem;
use crate::domain::schema::ObjectDef;

/// A stored record row (links are read separately).
#[derive(Debug, Clone)]
pub struct RecordRow {
    pub record_id: Uuid,
    pub values: Json<Map<String, Value>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Bad link targets or unique values: 400, every problem listed.
    #[error("invalid record")]
    Invalid(Vec<Problem>),
    /// A relation's cardinality would be exceeded: 409 naming the links in the way.
    #[error("cardinality conflict")]
    Conflict(Vec<Problem>),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

// Records are looked up by primary key; the object is compared with `is not distinct from`,
// which no index can serve, so the planner cannot pick the listing index (organization,
// object, …) and walk every record of the object, as it may before statistics exist.

/// One record of `object_id`, if it exists in the organization.
pub async fn find(
    conn: &mut PgConnection,
    org: Uuid,
    object_id: Uuid,
    record_id: Uuid,
) -> Result<Option<RecordRow>, sqlx::Error> {
    sqlx::query_as!(
        RecordRow,
        r#"select record_id, "values" as "values: Json<Map<String, Value>>", version, created_at, updated_at
           from crm_records
           where organization_id = $1 and record_id = $3 and object_id is not distinct from $2"#,
        org,
        object_id,
        record_id
    )
    .fetch_optional(conn)
    .await
}

/// Whether the record exists.
pub async fn exists(pool: &PgPool, org: Uuid, object_id: Uuid, record_id: Uuid) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        r#"select exists(select 1 from crm_records where organization_id = $1 and record_id = $3
                         and object_id is not distinct from $2) as "exists!""#,
        org,
        object_id,
        record_id
    )
    .fetch_one(pool)
    .await?;
    Ok(found)
}

/// Like [`find`], and locks the row for the rest of the transaction so writes to one record
/// serialize (links written from the other side of a relation do not take this lock).
pub async fn lock(
    conn: &mut PgConnection,
    org: Uuid,
    object_id: Uuid,
    record_id: Uuid,
) -> Result<Option<RecordRow>, sqlx::Error> {
    sqlx::query_as!(
        RecordRow,
        r#"select record_id, "values" as "values: Json<Map<String, Value>>", version, created_at, updated_at
           from crm_records
           where organization_id = $1 and record_id = $3 and object_id is not distinct from $2
           for no key update"#,
        org,
        object_id,
        record_id
    )
    .fetch_optional(conn)
    .await
}

/// One page of records, newest first, and the total.
pub async fn list(
    pool: &PgPool,
    org: Uuid,
    object_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<(Vec<RecordRow>, i64), sqlx::Error> {
    let total = sqlx::query_scalar!(
        r#"select count(*) as "count!" from crm_records where organization_id = $1 and object_id = $2"#,
        org,
        object_id
    )
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query_as!(
        RecordRow,
        r#"select record_id, "values" as "values: Json<Map<String, Value>>", version, created_at, updated_at
           from crm_records
           where organization_id = $1 and object_id = $2
           order by created_at desc, record_id desc limit $3 offset $4"#,
        org,
        object_id,
        limit,
        offset
    )
    .fetch_all(pool)
    .await?;
    Ok((rows, total))
}

/// Deletes a record; its links and unique values go with it (a trigger and foreign keys
/// cascade), after its events (see `record_events::deleted`). `false` when there is no such
/// record.
pub async fn delete(
    pool: &PgPool,
    org: Uuid,
    object: &ObjectDef,
    record_id: Uuid,
    context: &ChangeContext,
) -> Result<bool, sqlx::Error> {
    let mut tx = super::begin(pool).await?;
    let outcome = delete_in(&mut tx, org, object, record_id, context).await;
    super::end(tx, outcome).await
}

async fn delete_in(
    conn: &mut PgConnection,
    org: Uuid,
    object: &ObjectDef,
    record_id: Uuid,
    context: &ChangeContext,
) -> Result<bool, sqlx::Error> {
    // The delete's own lock strength up front: no writer can get in between. (Built at run
    // time: the one row read with this lock.)
    type Row = (Uuid, Json<Map<String, Value>>, i64, DateTime<Utc>, DateTime<Utc>);
    let row: Option<Row> = sqlx::query_as(
        "select record_id, \"values\", version, created_at, updated_at from crm_records
         where organization_id = $1 and record_id = $3 and object_id is not distinct from $2 for update",
    )
    .bind(org)
    .bind(object.object_id)
    .bind(record_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((record_id, values, version, created_at, updated_at)) = row else {
        return Ok(false);
    };
    let row = RecordRow { record_id, values, version, created_at, updated_at };
    let writer = super::events::Writer { context, object_slug: &object.slug };
    super::record_events::deleted(conn, org, object, &row, &writer).await?;
    sqlx::query("delete from crm_records where organization_id = $1 and record_id = $2")
        .bind(org)
        .bind(record_id)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}
