//! Idempotency keys: the first successful response to a keyed request, replayed for 24 hours.

use sqlx::PgConnection;
use uuid::Uuid;

/// A response kept for replay.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredResponse {
    pub fingerprint: Vec<u8>,
    pub status: i16,
    pub etag: Option<String>,
    pub body: Vec<u8>,
}

/// Takes the key's transaction-scoped advisory lock without waiting; `false` means another
/// request with the same key is in flight right now.
pub async fn try_lock(conn: &mut PgConnection, org: Uuid, key: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select pg_try_advisory_xact_lock(hashtextextended($1 || '/' || $2, 7))")
        .bind(org.to_string())
        .bind(key)
        .fetch_one(conn)
        .await
}

/// The unexpired response stored under the key. Call after [`try_lock`], in a new statement:
/// only then does the snapshot include a response committed by the request that held the lock.
pub async fn find(conn: &mut PgConnection, org: Uuid, key: &str) -> Result<Option<StoredResponse>, sqlx::Error> {
    sqlx::query_as(
        "select fingerprint, status, etag, body from idempotency_keys
         where organization_id = $1 and key = $2 and created_at > now() - interval '24 hours'",
    )
    .bind(org)
    .bind(key)
    .fetch_optional(conn)
    .await
}

/// Stores the response, replacing an expired one under the same key.
pub async fn store(
    conn: &mut PgConnection,
    org: Uuid,
    key: &str,
    response: &StoredResponse,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into idempotency_keys (organization_id, key, fingerprint, status, etag, body)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (organization_id, key) do update
         set fingerprint = excluded.fingerprint, status = excluded.status, etag = excluded.etag,
             body = excluded.body, created_at = now()",
    )
    .bind(org)
    .bind(key)
    .bind(&response.fingerprint)
    .bind(response.status)
    .bind(&response.etag)
    .bind(&response.body)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes responses older than 24 hours; returns how many.
pub async fn purge_expired(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("delete from idempotency_keys where created_at < now() - interval '24 hours'")
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
