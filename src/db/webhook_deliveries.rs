//! The attempts log of webhook deliveries: written in batches, read newest first, bounded.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Attempts kept per subscription; older ones are pruned.
pub const KEEP_PER_SUBSCRIPTION: i64 = 10_000;

/// One attempt to deliver one event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Attempt {
    pub event_id: Uuid,
    pub event_type: String,
    /// 1 for the first attempt at this event, counting up with each retry.
    pub attempt: i32,
    pub attempted_at: DateTime<Utc>,
    /// `delivered`, `failed` (retried at `next_retry_at`, or a test) or `disabled`.
    pub outcome: String,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i32,
    pub response_body: Option<String>,
    pub next_retry_at: Option<DateTime<Utc>>,
}

/// Appends attempts of one subscription in one statement.
pub async fn record(
    conn: &mut PgConnection,
    organization_id: Uuid,
    subscription_id: Uuid,
    attempts: &[Attempt],
) -> Result<(), sqlx::Error> {
    if attempts.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into webhook_deliveries (organization_id, subscription_id, event_id, event_type, attempt,
            attempted_at, outcome, status_code, error, latency_ms, response_body, next_retry_at)
         select $1, $2, * from unnest($3::uuid[], $4::text[], $5::int[], $6::timestamptz[], $7::text[],
            $8::int[], $9::text[], $10::int[], $11::text[], $12::timestamptz[])",
    )
    .bind(organization_id)
    .bind(subscription_id)
    .bind(attempts.iter().map(|a| a.event_id).collect::<Vec<_>>())
    .bind(attempts.iter().map(|a| a.event_type.clone()).collect::<Vec<_>>())
    .bind(attempts.iter().map(|a| a.attempt).collect::<Vec<_>>())
    .bind(attempts.iter().map(|a| a.attempted_at).collect::<Vec<_>>())
    .bind(attempts.iter().map(|a| a.outcome.clone()).collect::<Vec<_>>())
    .bind(attempts.iter().map(|a| a.status_code).collect::<Vec<_>>())
    .bind(attempts.iter().map(|a| a.error.clone()).collect::<Vec<_>>())
    .bind(attempts.iter().map(|a| a.latency_ms).collect::<Vec<_>>())
    .bind(attempts.iter().map(|a| a.response_body.clone()).collect::<Vec<_>>())
    .bind(attempts.iter().map(|a| a.next_retry_at).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// A page of one subscription's attempts, newest first, and how many are kept.
pub async fn list(
    pool: &PgPool,
    organization_id: Uuid,
    subscription_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Attempt>, i64), sqlx::Error> {
    let page = sqlx::query_as::<_, Attempt>(
        "select event_id, event_type, attempt, attempted_at, outcome, status_code, error, latency_ms,
                response_body, next_retry_at
         from webhook_deliveries where organization_id = $1 and subscription_id = $2
         order by delivery_seq desc limit $3 offset $4",
    )
    .bind(organization_id)
    .bind(subscription_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(
        "select count(*) from webhook_deliveries where organization_id = $1 and subscription_id = $2",
    )
    .bind(organization_id)
    .bind(subscription_id)
    .fetch_one(pool)
    .await?;
    Ok((page, total))
}

/// Deletes one subscription's attempts beyond its newest [`KEEP_PER_SUBSCRIPTION`].
pub async fn prune_subscription(conn: &mut PgConnection, subscription_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "delete from webhook_deliveries where subscription_id = $1 and delivery_seq <= (
             select delivery_seq from webhook_deliveries where subscription_id = $1
             order by delivery_seq desc offset $2 limit 1)",
    )
    .bind(subscription_id)
    .bind(KEEP_PER_SUBSCRIPTION)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes attempts beyond the newest [`KEEP_PER_SUBSCRIPTION`] of each subscription; returns
/// how many. Each subscription's cut-off is found through its primary key, newest first, once:
/// the cut-offs are materialized before the delete. Inline, the planner could filter each
/// attempt by its subscription's cut-off subquery, run again for every attempt (each a walk of
/// 10,000 index entries): a backlog of 59,000 attempts kept one delete busy for minutes, and it
/// blocked the subscription's lease release and its deletion (`bench/run` scenario 6 saw it).
pub async fn prune(executor: impl sqlx::PgExecutor<'_>) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "with c as materialized (
             select s.subscription_id,
                    (select delivery_seq from webhook_deliveries x where x.subscription_id = s.subscription_id
                     order by delivery_seq desc offset $1 limit 1) as cutoff
             from webhook_subscriptions s)
         delete from webhook_deliveries d using c
         where c.cutoff is not null and d.subscription_id = c.subscription_id and d.delivery_seq <= c.cutoff",
    )
    .bind(KEEP_PER_SUBSCRIPTION)
    .execute(executor)
    .await?;
    Ok(result.rows_affected())
}
