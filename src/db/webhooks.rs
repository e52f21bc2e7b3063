//! Webhook subscriptions: create, read, change, delete. Delivery state lives in
//! `db::webhook_leases`, the attempts log in `db::webhook_deliveries`.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::webhook::MAX_SUBSCRIPTIONS;

const COLUMNS: &str = "s.subscription_id, s.name, s.description, s.callback_url, s.events, s.token, \
    s.creator_token_id, t.name as creator_name, s.status, s.disabled_reason, s.created_at, s.updated_at";

/// A subscription as the API shows it (never its secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Subscription {
    pub subscription_id: Uuid,
    pub name: Option<String>,
    pub description: Option<String>,
    pub callback_url: String,
    pub events: Vec<String>,
    pub token: Option<String>,
    pub creator_token_id: Option<Uuid>,
    pub creator_name: Option<String>,
    pub status: String,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a new subscription is made of; every field already validated.
#[derive(Debug)]
pub struct NewSubscription<'a> {
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub callback_url: &'a str,
    pub events: &'a [String],
    pub token: Option<&'a str>,
    pub secret: &'a str,
    pub creator_token_id: Uuid,
    /// The feed position to deliver from: the head at creation ("from now").
    pub cursor: &'a str,
}

/// A partial update; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct SubscriptionPatch {
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub callback_url: Option<String>,
    pub events: Option<Vec<String>>,
    pub token: Option<Option<String>>,
    /// `true` re-enables (and retries the head event at once), `false` disables.
    pub active: Option<bool>,
    /// Re-enabling: move the cursor from `.0` (the one read before) to `.1`, unless it moved
    /// meanwhile (`webhooks::feed::restart`).
    pub restart: Option<(String, String)>,
}

/// Creates a subscription; `Ok(None)` when the organization already has the most it may.
pub async fn create(
    pool: &PgPool,
    organization_id: Uuid,
    new: &NewSubscription<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    let mut tx = super::begin(pool).await?;
    // The organization row serializes concurrent creations, so the limit holds exactly.
    sqlx::query("select 1 from organizations where organization_id = $1 for update")
        .bind(organization_id)
        .execute(&mut *tx)
        .await?;
    let count: i64 = sqlx::query_scalar("select count(*) from webhook_subscriptions where organization_id = $1")
        .bind(organization_id)
        .fetch_one(&mut *tx)
        .await?;
    if count >= MAX_SUBSCRIPTIONS {
        return Ok(None);
    }
    let id: Uuid = sqlx::query_scalar(
        "insert into webhook_subscriptions
            (organization_id, name, description, callback_url, events, token, secret, creator_token_id, cursor)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         returning subscription_id",
    )
    .bind(organization_id)
    .bind(new.name)
    .bind(new.description)
    .bind(new.callback_url)
    .bind(new.events)
    .bind(new.token)
    .bind(new.secret)
    .bind(new.creator_token_id)
    .bind(new.cursor)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// One subscription of the organization.
pub async fn get(pool: &PgPool, organization_id: Uuid, id: Uuid) -> Result<Option<Subscription>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from webhook_subscriptions s
         left join api_tokens t on t.organization_id = s.organization_id and t.token_id = s.creator_token_id
         where s.organization_id = $1 and s.subscription_id = $2"
    );
    sqlx::query_as::<_, Subscription>(sqlx::AssertSqlSafe(sql))
        .bind(organization_id)
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// A page of the organization's subscriptions, oldest first, and how many there are.
pub async fn list(
    pool: &PgPool,
    organization_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Subscription>, i64), sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from webhook_subscriptions s
         left join api_tokens t on t.organization_id = s.organization_id and t.token_id = s.creator_token_id
         where s.organization_id = $1 order by s.created_at, s.subscription_id limit $2 offset $3"
    );
    let page = sqlx::query_as::<_, Subscription>(sqlx::AssertSqlSafe(sql))
        .bind(organization_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?;
    let total = sqlx::query_scalar("select count(*) from webhook_subscriptions where organization_id = $1")
        .bind(organization_id)
        .fetch_one(pool)
        .await?;
    Ok((page, total))
}

/// The subscription's cursor, if it exists.
pub async fn cursor(pool: &PgPool, organization_id: Uuid, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select cursor from webhook_subscriptions where organization_id = $1 and subscription_id = $2")
        .bind(organization_id)
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Applies a patch; whether the subscription exists. Re-enabling clears the failure state and
/// makes the subscription due at once; its cursor stays (so nothing retained is skipped) unless
/// the patch restarts it.
/// Re-enabling a disabled one also drops its lease: the worker that held it stopped when its
/// progress could no longer be recorded (pausing takes effect at its next commit).
pub async fn update(
    pool: &PgPool,
    organization_id: Uuid,
    id: Uuid,
    patch: &SubscriptionPatch,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "update webhook_subscriptions set
            name = case when $3 then $4 else name end,
            description = case when $5 then $6 else description end,
            callback_url = coalesce($7, callback_url),
            events = coalesce($8, events),
            token = case when $9 then $10 else token end,
            status = case $11::boolean when true then 'active' when false then 'disabled' else status end,
            disabled_reason = case $11::boolean when true then null
                when false then 'disabled through the API' else disabled_reason end,
            failed_attempts = case when $11::boolean then 0 else failed_attempts end,
            failing_since = case when $11::boolean then null else failing_since end,
            next_attempt_at = case when $11::boolean then now() else next_attempt_at end,
            lease_owner = case when $11::boolean and status = 'disabled' then null else lease_owner end,
            lease_expires_at = case when $11::boolean and status = 'disabled' then null else lease_expires_at end,
            cursor = case when $11::boolean and cursor = $12 then $13 else cursor end,
            updated_at = now()
         where organization_id = $1 and subscription_id = $2",
    )
    .bind(organization_id)
    .bind(id)
    .bind(patch.name.is_some())
    .bind(patch.name.clone().flatten())
    .bind(patch.description.is_some())
    .bind(patch.description.clone().flatten())
    .bind(patch.callback_url.as_deref())
    .bind(patch.events.as_deref())
    .bind(patch.token.is_some())
    .bind(patch.token.clone().flatten())
    .bind(patch.active)
    .bind(patch.restart.as_ref().map(|(from, _)| from.as_str()))
    .bind(patch.restart.as_ref().map(|(_, to)| to.as_str()))
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes a subscription and its attempts log; whether it existed.
pub async fn delete(pool: &PgPool, organization_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("delete from webhook_subscriptions where organization_id = $1 and subscription_id = $2")
        .bind(organization_id)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// What a delivery needs to sign and address a request.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Target {
    pub organization_id: Uuid,
    pub subscription_id: Uuid,
    pub callback_url: String,
    pub events: Vec<String>,
    pub token: Option<String>,
    pub secret: String,
}

/// The delivery target of one subscription of the organization.
pub async fn target(pool: &PgPool, organization_id: Uuid, id: Uuid) -> Result<Option<Target>, sqlx::Error> {
    sqlx::query_as::<_, Target>(
        "select organization_id, subscription_id, callback_url, events, token, secret from webhook_subscriptions
         where organization_id = $1 and subscription_id = $2",
    )
    .bind(organization_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}
