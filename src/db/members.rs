//! Members of an organization; the targets of `user` attributes.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::member::{Email, Role};

/// A stored member.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Member {
    pub member_id: Uuid,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the CLI supplies to add a member.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub email: Email,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: Role,
}

/// Why a member could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error("a member with email '{0}' already exists in this organization")]
    DuplicateEmail(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Adds a member to an organization.
pub async fn add(pool: &PgPool, organization_id: Uuid, new: &NewMember) -> Result<Member, AddError> {
    sqlx::query_as::<_, Member>(
        "insert into members (organization_id, email, first_name, last_name, role)
         values ($1, $2, $3, $4, $5)
         returning member_id, email, first_name, last_name, role, is_active, created_at, updated_at",
    )
    .bind(organization_id)
    .bind(new.email.as_str())
    .bind(&new.first_name)
    .bind(&new.last_name)
    .bind(new.role.as_str())
    .fetch_one(pool)
    .await
    .map_err(|e| match super::violates(&e, "members_email_key") {
        true => AddError::DuplicateEmail(new.email.as_str().to_owned()),
        false => AddError::Database(e),
    })
}

/// The id of the member with this email (any case), if any.
pub async fn find_by_email(pool: &PgPool, organization_id: Uuid, email: &str) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("select member_id from members where organization_id = $1 and lower(email) = lower($2)")
        .bind(organization_id)
        .bind(email)
        .fetch_optional(pool)
        .await
}

/// Marks a member inactive; returns whether such a member exists in the organization.
pub async fn deactivate(pool: &PgPool, organization_id: Uuid, member_id: Uuid) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "update members set is_active = false, updated_at = now()
         where organization_id = $1 and member_id = $2",
    )
    .bind(organization_id)
    .bind(member_id)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// One page of members, oldest first, with the total count.
pub async fn list(
    pool: &PgPool,
    organization_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Member>, i64), sqlx::Error> {
    let total: i64 = sqlx::query_scalar("select count(*) from members where organization_id = $1")
        .bind(organization_id)
        .fetch_one(pool)
        .await?;
    let members = sqlx::query_as::<_, Member>(
        "select member_id, email, first_name, last_name, role, is_active, created_at, updated_at
         from members where organization_id = $1
         order by created_at, member_id limit $2 offset $3",
    )
    .bind(organization_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    Ok((members, total))
}
