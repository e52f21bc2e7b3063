//! Idempotency keys: the first successful response to a keyed request, replayed for 24 hours.

use sqlx::PgConnection;
use uuid::Uuid;

/// What a keyed request produced, kept for replay: the response body as first sent, the
/// record version it carried (if it names one) and its status when not 200 (a batch's 207).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub body: Vec<u8>,
    pub record_version: Option<i64>,
    pub status: Option<i16>,
}

/// Takes the key's transaction-scoped advisory lock without waiting; `false` means another
/// request with the same key is in flight right now.
pub async fn try_lock(conn: &mut PgConnection, org: Uuid, key: &str) -> Result<bool, sqlx::Error> {
    let locked = sqlx::query_scalar!(
        r#"select pg_try_advisory_xact_lock(hashtextextended($1 || '/' || $2, 7)) as "locked!""#,
        org.to_string(),
        key
    )
    .fetch_one(conn)
    .await?;
    Ok(locked)
}

/// The unexpired response stored under the key, with the fingerprint of the request that
/// stored it. Call after [`try_lock`], in a new statement: only then does the snapshot include
/// a response committed by the request that held the lock.
pub async fn find(conn: &mut PgConnection, org: Uuid, key: &str) -> Result<Option<(Vec<u8>, Saved)>, sqlx::Error> {
    let row = sqlx::query!(
        "select fingerprint, body, record_version, status from idempotency_keys
         where organization_id = $1 and key = $2 and created_at > now() - interval '24 hours'",
        org,
        key
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.fingerprint, Saved { body: r.body, record_version: r.record_version, status: r.status })))
}

/// Stores the response, replacing an expired one under the same key.
pub async fn store(
    conn: &mut PgConnection,
    org: Uuid,
    key: &str,
    fingerprint: &[u8],
    saved: &Saved,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into idempotency_keys (organization_id, key, fingerprint, body, record_version, status)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (organization_id, key) do update
         set fingerprint = excluded.fingerprint, body = excluded.body,
             record_version = excluded.record_version, status = excluded.status, created_at = now()",
        org,
        key,
        fingerprint,
        &saved.body,
        saved.record_version,
        saved.status
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes responses older than 24 hours; returns how many.
pub async fn purge_expired(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!("delete from idempotency_keys where created_at < now() - interval '24 hours'")
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
