//! `PATCH /v2/crm/{objectSlug}/{recordId}/relation`: add or remove individual links.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Caller, CrmWrite};
use super::error::{ApiError, ErrorBody};
use super::extract::Json;
use super::lookup;
use super::record_dto::{self, RecordDto};
use super::relation_headers::{RelationHeaderParams, RelationHeaders};
use super::state::AppState;
use crate::db;
use crate::db::idempotency::StoredResponse;
use crate::db::relation::{self, Applied, Outcome, RelationError, RelationRequest};
use crate::domain::problem::Problem;
use crate::domain::relation_change::ChangeSet;
use crate::domain::schema::{AttributeDef, ObjectDef};

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
        )),
        (status = 400, description = "Both lists empty, an ID in both lists, more than 1,000 IDs, non-UUIDs, unknown or archived attribute, a non-relation attribute, or `add` IDs that are not records of the related object / active members (each listed with pointer `/add/<i>`).", body = ErrorBody),
        (status = 404, description = "No such object or record.", body = ErrorBody),
        (status = 409, description = "The relation's cardinality would be exceeded (names the links in the way), or a request with the same Idempotency-Key is in flight.", body = ErrorBody),
        (status = 412, description = "If-Match does not match the record's ETag; nothing written.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key was used with a different request.", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry after `Retry-After`.", body = ErrorBody),
    ))]
pub async fn update_relation(
    caller: Caller<CrmWrite>,
    State(state): State<AppState>,
    Path((slug, record)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let org = caller.organization_id;
    let object = lookup::object(&state, org, &slug).await?;
    let record_id = lookup::record_id(&record)?;
    let parsed = RelationHeaders::parse(&headers).map_err(ApiError::invalid).and_then(|conditions| {
        let (change, attribute) = parse_body(&object, &body)?;
        Ok((conditions, change, attribute))
    });
    let (conditions, change, attribute) = match parsed {
        Ok(parsed) => parsed,
        // A path that names no record is a 404 whatever the body says; checked on this error
        // path only, so valid requests pay nothing for it.
        Err(e) => match db::records::exists(&state.pool, org, object.object_id, record_id).await? {
            true => return Err(e),
            false => return Err(ApiError::NotFound(format!("No record {record_id} in '{slug}'."))),
        },
    };
    // Only a keyed request needs its fingerprint (a hash over every ID).
    let idempotency = conditions.idempotency_key().map(|key| (key, change.fingerprint(&format!("{slug}/{record_id}"))));
    let fingerprint = idempotency.map(|(_, f)| f).unwrap_or_default();
    let request = RelationRequest {
        organization_id: org,
        object: &object,
        record_id,
        attribute,
        change: &change,
        accepted_versions: conditions.accepted_versions(),
        idempotency,
        with_record: !conditions.minimal(),
    };
    let respond = |applied: &Applied| stored(&object, attribute, applied, fingerprint);
    match relation::apply(&state.pool, &request, &respond).await {
        Ok(Outcome::Applied(applied, stored_now)) => {
            metrics::counter!("relation_links_added_total").increment(applied.diff.added.len() as u64);
            metrics::counter!("relation_links_removed_total").increment(applied.diff.removed.len() as u64);
            let response = stored_now.unwrap_or_else(|| stored(&object, attribute, &applied, fingerprint));
            Ok(reply(response, false, conditions.minimal()))
        }
        Ok(Outcome::Replay(stored)) => Ok(reply(stored, true, false)),
        Err(e) => Err(error(e, &slug, record_id)),
    }
}

/// The change set and the attribute it names; all body and attribute problems in one 400.
fn parse_body<'a>(object: &'a ObjectDef, body: &Value) -> Result<(ChangeSet, &'a AttributeDef), ApiError> {
    let slug = body.get("attributeSlug").and_then(Value::as_str).filter(|s| !s.is_empty());
    let attribute = slug.map(|s| link_attribute(object, s));
    match (ChangeSet::parse(body), attribute) {
        (Ok(change), Some(Ok(attribute))) => Ok((change, attribute)),
        (parsed, attribute) => {
            let mut problems = parsed.err().unwrap_or_default();
            problems.extend(attribute.and_then(Result::err));
            Err(ApiError::invalid(problems))
        }
    }
}

fn link_attribute<'a>(object: &'a ObjectDef, key: &str) -> Result<&'a AttributeDef, Problem> {
    let pointer = "/attributeSlug";
    match object.attribute(key) {
        Some(a) if a.kind.is_link() && !a.is_archived => Ok(a),
        Some(a) if a.is_archived => Err(Problem::new(pointer, "archived_attribute", format!("'{key}' is archived"))),
        Some(a) => Err(Problem::new(
            pointer,
            "not_a_relation",
            format!(
                "'{key}' is a {} attribute; this endpoint changes relation and user attributes only. \
                 Set it with PATCH /v2/crm/{}/{{recordId}}",
                a.kind, object.slug
            ),
        )),
        None => {
            let links: Vec<&str> =
                object.value_attributes().filter(|a| a.kind.is_link()).map(|a| a.key.as_str()).collect();
            let message = format!(
                "'{}' has no attribute '{key}'; its relation and user attributes: {}",
                object.slug,
                links.join(", ")
            );
            Err(Problem::new(pointer, "unknown_attribute", message))
        }
    }
}

/// The response as first sent; an Idempotency-Key replay returns exactly these bytes.
fn stored(object: &ObjectDef, attribute: &AttributeDef, applied: &Applied, fingerprint: [u8; 32]) -> StoredResponse {
    let record = applied.links.as_ref().map(|links| {
        let links: Vec<_> = links.iter().collect();
        record_dto::render(object, &applied.row, &links)
    });
    let changes = RelationChanges {
        attribute_slug: attribute.key.clone(),
        added: applied.diff.added.clone(),
        removed: applied.diff.removed.clone(),
    };
    let response = RelationResponse { success: true, status: 200, record, changes };
    StoredResponse {
        fingerprint: fingerprint.to_vec(),
        status: 200,
        etag: Some(format!("\"{}\"", applied.row.version)),
        body: serde_json::to_vec(&response).expect("responses serialize"),
    }
}

fn reply(stored: StoredResponse, replayed: bool, minimal: bool) -> Response {
    let status = StatusCode::from_u16(stored.status as u16).unwrap_or(StatusCode::OK);
    let mut response = (status, Body::from(stored.body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(etag) = stored.etag.as_deref().and_then(|e| HeaderValue::from_str(e).ok()) {
        headers.insert(header::ETAG, etag);
    }
    if replayed {
        headers.insert("idempotency-replayed", HeaderValue::from_static("true"));
    }
    if minimal {
        headers.insert("preference-applied", HeaderValue::from_static("return=minimal"));
    }
    response
}

fn error(e: RelationError, slug: &str, record_id: Uuid) -> ApiError {
    match e {
        RelationError::RecordNotFound => ApiError::NotFound(format!("No record {record_id} in '{slug}'.")),
        RelationError::PreconditionFailed(version) => ApiError::PreconditionFailed(version),
        RelationError::Invalid(problems) => ApiError::invalid(problems),
        RelationError::Conflict(problems) => ApiError::conflict(problems),
        RelationError::KeyInFlight => ApiError::Conflict {
            code: "idempotency_key_in_flight",
            message: "A request with this Idempotency-Key is still being processed; retry shortly.".into(),
            errors: vec![],
        },
        RelationError::KeyReused => ApiError::Unprocessable {
            code: "idempotency_key_reused",
            message: "This Idempotency-Key was already used for a different request.".into(),
        },
        RelationError::Database(e) => e.into(),
    }
}
