//! `PATCH /v2/crm/{objectSlug}/{recordId}/relation`: add or remove individual links.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::record_dto::{self, RecordDto};
use super::relation_headers::RelationHeaderParams;
use super::relation_input::RelationInput;
use super::state::AppState;
use crate::db::relation::{self, Applied, Outcome, RelationError};
use crate::domain::relation_request::RelationRequest;

/// Body of the relation endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"attributeSlug": "products", "add": ["c1d2e3f4-a5b6-7890-cdef-123456789012", "a2b3c4d5-e6f7-8901-bcde-f12345678901"]}))]
pub struct RelationRequestBody {
    /// Key of a `relation` or `user` attribute of the object.
    #[schema(example = "products", min_length = 1)]
    pub attribute_slug: String,
    /// IDs to link: records of the related object, or members for `user` attributes.
    #[schema(max_items = 1000)]
    pub add: Option<Vec<Uuid>>,
    /// IDs to unlink; IDs that are not linked are ignored.
    #[schema(max_items = 1000)]
    pub remove: Option<Vec<Uuid>>,
}

/// What the request really changed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelationChanges {
    #[schema(example = "products")]
    pub attribute_slug: String,
    /// IDs that were linked by this request (already linked ones are not listed).
    pub added: Vec<Uuid>,
    /// IDs that were unlinked by this request (IDs that were not linked are not listed).
    pub removed: Vec<Uuid>,
}

/// Response of the relation endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelationResponse {
    pub success: bool,
    #[schema(example = 200)]
    pub status: u16,
    /// The record after the change; left out with `Prefer: return=minimal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordDto>,
    pub changes: RelationChanges,
}

/// Update a record's relation
///
/// Adds and/or removes individual IDs on a `relation` or `user` attribute without touching the
/// other links, unlike `PATCH /v2/crm/{objectSlug}/{recordId}`, which replaces the whole list.
/// Use it for one-click link/unlink and for incremental sync ("product X was added to order Y").
/// Removals are applied before additions, so a swap works even where the relation allows one
/// link. Re-adding a linked ID or removing an unlinked one is a no-op; a request that changes
/// nothing writes nothing (same `updatedAt` and ETag). The inverse attribute of every target sees
/// the change at once. Retry safely with `Idempotency-Key`; make it conditional with `If-Match`.
/// Requires `crm:write`.
#[utoipa::path(patch, path = "/v2/crm/{objectSlug}/{recordId}/relation", tag = "records",
    params(
        ("objectSlug" = String, Path, description = "Object slug, e.g. `orders` (standard objects work too)."),
        ("recordId" = Uuid, Path, description = "The record whose attribute changes."),
        RelationHeaderParams,
    ),
    request_body(content = RelationRequestBody, examples(
        ("link two products" = (summary = "Link two products to an order", value = json!({"attributeSlug": "products", "add": ["c1d2e3f4-a5b6-7890-cdef-123456789012", "a2b3c4d5-e6f7-8901-bcde-f12345678901"]}))),
        ("swap a product" = (summary = "Swap a linked record", value = json!({"attributeSlug": "products", "remove": ["c1d2e3f4-a5b6-7890-cdef-123456789012"], "add": ["b3c4d5e6-f7a8-9012-cdef-123456789abc"]}))),
        ("unlink" = (summary = "Unlink products", value = json!({"attributeSlug": "products", "remove": ["a2b3c4d5-e6f7-8901-bcde-f12345678901"]}))),
        ("assign an owner" = (summary = "Assign a team member to a deal", value = json!({"attributeSlug": "owners", "add": ["6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"]}))),
    )),
    security(("bearer" = ["crm:write"])),
    responses(
        (status = 200, description = "Applied (or a no-op).", body = RelationResponse, headers(
            ("ETag" = String, description = "The record version after the change."),
            ("Idempotency-Replayed" = String, description = "`true` when this is the stored response of an earlier request with the same Idempotency-Key."),
            ("Preference-Applied" = String, description = "`return=minimal` when `record` was left out as `Prefer` asked."),
        )),
        (status = 400, description = "Both lists empty, an ID in both lists, more than 1,000 IDs, non-UUIDs, unknown or archived attribute, a non-relation attribute, or `add` IDs that are not records of the related object / active members (each listed with pointer `/add/<i>`).", body = ErrorBody),
        (status = 404, description = "No such object or record.", body = ErrorBody),
        (status = 409, description = "The relation's cardinality would be exceeded (names the links in the way), or a request with the same Idempotency-Key is in flight.", body = ErrorBody),
        (status = 412, description = "If-Match does not match the record's ETag; nothing written.", body = ErrorBody, headers(
            ("ETag" = String, description = "The record's current version."),
        )),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key was used with a different request, or the organization keeps as many Idempotency-Key responses as it may (`limit_reached`).", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry after `Retry-After`.", body = ErrorBody),
    ))]
pub async fn update_relation(
    State(state): State<AppState>,
    RelationInput(request): RelationInput,
) -> Result<Response, ApiError> {
    let render = |applied: &Applied| body(&request, applied);
    match relation::apply(&state.pool, &request, &render).await {
        Ok(Outcome::Applied(applied, saved)) => {
            metrics::counter!("relation_links_added_total").increment(applied.diff.added.len() as u64);
            metrics::counter!("relation_links_removed_total").increment(applied.diff.removed.len() as u64);
            let body = saved.unwrap_or_else(|| render(&applied));
            Ok(reply(body, Some(applied.row.version), false, request.minimal))
        }
        Ok(Outcome::Replay(saved)) => Ok(reply(saved.body, saved.record_version, true, false)),
        Err(e) => Err(error(e, &request.object.slug, request.record_id)),
    }
}

/// The response body as first sent; an Idempotency-Key replay returns exactly these bytes.
fn body(request: &RelationRequest, applied: &Applied) -> Vec<u8> {
    let record = applied.links.as_ref().map(|links| {
        let links: Vec<_> = links.iter().collect();
        record_dto::render(&request.object, &applied.row, &links)
    });
    let changes = RelationChanges {
        attribute_slug: request.attribute.key.clone(),
        added: applied.diff.added.clone(),
        removed: applied.diff.removed.clone(),
    };
    let response = RelationResponse { success: true, status: 200, record, changes };
    serde_json::to_vec(&response).expect("responses serialize")
}

/// A 200 with the body and the ETag of the record version it carries.
fn reply(body: Vec<u8>, version: Option<i64>, replayed: bool, minimal: bool) -> Response {
    let mut response = (StatusCode::OK, Body::from(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(version) = version {
        headers.insert(header::ETAG, record_dto::etag(version));
    }
    if replayed {
        headers.insert("idempotency-replayed", HeaderValue::from_static("true"));
    }
    if minimal {
        headers.insert("preference-applied", HeaderValue::from_static("return=minimal"));
    }
    response
}

/// The API error of a relation change that was not applied (also one batch operation's).
pub(super) fn error(e: RelationError, slug: &str, record_id: Uuid) -> ApiError {
    match e {
        RelationError::RecordNotFound => ApiError::NotFound(format!("No record {record_id} in '{slug}'.")),
        RelationError::PreconditionFailed(version) => ApiError::PreconditionFailed(version),
        RelationError::Invalid(problems) => ApiError::invalid(problems),
        RelationError::Conflict(problems) => ApiError::conflict(problems),
        RelationError::KeyInFlight => key_in_flight(),
        RelationError::KeyReused => key_reused(),
        RelationError::Database(e) => e.into(),
    }
}

/// 409: a request with the same Idempotency-Key is still running.
pub(super) fn key_in_flight() -> ApiError {
    ApiError::Conflict {
        code: "idempotency_key_in_flight",
        message: "A request with this Idempotency-Key is still being processed; retry shortly.".into(),
        errors: vec![],
    }
}

/// 422: the Idempotency-Key was used for another request.
pub(super) fn key_reused() -> ApiError {
    ApiError::Unprocessable {
        code: "idempotency_key_reused",
        message: "This Idempotency-Key was already used for a different request.".into(),
    }
}
