//! `/v2/crm/{objectSlug}` and `/v2/crm/{objectSlug}/{recordId}`: records of any object (the
//! assert is in `record_assert`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Caller, CrmRead, CrmWrite};
use super::error::{ApiError, ErrorBody};
use super::extract::Json;
use super::lookup;
use super::pagination::{CountQuery, Pagination, page_request};
use super::record_dto::{RecordDto, render_rows, with_etag};
use super::state::AppState;
use crate::db;
use crate::db::records::RecordRow;
use crate::domain::pagination::PageInfo;
use crate::domain::record_input;
use crate::domain::schema::ObjectDef;

/// `{"success": true, "status", "record"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordEnvelope {
    pub success: bool,
    #[schema(example = 200)]
    pub status: u16,
    pub record: RecordDto,
}

/// A page of records.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordList {
    pub success: bool,
    #[schema(example = 200)]
    pub status: u16,
    pub collection: Vec<RecordDto>,
    pub pagination: Pagination,
}

/// `{"success": true, "status": 200, "message": "Record deleted."}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageEnvelope {
    pub success: bool,
    #[schema(example = 200)]
    pub status: u16,
    #[schema(example = "Record deleted.")]
    pub message: String,
}

/// Renders one record (reading its links) into the envelope, with its ETag.
pub(super) async fn respond(
    state: &AppState,
    org: Uuid,
    object: &ObjectDef,
    row: RecordRow,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let record = render_rows(&state.pool, org, object, std::slice::from_ref(&row)).await?.remove(0);
    let body = RecordEnvelope { success: true, status: status.as_u16(), record };
    Ok(with_etag(row.version, (status, axum::Json(body))))
}

/// List records
///
/// Records of one object, newest first, with relation and user values. Requires `crm:read`.
#[utoipa::path(get, path = "/v2/crm/{objectSlug}", tag = "records",
    params(("objectSlug" = String, Path, description = "Object slug, e.g. `products`."), CountQuery),
    security(("bearer" = ["crm:read"])),
    responses(
        (status = 200, description = "One page of records.", body = RecordList),
        (status = 400, description = "`count` or `page` out of range.", body = ErrorBody),
        (status = 404, description = "No such object.", body = ErrorBody),
    ))]
pub async fn list_records(
    caller: Caller<CrmRead>,
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<CountQuery>,
) -> Result<axum::Json<RecordList>, ApiError> {
    let request = page_request("count", query.count.as_deref(), query.page.as_deref())?;
    let org = caller.organization_id;
    let object = lookup::object(&state, org, &slug).await?;
    let (rows, total) =
        db::records::list(&state.pool, org, object.object_id, request.size().into(), request.offset()).await?;
    let collection = render_rows(&state.pool, org, &object, &rows).await?;
    let info = PageInfo::new(request, total, collection.len());
    let pagination = Pagination::new(info, request, &format!("/v2/crm/{slug}"), "count");
    Ok(axum::Json(RecordList { success: true, status: 200, collection, pagination }))
}

/// Create a record
///
/// Creates a record from a flat object of attribute keys to values; omitted attributes are
/// null. Relation values are arrays of record UUIDs of the related object, user values arrays of
/// member UUIDs. Requires `crm:write`.
#[utoipa::path(post, path = "/v2/crm/{objectSlug}", tag = "records",
    params(("objectSlug" = String, Path, description = "Object slug.")),
    request_body(content = HashMap<String, serde_json::Value>, description = "Attribute keys to values.",
        example = json!({"name": "Linen dress", "price": 29, "sku": "DRESS-001"})),
    security(("bearer" = ["crm:write"])),
    responses(
        (status = 201, description = "Created.", body = RecordEnvelope, headers(("ETag" = String, description = "The record version."))),
        (status = 400, description = "Invalid values, unknown keys, missing required values, unique violations, unknown link targets.", body = ErrorBody),
        (status = 404, description = "No such object.", body = ErrorBody),
        (status = 409, description = "A relation's cardinality would be exceeded.", body = ErrorBody),
    ))]
pub async fn create_record(
    caller: Caller<CrmWrite>,
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let org = caller.organization_id;
    let object = lookup::object(&state, org, &slug).await?;
    let write = record_input::parse(&object, &body).map_err(ApiError::invalid)?;
    let missing = record_input::missing_required(&object, &write);
    if !missing.is_empty() {
        return Err(ApiError::invalid(missing));
    }
    let row = db::record_write::create(&state.pool, org, &object, &write, &caller.change).await?;
    respond(&state, org, &object, row, StatusCode::CREATED).await
}

/// Get a record
///
/// One record with relation and user values from both sides of each relation. Requires `crm:read`.
#[utoipa::path(get, path = "/v2/crm/{objectSlug}/{recordId}", tag = "records",
    params(
        ("objectSlug" = String, Path, description = "Object slug."),
        ("recordId" = Uuid, Path, description = "Record id."),
    ),
    security(("bearer" = ["crm:read"])),
    responses(
        (status = 200, description = "The record.", body = RecordEnvelope, headers(("ETag" = String, description = "The record version."))),
        (status = 404, description = "No such object or record.", body = ErrorBody),
    ))]
pub async fn get_record(
    caller: Caller<CrmRead>,
    State(state): State<AppState>,
    Path((slug, record)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = caller.organization_id;
    let object = lookup::object(&state, org, &slug).await?;
    let record_id = lookup::record_id(&record)?;
    let mut conn = state.pool.acquire().await?;
    let row = db::records::find(&mut conn, org, object.object_id, record_id)
        .await?
        .ok_or_else(|| not_found(&slug, record_id))?;
    drop(conn);
    respond(&state, org, &object, row, StatusCode::OK).await
}

fn not_found(slug: &str, record_id: Uuid) -> ApiError {
    ApiError::NotFound(format!("No record {record_id} in '{slug}'."))
}

/// Patch a record
///
/// Changes only the keys sent. Relation and user values are replaced wholesale (applied as a set
/// difference: links that stay are untouched). To add or remove single links use
/// `PATCH /v2/crm/{objectSlug}/{recordId}/relation` instead. Requires `crm:write`.
#[utoipa::path(patch, path = "/v2/crm/{objectSlug}/{recordId}", tag = "records",
    params(
        ("objectSlug" = String, Path, description = "Object slug."),
        ("recordId" = Uuid, Path, description = "Record id."),
    ),
    request_body(content = HashMap<String, serde_json::Value>, description = "Attribute keys to new values; null clears.",
        example = json!({"price": 35, "products": ["c1d2e3f4-a5b6-7890-cdef-123456789012"]})),
    security(("bearer" = ["crm:write"])),
    responses(
        (status = 200, description = "The updated record.", body = RecordEnvelope, headers(("ETag" = String, description = "The record version."))),
        (status = 400, description = "Invalid values, unknown keys, unique violations, unknown link targets.", body = ErrorBody),
        (status = 404, description = "No such object or record.", body = ErrorBody),
        (status = 409, description = "A relation's cardinality would be exceeded.", body = ErrorBody),
    ))]
pub async fn patch_record(
    caller: Caller<CrmWrite>,
    State(state): State<AppState>,
    Path((slug, record)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let org = caller.organization_id;
    let object = lookup::object(&state, org, &slug).await?;
    let record_id = lookup::record_id(&record)?;
    let write = record_input::parse(&object, &body).map_err(ApiError::invalid)?;
    let row = db::record_write::patch(&state.pool, org, &object, record_id, &write, &caller.change)
        .await?
        .ok_or_else(|| not_found(&slug, record_id))?;
    respond(&state, org, &object, row, StatusCode::OK).await
}

/// Delete a record
///
/// Deletes the record for good, with its links in both directions. A second DELETE is a 404.
/// Requires `crm:write`.
#[utoipa::path(delete, path = "/v2/crm/{objectSlug}/{recordId}", tag = "records",
    params(
        ("objectSlug" = String, Path, description = "Object slug."),
        ("recordId" = Uuid, Path, description = "Record id."),
    ),
    security(("bearer" = ["crm:write"])),
    responses(
        (status = 200, description = "Deleted.", body = MessageEnvelope),
        (status = 404, description = "No such object or record.", body = ErrorBody),
    ))]
pub async fn delete_record(
    caller: Caller<CrmWrite>,
    State(state): State<AppState>,
    Path((slug, record)): Path<(String, String)>,
) -> Result<axum::Json<MessageEnvelope>, ApiError> {
    let org = caller.organization_id;
    let object = lookup::object(&state, org, &slug).await?;
    let record_id = lookup::record_id(&record)?;
    if !db::records::delete(&state.pool, org, &object, record_id, &caller.change).await? {
        return Err(not_found(&slug, record_id));
    }
    Ok(axum::Json(MessageEnvelope { success: true, status: 200, message: "Record deleted.".into() }))
}
