//! The batch relation endpoint's extractor: every operation is parsed by the single relation
//! endpoint's own parsing ([`parse_change`], `If-Match` by [`RelationHeaders`]), its problems
//! pointed at `/operations/<i>`.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::auth::{Caller, CrmWrite};
use super::error::ApiError;
use super::extract::Json;
use super::lookup;
use super::relation_headers::RelationHeaders;
use super::relation_input::parse_change;
use super::state::AppState;
use crate::domain::event::ChangeContext;
use crate::domain::problem::Problem;
use crate::domain::relation_batch::{self, BatchRequest, MAX_BATCH_IDS, MAX_OPERATIONS, Operation};
use crate::domain::relation_request::{Idempotency, RelationRequest};
use crate::domain::schema::ObjectDef;

/// A parsed batch, with what each operation names (for its result, even when it did not parse).
pub struct BatchInput {
    pub request: BatchRequest,
    /// Per operation: its `recordId` and `attributeSlug`, when readable.
    pub labels: Vec<(Option<Uuid>, Option<String>)>,
}

impl FromRequest<AppState> for BatchInput {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let caller =
            Caller::<CrmWrite>::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?;
        let Path(slug) =
            Path::<String>::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?;
        let headers = batch_headers(&parts.headers);
        let Json(body) = Json::<Value>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let object = lookup::object(state, caller.organization_id, &slug).await.map_err(IntoResponse::into_response)?;
        parse((caller.organization_id, &caller.change), object, headers, &body).map_err(IntoResponse::into_response)
    }
}

/// The Idempotency-Key; `If-Match` belongs in each operation (`ifMatch`) here.
fn batch_headers(headers: &HeaderMap) -> Result<Option<String>, Vec<Problem>> {
    let parsed = RelationHeaders::parse(headers)?;
    if headers.contains_key(header::IF_MATCH) {
        let message = "a batch takes If-Match per operation: send 'ifMatch' in each operation instead";
        return Err(vec![Problem::new("If-Match", "invalid_header", message)]);
    }
    Ok(parsed.idempotency_key().map(str::to_owned))
}

fn parse(
    (org, context): (Uuid, &ChangeContext),
    object: Arc<ObjectDef>,
    key: Result<Option<String>, Vec<Problem>>,
    body: &Value,
) -> Result<BatchInput, ApiError> {
    let (operations, atomic) = match (key.as_ref().err(), envelope(body)) {
        (None, Ok(parsed)) => parsed,
        (header, parsed) => {
            let mut problems = header.cloned().unwrap_or_default();
            problems.extend(parsed.err().unwrap_or_default());
            return Err(ApiError::invalid(problems));
        }
    };
    let labels = operations.iter().map(label).collect();
    let operations: Vec<Operation> = operations.iter().map(|raw| operation((org, context), &object, raw)).collect();
    let idempotency = key
        .ok()
        .flatten()
        .map(|key| Idempotency { fingerprint: relation_batch::fingerprint(&object.slug, atomic, &operations), key });
    let request = BatchRequest { organization_id: org, object, operations, atomic, idempotency };
    Ok(BatchInput { request, labels })
}

/// The body's `operations` and `atomic`, within the limits, or what is wrong with them.
fn envelope(body: &Value) -> Result<(&[Value], bool), Vec<Problem>> {
    let Some(fields) = body.as_object() else {
        return Err(vec![Problem::new("", "invalid_type", "expected a JSON object with operations and atomic")]);
    };
    let mut problems: Vec<Problem> = fields
        .keys()
        .filter(|k| !matches!(k.as_str(), "operations" | "atomic"))
        .map(|k| {
            let pointer = format!("/{}", crate::domain::problem::pointer_segment(k));
            Problem::new(pointer, "unknown_field", format!("unknown field '{k}'; expected operations, atomic"))
        })
        .collect();
    let atomic = match fields.get("atomic") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(atomic)) => *atomic,
        Some(_) => {
            problems.push(Problem::new("/atomic", "invalid_type", "atomic must be true or false"));
            true
        }
    };
    let operations = match fields.get("operations") {
        Some(Value::Array(ops)) if ops.is_empty() => Err("operations must list at least one operation"),
        Some(Value::Array(ops)) => Ok(ops.as_slice()),
        None | Some(Value::Null) => Err("operations is required: an array of operations"),
        Some(_) => Err("operations must be an array of operations"),
    };
    let operations = operations.map_err(|m| problems.push(Problem::new("/operations", "invalid_type", m))).ok();
    if let Some(too_many) = operations.and_then(beyond_limits) {
        problems.push(too_many);
    }
    match (operations, problems.is_empty()) {
        (Some(operations), true) => Ok((operations, atomic)),
        _ => Err(problems),
    }
}

/// The one problem of a batch beyond its limits (checked before any operation is parsed, so
/// the answer stays small).
fn beyond_limits(operations: &[Value]) -> Option<Problem> {
    if operations.len() > MAX_OPERATIONS {
        let message = format!("at most {MAX_OPERATIONS} operations per batch, got {}", operations.len());
        return Some(Problem::new("/operations", "too_many", message));
    }
    let list_len = |op: &Value, key: &str| op.get(key).and_then(Value::as_array).map_or(0, Vec::len);
    let ids: usize = operations.iter().map(|op| list_len(op, "add") + list_len(op, "remove")).sum();
    (ids > MAX_BATCH_IDS).then(|| {
        let message = format!("at most {MAX_BATCH_IDS} IDs in all operations' add and remove lists, got {ids}");
        Problem::new("/operations", "too_many_ids", message)
    })
}

fn label(raw: &Value) -> (Option<Uuid>, Option<String>) {
    let record = raw.get("recordId").and_then(Value::as_str).and_then(|s| Uuid::try_parse(s).ok());
    (record, raw.get("attributeSlug").and_then(Value::as_str).map(str::to_owned))
}

/// An operation as a request of the single endpoint, or its problems (pointers relative to it).
fn operation((org, context): (Uuid, &ChangeContext), object: &Arc<ObjectDef>, raw: &Value) -> Operation {
    let Some(fields) = raw.as_object() else {
        let message = "expected an object with recordId, attributeSlug, add, remove and ifMatch";
        return Err(vec![Problem::new("", "invalid_type", message)]);
    };
    let mut change: Map<String, Value> = fields.clone();
    let (record, if_match) = (change.remove("recordId"), change.remove("ifMatch"));
    let record = record_id(record.as_ref());
    let versions = accepted_versions(if_match.as_ref());
    let change = parse_change(object, &Value::Object(change)).map_err(|problems| {
        problems.into_iter().map(|p| match p.code {
            "unknown_field" => {
                let message = format!("{}; or recordId, ifMatch", p.message);
                Problem::new(p.pointer, p.code, message)
            }
            _ => p,
        })
    });
    match (record, versions, change) {
        (Ok(record_id), Ok(accepted_versions), Ok((change, attribute))) => Ok(RelationRequest {
            organization_id: org,
            object: object.clone(),
            record_id,
            attribute: attribute.clone(),
            change,
            accepted_versions,
            idempotency: None,
            minimal: true,
            context: context.clone(),
        }),
        (record, versions, change) => {
            let mut problems: Vec<Problem> = record.err().into_iter().chain(versions.err()).collect();
            problems.extend(change.err().into_iter().flatten());
            Err(problems)
        }
    }
}

fn record_id(raw: Option<&Value>) -> Result<Uuid, Problem> {
    match raw {
        None | Some(Value::Null) => Err(Problem::new("/recordId", "required", "recordId is required: a record UUID")),
        Some(Value::String(s)) => {
            Uuid::try_parse(s).map_err(|_| Problem::new("/recordId", "invalid_uuid", format!("'{s}' is not a UUID")))
        }
        Some(_) => Err(Problem::new("/recordId", "invalid_type", "recordId must be a UUID string")),
    }
}

/// `ifMatch`, read exactly as the single endpoint reads its `If-Match` header.
fn accepted_versions(raw: Option<&Value>) -> Result<Option<Vec<i64>>, Problem> {
    let invalid = || Problem::new("/ifMatch", "invalid_type", "ifMatch must be an ETag string such as \"\\\"3\\\"\"");
    let tag = match raw {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(tag)) => tag,
        Some(_) => return Err(invalid()),
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::IF_MATCH, HeaderValue::from_str(tag).map_err(|_| invalid())?);
    match RelationHeaders::parse(&headers) {
        Ok(parsed) => Ok(parsed.accepted_versions()),
        Err(problems) => Err(problems
            .into_iter()
            .next()
            .map(|p| Problem::new("/ifMatch", p.code, p.message.replace("If-Match", "ifMatch")))
            .unwrap_or_else(invalid)),
    }
}
