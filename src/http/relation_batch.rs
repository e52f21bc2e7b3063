//! `PATCH /v2/crm/{objectSlug}/relations`: many relation changes in one request, each
//! following every rule of `PATCH /v2/crm/{objectSlug}/{recordId}/relation`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{ApiError, ErrorBody, FieldError};
use super::record_dto;
use super::relation::error as operation_error;
use super::relation_batch_input::BatchInput;
use super::relation_headers::BatchHeaderParams;
use super::state::AppState;
use crate::db::relation_batch::{self, BatchError, BatchOutcome, OpResult};
use crate::domain::relation_batch::operation_pointer;

/// Body of the batch relation endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct BatchRequestBody {
    /// The changes, applied in this order (operations on one record see the ones before them).
    #[schema(min_items = 1, max_items = 1000)]
    pub operations: Vec<BatchOperationBody>,
    /// `true` (default): all operations or none. `false`: each operation on its own.
    #[schema(default = true)]
    pub atomic: Option<bool>,
}

/// One operation: the body of `PATCH /{recordId}/relation` plus the record and its condition.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct BatchOperationBody {
    /// The record whose attribute changes.
    pub record_id: Uuid,
    /// Key of a `relation` or `user` attribute of the object.
    #[schema(example = "products", min_length = 1)]
    pub attribute_slug: String,
    /// IDs to link: records of the related object, or members for `user` attributes.
    #[schema(max_items = 1000)]
    pub add: Option<Vec<Uuid>>,
    /// IDs to unlink; IDs that are not linked are ignored.
    #[schema(max_items = 1000)]
    pub remove: Option<Vec<Uuid>>,
    /// The record's ETag (as the single endpoint's `If-Match` header: a tag list or `*`);
    /// the operation applies only if the record is at that version when its turn comes.
    #[schema(example = "\"3\"", pattern = "^[ \\t]*(\\*|(W/)?\"[!#-~]*\"([ \\t]*,[ \\t]*(W/)?\"[!#-~]*\")*)[ \\t]*$")]
    pub if_match: Option<String>,
}

/// What one operation did, or, in per-operation mode, why it failed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchResult {
    /// The operation's record (null when its `recordId` is not a UUID).
    pub record_id: Option<Uuid>,
    /// The operation's attribute (null when it sent none).
    pub attribute_slug: Option<String>,
    /// Per-operation mode only: the status the operation alone would have had.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 200)]
    pub status: Option<u16>,
    /// IDs linked by this operation (already linked ones are not listed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added: Option<Vec<Uuid>>,
    /// IDs unlinked by this operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<Vec<Uuid>>,
    /// The record's ETag after this operation (usable as a later operation's `ifMatch`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "\"4\"")]
    pub etag: Option<String>,
    /// A failed operation: the error envelope's code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// A failed operation: what went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A failed operation: every problem, pointers into the batch body (`/operations/3/add/0`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// Response of the batch relation endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    pub success: bool,
    /// 200, or 207 when some operations of a per-operation batch failed.
    #[schema(example = 200)]
    pub status: u16,
    /// One result per operation, in request order.
    pub results: Vec<BatchResult>,
}

/// Update many relations at once
///
/// Applies up to 1,000 operations (10,000 IDs in all) of `PATCH /v2/crm/{objectSlug}/{recordId}/relation`
/// in order, each following every rule of that endpoint: validation, removals before additions,
/// no-ops that write nothing, cardinality, `ifMatch` (its `If-Match`). Operations on the same
/// record see the ones before them; cardinality is enforced as if the operations ran one after
/// another. With `atomic: true` (the default) the batch is one transaction: any problem answers
/// 400, 404, 412 or 409 (in that precedence) listing every problem of every operation, with
/// pointers such as `/operations/3/add/2`, and nothing is written. With `atomic: false` every
/// operation applies on its own: 200 when all succeeded, else 207 with each result's `status`
/// and, on failure, the error envelope's `code`, `message` and `errors`. In either mode an
/// operation that does not have the documented form (or names an unknown attribute) refuses
/// the whole batch with 400. `Idempotency-Key` covers
/// the whole batch. Requires `crm:write`.
#[utoipa::path(patch, path = "/v2/crm/{objectSlug}/relations", tag = "records",
    params(
        ("objectSlug" = String, Path, description = "Object slug of every operation's record, e.g. `orders`."),
        BatchHeaderParams,
    ),
    request_body(content = BatchRequestBody, examples(
        ("link products to two orders" = (summary = "Link products to two orders, all or nothing", value = json!({"operations": [
            {"recordId": "0b7e1c9a-2f4d-4e8a-9c1b-3d5f7a9b1c2d", "attributeSlug": "products", "add": ["c1d2e3f4-a5b6-7890-cdef-123456789012"]},
            {"recordId": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d", "attributeSlug": "products", "add": ["c1d2e3f4-a5b6-7890-cdef-123456789012"], "remove": ["a2b3c4d5-e6f7-8901-bcde-f12345678901"]}
        ]}))),
        ("each on its own" = (summary = "Apply what can be applied", value = json!({"atomic": false, "operations": [
            {"recordId": "0b7e1c9a-2f4d-4e8a-9c1b-3d5f7a9b1c2d", "attributeSlug": "products", "remove": ["c1d2e3f4-a5b6-7890-cdef-123456789012"], "ifMatch": "\"3\""}
        ]}))),
    )),
    security(("bearer" = ["crm:write"])),
    responses(
        (status = 200, description = "Every operation applied (or a no-op).", body = BatchResponse, headers(
            ("Idempotency-Replayed" = String, description = "`true` when this is the stored response of an earlier request with the same Idempotency-Key."),
        )),
        (status = 207, description = "`atomic: false` and some operations failed: each result carries its `status`; the others were applied.", body = BatchResponse),
        (status = 400, description = "Atomic: an operation is invalid as the single endpoint would refuse it (pointers `/operations/<i>/…`); or the batch itself: no operations, more than 1,000 operations or 10,000 IDs, unknown fields, a malformed Idempotency-Key, an If-Match header.", body = ErrorBody),
        (status = 404, description = "No such object; or, atomic, an operation's record does not exist (`/operations/<i>/recordId`).", body = ErrorBody),
        (status = 409, description = "Atomic: a relation's cardinality would be exceeded (names the links in the way); or a request with the same Idempotency-Key is in flight.", body = ErrorBody),
        (status = 412, description = "Atomic: an operation's `ifMatch` does not match its record (`/operations/<i>/ifMatch`); nothing written.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key was used with a different request.", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry after `Retry-After`.", body = ErrorBody),
    ))]
pub async fn update_relations(State(state): State<AppState>, input: BatchInput) -> Result<Response, ApiError> {
    let render = |results: &[OpResult]| render(&input, results);
    match relation_batch::apply(&state.pool, &input.request, &render).await {
        Ok(BatchOutcome::Applied(results, saved)) => {
            count_links(&results);
            let (status, body) = match saved {
                Some(saved) => (saved.status.map_or(200, |s| s as u16), saved.body),
                None => render(&results),
            };
            Ok(reply(status, body, false))
        }
        Ok(BatchOutcome::Replay(saved)) => Ok(reply(saved.status.map_or(200, |s| s as u16), saved.body, true)),
        Err(BatchError::NotApplied(results)) if !input.request.atomic && !input.request.has_invalid() => {
            let (status, body) = render(&results);
            Ok(reply(status, body, false))
        }
        Err(BatchError::NotApplied(results)) => Err(refused(&input, results)),
        Err(BatchError::KeyInFlight) => Err(super::relation::key_in_flight()),
        Err(BatchError::KeyReused) => Err(super::relation::key_reused()),
        Err(BatchError::Database(e)) => Err(e.into()),
    }
}

fn count_links(results: &[OpResult]) {
    let (added, removed) = results
        .iter()
        .flatten()
        .fold((0, 0), |(a, r), done| (a + done.diff.added.len() as u64, r + done.diff.removed.len() as u64));
    metrics::counter!("relation_links_added_total").increment(added);
    metrics::counter!("relation_links_removed_total").increment(removed);
}

/// Every operation's status (200 when it succeeded) and result, the unparsable ones included,
/// in request order.
fn outcomes(input: &BatchInput, results: Vec<OpResult>) -> Vec<(StatusCode, BatchResult)> {
    let mut results = results.into_iter();
    let request = &input.request;
    request
        .operations
        .iter()
        .zip(&input.labels)
        .enumerate()
        .map(|(i, (op, (record_id, slug)))| {
            let base = BatchResult {
                record_id: *record_id,
                attribute_slug: slug.clone(),
                status: None,
                added: None,
                removed: None,
                etag: None,
                code: None,
                message: None,
                errors: None,
            };
            let result = if op.is_ok() { results.next() } else { None };
            let error = match (op, result) {
                (Ok(_), Some(Ok(done))) => {
                    let etag = record_dto::etag(done.version).to_str().ok().map(str::to_owned);
                    let result =
                        BatchResult { added: Some(done.diff.added), removed: Some(done.diff.removed), etag, ..base };
                    return (StatusCode::OK, result);
                }
                (Ok(op), Some(Err(e))) => operation_error(e, &request.object.slug, op.record_id),
                (Ok(_), None) => ApiError::Internal("a batch operation without its result".into()),
                (Err(problems), _) => ApiError::invalid(problems.clone()),
            };
            failure(i, error, base)
        })
        .collect()
}

/// A failed operation's result: the envelope's parts, every pointer inside the batch body.
fn failure(i: usize, error: ApiError, base: BatchResult) -> (StatusCode, BatchResult) {
    let (status, code, message, mut errors) = error.into_parts();
    for e in &mut errors {
        e.pointer = operation_pointer(i, &e.pointer);
    }
    if errors.is_empty() {
        let pointer = match code {
            "precondition_failed" => "/ifMatch",
            "not_found" => "/recordId",
            _ => "",
        };
        errors.push(FieldError::new(operation_pointer(i, pointer), code, message.clone()));
    }
    let result = BatchResult {
        status: Some(status.as_u16()),
        code: Some(code.to_owned()),
        message: Some(message),
        errors: Some(errors),
        ..base
    };
    (status, result)
}

/// The response body of a committed batch (or a per-operation batch of which nothing applied).
fn render(input: &BatchInput, results: &[OpResult]) -> (u16, Vec<u8>) {
    let atomic = input.request.atomic;
    let results = results.iter().map(clone_result).collect();
    let outcomes = outcomes(input, results);
    let all_ok = outcomes.iter().all(|(status, _)| *status == StatusCode::OK);
    let status = if all_ok { 200 } else { 207 };
    let results = outcomes
        .into_iter()
        .map(|(status, result)| match status == StatusCode::OK && !atomic {
            true => BatchResult { status: Some(200), ..result },
            false => result,
        })
        .collect();
    let response = BatchResponse { success: true, status, results };
    (status, serde_json::to_vec(&response).expect("responses serialize"))
}

fn clone_result(result: &OpResult) -> OpResult {
    match result {
        Ok(done) => Ok(relation_batch::Done { version: done.version, diff: done.diff.clone() }),
        Err(e) => Err(e.duplicate()),
    }
}

/// The one error of an atomic batch that was not applied: every problem of every operation.
fn refused(input: &BatchInput, results: Vec<OpResult>) -> ApiError {
    let total = input.request.operations.len();
    let failed: Vec<(StatusCode, BatchResult)> =
        outcomes(input, results).into_iter().filter(|(status, _)| *status != StatusCode::OK).collect();
    let precedence = [StatusCode::BAD_REQUEST, StatusCode::NOT_FOUND, StatusCode::PRECONDITION_FAILED];
    let status = precedence.into_iter().find(|s| failed.iter().any(|(f, _)| f == s)).unwrap_or(StatusCode::CONFLICT);
    let message = format!("{} of {total} operations cannot be applied, so none was; see 'errors'.", failed.len());
    let errors: Vec<FieldError> = failed.into_iter().flat_map(|(_, r)| r.errors.unwrap_or_default()).collect();
    match status {
        StatusCode::BAD_REQUEST => ApiError::BadRequest { code: "validation_failed", message, errors },
        StatusCode::NOT_FOUND => ApiError::BatchRefused { status, code: "not_found", message, errors },
        StatusCode::PRECONDITION_FAILED => {
            ApiError::BatchRefused { status, code: "precondition_failed", message, errors }
        }
        _ => ApiError::Conflict { code: "cardinality_conflict", message, errors },
    }
}

fn reply(status: u16, body: Vec<u8>, replayed: bool) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, Body::from(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if replayed {
        headers.insert("idempotency-replayed", HeaderValue::from_static("true"));
    }
    response
}
