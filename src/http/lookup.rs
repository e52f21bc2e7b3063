//! Resolving path parameters into the caller's objects and records; unknown means 404.

use uuid::Uuid;

use super::error::ApiError;
use super::state::AppState;
use crate::db;
use crate::domain::schema::ObjectDef;

/// The object with `slug` in the caller's organization.
pub async fn object(state: &AppState, organization_id: Uuid, slug: &str) -> Result<ObjectDef, ApiError> {
    db::schema::load(&state.pool, organization_id, Some(slug))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::NotFound(format!("No object '{slug}' in this organization.")))
}

/// A record id from the path; anything but a UUID cannot name a record, so it is a 404 too.
pub fn record_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(raw).map_err(|_| ApiError::NotFound(format!("No record '{raw}': record ids are UUIDs.")))
}
