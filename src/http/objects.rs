//! `/v2/crm/objects`: the organization's objects and their schemas.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Caller, CrmRead, CrmWrite};
use super::error::{ApiError, ErrorBody};
use super::extract::Json;
use super::lookup;
use super::schema_dto::ObjectDto;
use super::state::AppState;
use crate::db;
use crate::domain::problem::Problem;
use crate::domain::schema_input;

/// `{"success": true, "status", "object"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectEnvelope {
    pub success: bool,
    #[schema(example = 200)]
    pub status: u16,
    pub object: ObjectDto,
}

/// Every object of the organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectList {
    pub success: bool,
    #[schema(example = 200)]
    pub status: u16,
    pub collection: Vec<ObjectDto>,
}

fn envelope(status: StatusCode, object: ObjectDto) -> (StatusCode, axum::Json<ObjectEnvelope>) {
    (status, axum::Json(ObjectEnvelope { success: true, status: status.as_u16(), object }))
}

/// List objects
///
/// Every object of the organization, standard (`people`, `companies`) first, each with its
/// complete attribute schema. Requires `crm:read`.
#[utoipa::path(get, path = "/v2/crm/objects", tag = "objects",
    security(("bearer" = ["crm:read"])),
    responses(
        (status = 200, description = "The objects.", body = ObjectList),
    ))]
pub async fn list_objects(
    caller: Caller<CrmRead>,
    State(state): State<AppState>,
) -> Result<axum::Json<ObjectList>, ApiError> {
    let objects = db::schema::load(&state.pool, caller.organization_id, None).await?;
    let collection = objects.iter().map(ObjectDto::from).collect();
    Ok(axum::Json(ObjectList { success: true, status: 200, collection }))
}

/// Body of `POST /v2/crm/objects`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateObject {
    /// 3–60 characters of `a-z`, `0-9`, `_`, `-`, starting with a letter; unique; immutable.
    /// Reserved: people, companies, objects.
    #[schema(value_type = String, required = true, example = "products", min_length = 3, max_length = 60, pattern = "^(?!(people|companies|objects)$)[a-z][a-z0-9_-]{2,59}$")]
    pub slug: Option<String>,
    #[schema(value_type = String, required = true, example = "Product", min_length = 1, max_length = 255, pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$")]
    pub singular_name: Option<String>,
    #[schema(value_type = String, required = true, example = "Products", min_length = 1, max_length = 255, pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$")]
    pub plural_name: Option<String>,
    /// Defaults to true.
    pub is_active: Option<bool>,
}

/// Create a custom object
///
/// Creates a custom object with the system attributes `id`, `created_at` and `updated_at`.
/// Add attributes with `POST /v2/crm/objects/{slug}/attributes`. Requires `crm:write`.
#[utoipa::path(post, path = "/v2/crm/objects", tag = "objects",
    request_body = CreateObject,
    security(("bearer" = ["crm:write"])),
    responses(
        (status = 201, description = "Created.", body = ObjectEnvelope),
        (status = 400, description = "Invalid or reserved slug, missing or too long names.", body = ErrorBody),
        (status = 409, description = "An object with this slug exists.", body = ErrorBody),
        (status = 422, description = "The organization has as many objects as it may (`limit_reached`).", body = ErrorBody),
    ))]
pub async fn create_object(
    caller: Caller<CrmWrite>,
    State(state): State<AppState>,
    Json(body): Json<CreateObject>,
) -> Result<(StatusCode, axum::Json<ObjectEnvelope>), ApiError> {
    let mut problems = Vec::new();
    let slug = match &body.slug {
        Some(slug) => schema_input::object_slug(slug, &mut problems),
        None => required(&mut problems, "/slug"),
    };
    let singular = name_field(&body.singular_name, "/singularName", &mut problems);
    let plural = name_field(&body.plural_name, "/pluralName", &mut problems);
    let (Some(slug), true) = (slug, problems.is_empty()) else {
        return Err(ApiError::invalid(problems));
    };
    let new = db::objects::NewObject {
        slug: &slug,
        singular_name: &singular,
        plural_name: &plural,
        is_active: body.is_active.unwrap_or(true),
    };
    db::objects::create(&state.pool, caller.organization_id, &new, &caller.change).await.map_err(|e| match e {
        db::objects::CreateError::DuplicateSlug(_) => ApiError::Conflict {
            code: "duplicate_slug",
            message: format!("An object with slug '{slug}' already exists."),
            errors: vec![],
        },
        db::objects::CreateError::Database(e) => e.into(),
    })?;
    lookup::schema_changed(&state, caller.organization_id);
    let object = lookup::object(&state, caller.organization_id, slug.as_str()).await?;
    Ok(envelope(StatusCode::CREATED, ObjectDto::from(&*object)))
}

fn required<T>(problems: &mut Vec<Problem>, pointer: &str) -> Option<T> {
    problems.push(Problem::new(pointer, "required", format!("'{}' is required", &pointer[1..])));
    None
}

fn name_field(raw: &Option<String>, pointer: &str, problems: &mut Vec<Problem>) -> String {
    match raw {
        Some(raw) => schema_input::name(pointer, raw, problems),
        None => {
            required::<()>(problems, pointer);
            String::new()
        }
    }
}

/// Get an object's schema
///
/// One object with every attribute: types, options of select attributes, relation metadata
/// (`relationType`, `relatedObjectSlug`, `relatedObjectLabel`, `inverseAttributeKey`). Use it to
/// find the `attributeSlug` for the relation endpoint. Requires `crm:read`.
#[utoipa::path(get, path = "/v2/crm/objects/{slug}", tag = "objects",
    params(("slug" = String, Path, description = "Object slug, e.g. `products` or `people`.")),
    security(("bearer" = ["crm:read"])),
    responses(
        (status = 200, description = "The object.", body = ObjectEnvelope),
        (status = 404, description = "No such object in this organization.", body = ErrorBody),
    ))]
pub async fn get_object(
    caller: Caller<CrmRead>,
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<(StatusCode, axum::Json<ObjectEnvelope>), ApiError> {
    let object = lookup::object(&state, caller.organization_id, &slug).await?;
    Ok(envelope(StatusCode::OK, ObjectDto::from(&*object)))
}

/// Body of `PATCH /v2/crm/objects/{slug}`: only the names can change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateObject {
    #[schema(
        example = "Item",
        min_length = 1,
        max_length = 255,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub singular_name: Option<String>,
    #[schema(
        example = "Items",
        min_length = 1,
        max_length = 255,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub plural_name: Option<String>,
}

/// Rename a custom object
///
/// Changes `singularName` and/or `pluralName`; the slug is immutable. Standard objects cannot be
/// changed (403). Requires `crm:write`.
#[utoipa::path(patch, path = "/v2/crm/objects/{slug}", tag = "objects",
    params(("slug" = String, Path, description = "Slug of a custom object.")),
    request_body = UpdateObject,
    security(("bearer" = ["crm:write"])),
    responses(
        (status = 200, description = "The renamed object.", body = ObjectEnvelope),
        (status = 400, description = "Blank or too long names, or unknown fields.", body = ErrorBody),
        (status = 403, description = "A standard object, or the token lacks `crm:write`.", body = ErrorBody),
        (status = 404, description = "No such object.", body = ErrorBody),
    ))]
pub async fn update_object(
    caller: Caller<CrmWrite>,
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Json(body): Json<UpdateObject>,
) -> Result<(StatusCode, axum::Json<ObjectEnvelope>), ApiError> {
    let object = lookup::object(&state, caller.organization_id, &slug).await?;
    if object.is_standard {
        return Err(ApiError::Forbidden(format!("'{slug}' is a standard object; its metadata cannot be changed.")));
    }
    let mut problems = Vec::new();
    let singular = body.singular_name.as_deref().map(|n| schema_input::name("/singularName", n, &mut problems));
    let plural = body.plural_name.as_deref().map(|n| schema_input::name("/pluralName", n, &mut problems));
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let (org, id) = (caller.organization_id, object.object_id);
    db::objects::rename(&state.pool, org, id, singular.as_deref(), plural.as_deref(), &caller.change).await?;
    lookup::schema_changed(&state, caller.organization_id);
    let object = lookup::object(&state, caller.organization_id, &slug).await?;
    Ok(envelope(StatusCode::OK, ObjectDto::from(&*object)))
}
