//! Creating and renaming objects.

use sqlx::PgPool;
use uuid::Uuid;

use super::schema_events;
use crate::domain::event::ChangeContext;
use crate::domain::event_data::ObjectState;
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

/// Creates a custom object with its system attributes `id`, `created_at`, `updated_at`, and
/// its `crm.object.created` event.
pub async fn create(
    pool: &PgPool,
    organization_id: Uuid,
    new: &NewObject<'_>,
    context: &ChangeContext,
) -> Result<(), CreateError> {
    let object_id = Uuid::new_v4();
    let mut tx = super::begin(pool).await?;
    let result = sqlx::query(
        "with object as (
             insert into crm_objects (organization_id, object_id, slug, singular_name, plural_name, is_active)
             values ($1, $6, $2, $3, $4, $5)
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
    .bind(object_id)
    .execute(&mut *tx)
    .await;
    match result {
        Ok(_) => {}
        Err(e) if super::violates(&e, "crm_objects_slug_key") => {
            tx.rollback().await?;
            return Err(CreateError::DuplicateSlug(new.slug.to_string()));
        }
        Err(e) => return Err(e.into()),
    }
    let state = ObjectState {
        slug: new.slug.to_string(),
        singular_name: new.singular_name.to_owned(),
        plural_name: new.plural_name.to_owned(),
        is_standard: false,
        is_active: new.is_active,
    };
    schema_events::object_written(&mut tx, organization_id, context, object_id, None, state).await?;
    tx.commit().await?;
    Ok(())
}

/// Renames a custom object; fields left `None` keep their value. A rename that changes
/// nothing writes nothing; one that does appends `crm.object.updated`.
pub async fn rename(
    pool: &PgPool,
    organization_id: Uuid,
    object_id: Uuid,
    singular_name: Option<&str>,
    plural_name: Option<&str>,
    context: &ChangeContext,
) -> Result<(), sqlx::Error> {
    let mut tx = super::begin(pool).await?;
    let row: Option<(String, String, String, bool, bool)> = sqlx::query_as(
        "select slug, singular_name, plural_name, is_standard, is_active from crm_objects
         where organization_id = $1 and object_id = $2 for update",
    )
    .bind(organization_id)
    .bind(object_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((slug, singular, plural, is_standard, is_active)) = row else {
        return tx.rollback().await;
    };
    let before = ObjectState { slug, singular_name: singular, plural_name: plural, is_standard, is_active };
    let after = ObjectState {
        singular_name: singular_name.map_or_else(|| before.singular_name.clone(), str::to_owned),
        plural_name: plural_name.map_or_else(|| before.plural_name.clone(), str::to_owned),
        ..before.clone()
    };
    sqlx::query(
        "update crm_objects set singular_name = $3, plural_name = $4, updated_at = now()
         where organization_id = $1 and object_id = $2",
    )
    .bind(organization_id)
    .bind(object_id)
    .bind(&after.singular_name)
    .bind(&after.plural_name)
    .execute(&mut *tx)
    .await?;
    match schema_events::object_written(&mut tx, organization_id, context, object_id, Some(&before), after).await? {
        true => tx.commit().await,
        false => tx.rollback().await,
    }
}
