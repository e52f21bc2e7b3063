//! Organizations (workspaces): the unit of tenancy.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::event::ChangeContext;
use crate::domain::slug::Slug;

/// A stored organization.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Organization {
    pub organization_id: Uuid,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// Why an organization could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("an organization with slug '{0}' already exists")]
    DuplicateSlug(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Creates an organization with its standard objects `people` and `companies`, and their
/// events in its feed.
pub async fn create(
    pool: &PgPool,
    slug: &Slug,
    name: &str,
    context: &ChangeContext,
) -> Result<Organization, CreateError> {
    let mut tx = super::begin(pool).await?;
    let outcome = insert(&mut tx, slug, name, context).await;
    super::end(tx, outcome).await
}

async fn insert(
    conn: &mut PgConnection,
    slug: &Slug,
    name: &str,
    context: &ChangeContext,
) -> Result<Organization, CreateError> {
    let org = sqlx::query_as::<_, Organization>(
        "insert into organizations (slug, name) values ($1, $2)
         returning organization_id, slug, name, created_at",
    )
    .bind(slug.as_str())
    .bind(name)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match super::violates(&e, "organizations_slug_key") {
        true => CreateError::DuplicateSlug(slug.to_string()),
        false => CreateError::Database(e),
    })?;
    sqlx::query("select crm_seed_standard_objects($1)").bind(org.organization_id).execute(&mut *conn).await?;
    super::schema_events::organization_created(conn, org.organization_id, context).await?;
    Ok(org)
}

/// Finds an organization by slug.
pub async fn find_by_slug(pool: &PgPool, slug: &str) -> Result<Option<Organization>, sqlx::Error> {
    sqlx::query_as::<_, Organization>(
        "select organization_id, slug, name, created_at from organizations where slug = $1",
    )
    .bind(slug)
    .fetch_optional(pool)
    .await
}
