//! The repository layer: one file per table group; all SQL lives here.
//!
//! Queries are checked at compile time (`query!`, `query_file_as!`, with the committed query
//! data in `.sqlx/`) in the record, link, relation, uniqueness and idempotency modules. Those in
//! `objects`, `attributes`, `members`, `tokens`, `organizations` and `schema` are still built
//! at run time and checked only by the tests: converting them is mechanical, and waits until the
//! change feed and hardening work that is editing those files has landed. `embedded_pg` stays
//! at run time: it talks to the maintenance database before the schema exists.

pub mod attributes;
pub mod events;
pub mod idempotency;
pub mod link_conflicts;
pub mod links;
pub mod members;
pub mod objects;
pub mod organizations;
pub mod record_events;
pub mod record_write;
pub mod records;
pub mod relation;
pub mod relation_batch;
pub mod schema;
pub mod schema_events;
pub mod tokens;
pub mod uniques;
pub mod webhook_deliveries;
pub mod webhook_leases;
pub mod webhooks;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use crate::domain::limits::Limits;

/// The embedded migrations (`migrations/`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// How long a request waits for a free connection before it is answered with 503; short, so
/// clients fail fast during an outage instead of piling up.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// Opens a pool of at most `size` connections.
///
/// Connections are not pinged before each use (sqlx's default): the ping is one more round trip
/// per request, and dropping it gave the relation hot path 5–10% more throughput. A connection
/// that died (the database restarted) fails its next query instead, which answers 503 and
/// drops it; tests/outage.rs covers the restart.
pub async fn connect(url: &str, size: u32) -> Result<PgPool, sqlx::Error> {
    connect_with_limits(url, size, &Limits::default()).await
}

/// Opens a pool whose connections enforce `limits`: they are settings of each connection,
/// read by the triggers of migration 0008, so every writer on this pool is held to them.
pub async fn connect_with_limits(url: &str, size: u32, limits: &Limits) -> Result<PgPool, sqlx::Error> {
    let settings = [
        ("crm.max_objects", limits.objects),
        ("crm.max_attributes_per_object", limits.attributes_per_object),
        ("crm.max_options_per_attribute", limits.options_per_attribute),
        ("crm.max_idempotency_keys", limits.idempotency_keys),
    ];
    let options = url.parse::<PgConnectOptions>()?.application_name("crm-api").options(settings);
    PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .connect_with(options)
        .await
}

/// The SQL functions, one file each (`sql/functions/`), re-applied on every start. Migrations
/// create the types they use and drop a signature that changes.
const FUNCTIONS: &[(&str, &str)] = &[
    ("crm_event_payload", include_str!("../../sql/functions/crm_event_payload.sql")),
    ("crm_events_append", include_str!("../../sql/functions/crm_events_append.sql")),
    ("crm_events_page", include_str!("../../sql/functions/crm_events_page.sql")),
    ("crm_links_of", include_str!("../../sql/functions/crm_links_of.sql")),
    ("crm_link_unlinkable", include_str!("../../sql/functions/crm_link_unlinkable.sql")),
    ("crm_link_change", include_str!("../../sql/functions/crm_link_change.sql")),
    ("crm_relation_apply", include_str!("../../sql/functions/crm_relation_apply.sql")),
    ("crm_records_lock", include_str!("../../sql/functions/crm_records_lock.sql")),
    ("crm_relation_apply_batch", include_str!("../../sql/functions/crm_relation_apply_batch.sql")),
];

/// Applies pending migrations, then (re)creates every SQL function. Both happen under sqlx's
/// migration lock (a session advisory lock, taken here and again, re-entrantly, by the
/// migrator), so instances starting at once apply each migration exactly once and never
/// replace a function concurrently (which PostgreSQL answers with "tuple concurrently updated").
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    use sqlx::migrate::Migrate;
    let mut conn = pool.acquire().await?;
    // Should anything below fail, the session and its lock end with the connection.
    conn.close_on_drop();
    conn.lock().await?;
    MIGRATOR.run(&mut *conn).await?;
    for (name, source) in FUNCTIONS {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*source)).execute(&mut *conn).await.map_err(|e| {
            sqlx::migrate::MigrateError::Execute(sqlx::Error::Protocol(format!(
                "applying sql/functions/{name}.sql: {e}"
            )))
        })?;
    }
    conn.unlock().await
}

/// Whether the database answers a trivial query.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query!("select 1 as one").fetch_one(pool).await.map(drop)
}

/// Starts a transaction on a connection of `pool`. Every transaction starts through here.
///
/// The BEGIN runs in a task of its own, to its end, whatever happens to the caller: sqlx (0.9)
/// counts a transaction only once BEGIN's reply has arrived, so a caller dropped in between (a
/// client that hung up, a request timeout) left its connection idle in an open transaction,
/// back in the pool, where the next request's statements would have run inside it, unseen by
/// others and committed by whichever later COMMIT came on that connection. Now the task owns
/// the transaction until it is handed over: if the caller is gone, the transaction is dropped
/// counted, so sqlx queues its ROLLBACK and the pool sends it before reusing the connection.
pub async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let pool = pool.clone();
    tokio::spawn(async move { pool.begin().await }).await.map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
}

/// Ends a transaction by its outcome: commits on `Ok`, rolls back on `Err`. Every transaction
/// ends through here, explicitly, so that its end is awaited where it is decided (a dropped
/// transaction is rolled back too, but only once its connection is back in the pool).
pub async fn end<T, E: From<sqlx::Error>>(tx: Transaction<'_, Postgres>, outcome: Result<T, E>) -> Result<T, E> {
    match outcome {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

/// The message of a per-organization limit that `err` reports (migration 0008), if it is one.
pub fn limit_reached(err: &sqlx::Error) -> Option<String> {
    let db = err.as_database_error()?;
    db.constraint().filter(|c| c.starts_with("crm_limit_")).map(|_| db.message().to_owned())
}

/// Whether `err` is a violation of the named constraint (or unique index).
pub fn violates(err: &sqlx::Error, constraint: &str) -> bool {
    err.as_database_error().and_then(|e| e.constraint()) == Some(constraint)
}
