//! API tokens: stored as SHA-256 hashes, looked up by the public id they carry.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::scope::Scopes;
use crate::domain::token::NewToken;

/// A token as `token list` shows it; never the secret.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenInfo {
    pub token_id: Uuid,
    pub name: Option<String>,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What authentication needs to know about a presented token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredToken {
    pub organization_id: Uuid,
    pub secret_hash: Vec<u8>,
    pub scopes: Vec<String>,
    /// Shown as the actor of the changes the token makes.
    pub name: Option<String>,
}

/// Stores a freshly minted token.
pub async fn create(
    pool: &PgPool,
    organization_id: Uuid,
    token: &NewToken,
    name: Option<&str>,
    scopes: &Scopes,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into api_tokens (organization_id, token_id, name, secret_hash, scopes)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(organization_id)
    .bind(token.id)
    .bind(name)
    .bind(&token.hash[..])
    .bind(scopes.names())
    .execute(pool)
    .await?;
    Ok(())
}

/// Revokes a token; returns whether an active token with that id existed in the organization.
pub async fn revoke(pool: &PgPool, organization_id: Uuid, token_id: Uuid) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "update api_tokens set revoked_at = now()
         where organization_id = $1 and token_id = $2 and revoked_at is null",
    )
    .bind(organization_id)
    .bind(token_id)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Every token of an organization, oldest first.
pub async fn list(pool: &PgPool, organization_id: Uuid) -> Result<Vec<TokenInfo>, sqlx::Error> {
    sqlx::query_as::<_, TokenInfo>(
        "select token_id, name, scopes, created_at, revoked_at from api_tokens
         where organization_id = $1 order by created_at, token_id",
    )
    .bind(organization_id)
    .fetch_all(pool)
    .await
}

/// The active (not revoked) token with this id, if any.
pub async fn find_active(pool: &PgPool, token_id: Uuid) -> Result<Option<StoredToken>, sqlx::Error> {
    sqlx::query_as::<_, StoredToken>(
        "select organization_id, secret_hash, scopes, name from api_tokens
         where token_id = $1 and revoked_at is null",
    )
    .bind(token_id)
    .fetch_optional(pool)
    .await
}
