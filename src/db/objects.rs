//! Creating and renaming objects.

use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::slug::Slug;

/// Why an object could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("an object with slug '{0}' already exists")]
    DuplicateSlug(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What a new custom object needs.
#[derive(Debug)]
pub struct NewObject<'a> {
    pub slug: &'a Slug,
    pub singular_name: &'a str,
    pub plural_name: &'a str,
    pub is_active: bool,
}

/// Creates a custom object with its system attributes `id`, `created_at`, `updated_at`.
pub async fn create(pool: &PgPool, organization_id: Uuid, new: &NewObject<'_>) -> Result<(), CreateError> {
    let result = sqlx::query(
        "with object as (
             insert into crm_objects (organization_id, slug, singular_name, plural_name, is_active)
             values ($1, $2, $3, $4, $5)
             returning object_id)
         insert into crm_attributes (organization_id, object_id, key, label, type, position,
                                     is_required, is_standard, is_system)
         select $1, object.object_id, a.key, a.label, a.type, a.position, a.is_required, true, true
         from object cross join (values ('id', 'ID', 'text', 0, true),
                                        ('created_at', 'Created At', 'datetime', 1, true),
                                        ('updated_at', 'Updated At', 'datetime', 2, false))
                                as a (key, label, type, position, is_required)",
    )
    .bind(organization_id)
    .bind(new.slug.as_str())
    .bind(new.singular_name)
    .bind(new.plural_name)
    .bind(new.is_active)
    .execute(pool)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if super::violates(&e, "crm_objects_slug_key") => Err(CreateError::DuplicateSlug(new.slug.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// Renames a custom object; fields left `None` keep their value.
pub async fn rename(
    pool: &PgPool,
    organization_id: Uuid,
    object_id: Uuid,
    singular_name: Option<&str>,
    plural_name: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update crm_objects
         set singular_name = coalesce($3, singular_name), plural_name = coalesce($4, plural_name),
             updated_at = now()
         where organization_id = $1 and object_id = $2",
    )
    .bind(organization_id)
    .bind(object_id)
    .bind(singular_name)
    .bind(plural_name)
    .execute(pool)
    .await?;
    Ok(())
}
