//! `PUT /v2/crm/{objectSlug}`: assert (upsert) a record by one of its attributes, and the
//! methods that path lacks.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::auth::{Caller, CrmRead, CrmWrite};
use super::error::{ApiError, ErrorBody};
use super::extract::Json;
use super::lookup;
use super::records::{RecordEnvelope, respond};
use super::state::AppState;
use crate::db;
use crate::domain::problem::Problem;
use crate::domain::record_input;
use crate::domain::schema::{AttributeDef, ObjectDef};

/// Query of `PUT /v2/crm/{objectSlug}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct AssertQuery {
    /// Key of the attribute to match on, e.g. `sku`; the body must carry its value.
    #[param(required = true, min_length = 1)]
    pub matching_attribute: Option<String>,
}

/// Assert (upsert) a record
///
/// Finds the first record whose `matchingAttribute` equals the body's value and updates it with
/// the body (200; omitted keys unchanged), or creates a record (201; required attributes apply).
/// Concurrent asserts of the same value never create duplicates. Requires `crm:write`.
#[utoipa::path(put, path = "/v2/crm/{objectSlug}", tag = "records",
    params(("objectSlug" = String, Path, description = "Object slug."), AssertQuery),
    request_body(content = HashMap<String, serde_json::Value>, description = "Attribute keys to values, including the matching attribute.",
        example = json!({"sku": "DRESS-001", "price": 35})),
    security(("bearer" = ["crm:write"])),
    responses(
        (status = 200, description = "Updated the matching record.", body = RecordEnvelope, headers(("ETag" = String, description = "The record version."))),
        (status = 201, description = "Created a record.", body = RecordEnvelope, headers(("ETag" = String, description = "The record version."))),
        (status = 400, description = "Missing or unknown matchingAttribute, no matching value in the body, invalid values.", body = ErrorBody),
        (status = 404, description = "No such object.", body = ErrorBody),
        (status = 405, description = "The object has no attribute an assert can match on (`Allow` lists the methods it has).", body = ErrorBody),
        (status = 409, description = "A relation's cardinality would be exceeded.", body = ErrorBody),
    ))]
pub async fn assert_record(
    caller: Caller<CrmWrite>,
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<AssertQuery>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let org = caller.organization_id;
    let object = lookup::object(&state, org, &slug).await?;
    if object.matchable_attributes().next().is_none() {
        return Ok(method_not_allowed(false));
    }
    let write = record_input::parse(&object, &body).map_err(ApiError::invalid)?;
    let matching = matching_attribute(&object, query.matching_attribute.as_deref())?;
    let value = match write.scalar(&matching.key) {
        Some(v) if !v.is_null() => v.clone(),
        _ => {
            let message = format!("the body must carry a non-null '{}' to match on", matching.key);
            return Err(ApiError::invalid(vec![Problem::new(format!("/{}", matching.key), "required", message)]));
        }
    };
    let missing = record_input::missing_required(&object, &write);
    let (row, created) =
        db::record_write::assert(&state.pool, org, &object, (matching, &value), &write, missing, &caller.change)
            .await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    respond(&state, org, &object, row, status).await
}

fn matching_attribute<'a>(object: &'a ObjectDef, key: Option<&str>) -> Result<&'a AttributeDef, ApiError> {
    let problem =
        |message: String| ApiError::invalid(vec![Problem::new("matchingAttribute", "invalid_value", message)]);
    let key = key
        .filter(|k| !k.is_empty())
        .ok_or_else(|| problem("the query parameter 'matchingAttribute' is required".into()))?;
    if let Some(a) = object.matchable_attributes().find(|a| a.key == key) {
        return Ok(a);
    }
    match object.attribute(key) {
        Some(a) => Err(problem(format!("cannot match on '{key}' ({} attributes cannot be matched)", a.kind))),
        None => Err(problem(format!("'{}' has no attribute '{key}'", object.slug))),
    }
}

/// Methods `/v2/crm/{objectSlug}` lacks: 405 with the `Allow` of this object, which has no `PUT`
/// without an attribute to match on (its workspace document has none). Without a usable token
/// the object is unknown, and `Allow` lists every method the path can have.
pub async fn other_method(
    caller: Result<Caller<CrmRead>, ApiError>,
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Response {
    let assert = match caller {
        Ok(caller) => lookup::object(&state, caller.organization_id, &slug)
            .await
            .map_or(true, |object| object.matchable_attributes().next().is_some()),
        Err(_) => true,
    };
    method_not_allowed(assert)
}

/// 405 as the router answers it (the middleware adds the error envelope).
fn method_not_allowed(assert: bool) -> Response {
    let allow = if assert { "GET,HEAD,POST,PUT" } else { "GET,HEAD,POST" };
    axum::response::IntoResponse::into_response((StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, allow)]))
}
