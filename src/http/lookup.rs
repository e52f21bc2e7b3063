//! Resolving path parameters into the caller's objects and records; unknown means 404.

use std::sync::Arc;

use uuid::Uuid;

use super::error::{ApiError, echo};
use super::state::AppState;
use crate::domain::schema::ObjectDef;

/// The object with `slug` in the caller's organization (from the schema cache).
pub async fn object(state: &AppState, organization_id: Uuid, slug: &str) -> Result<Arc<ObjectDef>, ApiError> {
    let schema = state.cache.schema(&state.pool, organization_id).await?;
    schema
        .iter()
        .find(|o| o.slug == slug)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("No object '{}' in this organization.", echo(slug))))
}

/// Forgets the organization's cached schema after this process changed it, so the change is
/// visible to its next request without waiting for the notification.
pub fn schema_changed(state: &AppState, organization_id: Uuid) {
    state.cache.forget_organization(organization_id);
}

/// A record id from the path, in the one form bodies accept too; anything else cannot name a
/// record, so it is a 404.
pub fn record_id(raw: &str) -> Result<Uuid, ApiError> {
    crate::domain::value::parse_id(raw)
        .ok_or_else(|| ApiError::NotFound(format!("No record '{}': record ids are hyphenated UUIDs.", echo(raw))))
}
