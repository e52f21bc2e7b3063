//! Sharing delivery work between workers of every server process: a worker leases a due
//! subscription (`for update skip locked`, so two workers never take the same one), delivers
//! its events in feed order, and records progress only while it still holds the lease.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::webhook_deliveries::{self, Attempt};

/// A subscription leased by one worker, with what delivering needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Leased {
    pub organization_id: Uuid,
    pub subscription_id: Uuid,
    pub callback_url: String,
    pub events: Vec<String>,
    pub token: Option<String>,
    pub secret: String,
    pub cursor: String,
    pub failed_attempts: i32,
    pub failing_since: Option<DateTime<Utc>>,
}

/// Where a worker leaves a subscription after delivering some of its events.
#[derive(Debug, Clone)]
pub enum Progress {
    /// Everything up to `cursor` is delivered; keep the lease (renewed).
    Advanced { cursor: String },
    /// The event at `cursor` failed; try again at `retry_at` (the lease is released).
    Failed { cursor: String, failed_attempts: i32, failing_since: DateTime<Utc>, retry_at: DateTime<Utc> },
    /// The subscription is disabled, for `reason`, with its cursor at `cursor`.
    Disabled { cursor: String, reason: String },
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Leases up to `limit` active subscriptions that are due and not leased by a live worker.
pub async fn claim(pool: &PgPool, owner: Uuid, limit: i64, lease: Duration) -> Result<Vec<Leased>, sqlx::Error> {
    sqlx::query_as::<_, Leased>(
        "update webhook_subscriptions s
         set lease_owner = $1, lease_expires_at = now() + $2 * interval '1 millisecond'
         from (select organization_id, subscription_id from webhook_subscriptions
               where status = 'active' and next_attempt_at <= now()
                 and (lease_expires_at is null or lease_expires_at < now())
               order by next_attempt_at limit $3
               for update skip locked) due
         where s.organization_id = due.organization_id and s.subscription_id = due.subscription_id
         returning s.organization_id, s.subscription_id, s.callback_url, s.events, s.token, s.secret, s.cursor,
                   s.failed_attempts, s.failing_since",
    )
    .bind(owner)
    .bind(millis(lease))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The next moment a subscription becomes due by time alone: a retry falls due, or a lease
/// runs out (its worker died). Subscriptions waiting for new events are woken, not timed.
pub async fn next_due(pool: &PgPool) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "select min(greatest(next_attempt_at, coalesce(lease_expires_at, next_attempt_at)))
         from webhook_subscriptions
         where status = 'active' and (next_attempt_at > now() or lease_expires_at > now())",
    )
    .fetch_one(pool)
    .await
}

/// Records `attempts` and `progress` in one transaction, if `owner` still holds the lease;
/// returns whether it did (if not, another worker has taken over and this one must stop).
pub async fn commit(
    pool: &PgPool,
    lease: (&Leased, Uuid, Duration),
    attempts: &[Attempt],
    progress: &Progress,
) -> Result<bool, sqlx::Error> {
    let (leased, owner, duration) = lease;
    let mut tx = super::begin(pool).await?;
    if !apply(&mut tx, leased.subscription_id, owner, millis(duration), progress).await? {
        return Ok(false);
    }
    webhook_deliveries::record(&mut tx, leased.organization_id, leased.subscription_id, attempts).await?;
    tx.commit().await?;
    Ok(true)
}

async fn apply(
    conn: &mut PgConnection,
    id: Uuid,
    owner: Uuid,
    lease_ms: i64,
    progress: &Progress,
) -> Result<bool, sqlx::Error> {
    let query = match progress {
        Progress::Advanced { cursor } => sqlx::query(
            "update webhook_subscriptions set cursor = $3, failed_attempts = 0, failing_since = null,
                lease_expires_at = now() + $4 * interval '1 millisecond'
             where subscription_id = $1 and lease_owner = $2 and status = 'active'",
        )
        .bind(id)
        .bind(owner)
        .bind(cursor)
        .bind(lease_ms),
        Progress::Failed { cursor, failed_attempts, failing_since, retry_at } => sqlx::query(
            "update webhook_subscriptions set cursor = $3, failed_attempts = $4, failing_since = $5,
                next_attempt_at = $6, lease_owner = null, lease_expires_at = null
             where subscription_id = $1 and lease_owner = $2",
        )
        .bind(id)
        .bind(owner)
        .bind(cursor)
        .bind(failed_attempts)
        .bind(failing_since)
        .bind(retry_at),
        Progress::Disabled { cursor, reason } => sqlx::query(
            "update webhook_subscriptions set cursor = $3, status = 'disabled', disabled_reason = $4,
                failed_attempts = 0, failing_since = null, lease_owner = null, lease_expires_at = null,
                updated_at = now()
             where subscription_id = $1 and lease_owner = $2",
        )
        .bind(id)
        .bind(owner)
        .bind(cursor)
        .bind(reason),
    };
    Ok(query.execute(conn).await?.rows_affected() == 1)
}

/// Gives a lease back, with the cursor moved past events that did not need delivering, so any
/// worker may take the subscription when it is next due.
pub async fn release(pool: &PgPool, id: Uuid, owner: Uuid, cursor: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update webhook_subscriptions set lease_owner = null, lease_expires_at = null, cursor = $3
         where subscription_id = $1 and lease_owner = $2",
    )
    .bind(id)
    .bind(owner)
    .bind(cursor)
    .execute(pool)
    .await?;
    Ok(())
}

/// Extends a lease; whether it was still held.
pub async fn renew(pool: &PgPool, id: Uuid, owner: Uuid, lease: Duration) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "update webhook_subscriptions set lease_expires_at = now() + $3 * interval '1 millisecond'
         where subscription_id = $1 and lease_owner = $2",
    )
    .bind(id)
    .bind(owner)
    .bind(millis(lease))
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Where an active subscription stands, for the backlog gauges.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Standing {
    pub organization_id: Uuid,
    pub subscription_id: Uuid,
    pub cursor: String,
    pub events: Vec<String>,
}

/// Up to `limit` active subscriptions, failing ones first (their backlog is the one that grows).
pub async fn standings(pool: &PgPool, limit: i64) -> Result<Vec<Standing>, sqlx::Error> {
    sqlx::query_as::<_, Standing>(
        "select organization_id, subscription_id, cursor, events from webhook_subscriptions
         where status = 'active' order by failing_since nulls last, subscription_id limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}
