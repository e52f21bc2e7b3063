//! `/v2/crm/objects/{slug}/attributes`: adding and changing attribute definitions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::attribute_dto::{CreateAttribute, UpdateAttribute};
use super::auth::{Caller, CrmWrite};
use super::error::{ApiError, ErrorBody};
use super::extract::Json;
use super::lookup;
use super::schema_dto::AttributeDto;
use super::state::AppState;
use crate::db;
use crate::db::attributes::AttributeChanges;
use crate::domain::attribute::AttributeType;
use crate::domain::problem::Problem;
use crate::domain::schema::AttributeDef;
use crate::domain::schema_input::{self, OptionSpec};

/// `{"success": true, "status", "attribute"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttributeEnvelope {
    pub success: bool,
    #[schema(example = 201)]
    pub status: u16,
    pub attribute: AttributeDto,
}

/// Add an attribute to an object
///
/// Adds an attribute to a custom or standard object. The key is derived from the label. A
/// `relation` attribute also creates its inverse on the related object (key derived from
/// `relatedObjectLabel`, mirrored `relationType`); both read and write the same links.
/// Requires `crm:write`.
#[utoipa::path(post, path = "/v2/crm/objects/{slug}/attributes", tag = "objects",
    params(("slug" = String, Path, description = "Object slug.")),
    request_body = CreateAttribute,
    security(("bearer" = ["crm:write"])),
    responses(
        (status = 201, description = "Created.", body = AttributeEnvelope),
        (status = 400, description = "Missing type-specific fields, bad values, unknown related object.", body = ErrorBody),
        (status = 404, description = "No such object.", body = ErrorBody),
        (status = 422, description = "The object (or a relation's related object) has as many attributes as it may, or too many options (`limit_reached`).", body = ErrorBody),
    ))]
pub async fn create_attribute(
    caller: Caller<CrmWrite>,
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Json(body): Json<CreateAttribute>,
) -> Result<(StatusCode, axum::Json<AttributeEnvelope>), ApiError> {
    let org = caller.organization_id;
    let object = lookup::object(&state, org, &slug).await?;
    let new = schema_input::new_attribute(&body.into()).map_err(ApiError::invalid)?;
    let related = match &new.relation {
        Some(relation) => Some(lookup::object(&state, org, &relation.related_object_slug).await.map_err(|_| {
            let message = format!("no object '{}' in this organization", relation.related_object_slug);
            ApiError::invalid(vec![Problem::new("/relatedObjectSlug", "not_found", message)])
        })?),
        None => None,
    };
    let key = db::attributes::add(&state.pool, org, &object, &new, related.as_deref(), &caller.change).await?;
    lookup::schema_changed(&state, org);
    attribute_response(&state, org, &slug, &key, StatusCode::CREATED).await
}

async fn attribute_response(
    state: &AppState,
    org: uuid::Uuid,
    slug: &str,
    key: &str,
    status: StatusCode,
) -> Result<(StatusCode, axum::Json<AttributeEnvelope>), ApiError> {
    let object = lookup::object(state, org, slug).await?;
    let attribute = object.attribute(key).map(AttributeDto::from).ok_or_else(|| ApiError::NotFound(key.into()))?;
    Ok((status, axum::Json(AttributeEnvelope { success: true, status: status.as_u16(), attribute })))
}

/// Update an attribute
///
/// Changes the label, `isRequired`, `isArchived`, the options (full replacement), a relation's
/// `relatedObjectLabel` or a currency's display settings. `type`, `key` and the other
/// type-defining fields are immutable (400); standard attributes cannot be changed (403).
/// Requires `crm:write`.
#[utoipa::path(patch, path = "/v2/crm/objects/{slug}/attributes/{attributeKey}", tag = "objects",
    params(
        ("slug" = String, Path, description = "Object slug."),
        ("attributeKey" = String, Path, description = "The attribute's key."),
    ),
    request_body = UpdateAttribute,
    security(("bearer" = ["crm:write"])),
    responses(
        (status = 200, description = "The updated attribute.", body = AttributeEnvelope),
        (status = 400, description = "Immutable or inapplicable fields, bad values.", body = ErrorBody),
        (status = 403, description = "A standard attribute, or the token lacks `crm:write`.", body = ErrorBody),
        (status = 404, description = "No such object or attribute.", body = ErrorBody),
        (status = 409, description = "The options were changed concurrently; retry.", body = ErrorBody),
        (status = 422, description = "More options than an attribute may have (`limit_reached`).", body = ErrorBody),
    ))]
pub async fn update_attribute(
    caller: Caller<CrmWrite>,
    State(state): State<AppState>,
    Path((slug, key)): Path<(String, String)>,
    Json(body): Json<UpdateAttribute>,
) -> Result<(StatusCode, axum::Json<AttributeEnvelope>), ApiError> {
    let org = caller.organization_id;
    let object = lookup::object(&state, org, &slug).await?;
    let attr = object
        .attribute(&key)
        .ok_or_else(|| ApiError::NotFound(format!("No attribute '{}' on '{slug}'.", super::error::echo(&key))))?;
    if attr.is_standard {
        return Err(ApiError::Forbidden(format!("'{key}' is a standard attribute and cannot be changed.")));
    }
    let changes = attribute_changes(attr, body).map_err(ApiError::invalid)?;
    if !db::attributes::update(&state.pool, org, &object, attr, &changes, &caller.change).await? {
        lookup::schema_changed(&state, org);
        let message = "The attribute's options were changed concurrently; fetch it and retry.".to_owned();
        return Err(ApiError::Conflict { code: "concurrent_change", message, errors: vec![] });
    }
    lookup::schema_changed(&state, org);
    attribute_response(&state, org, &slug, &key, StatusCode::OK).await
}

fn attribute_changes(attr: &AttributeDef, body: UpdateAttribute) -> Result<AttributeChanges, Vec<Problem>> {
    let mut problems = Vec::new();
    let immutable = [
        ("/type", body.kind.is_some()),
        ("/key", body.key.is_some()),
        ("/isUnique", body.is_unique.is_some()),
        ("/validation", body.validation.is_some()),
        ("/relationType", body.relation_type.is_some()),
        ("/relatedObjectSlug", body.related_object_slug.is_some()),
        ("/currency", body.currency.is_some()),
    ];
    for (pointer, _) in immutable.iter().filter(|(_, sent)| *sent) {
        problems.push(Problem::new(*pointer, "immutable", format!("'{}' cannot be changed", &pointer[1..])));
    }
    // Like on create, fields that do not apply to the attribute's type are ignored, but must
    // still be well-formed.
    let currency = attr.kind == AttributeType::Currency;
    let mut changes = AttributeChanges {
        label: body.label.as_deref().map(|l| schema_input::name("/label", l, &mut problems)),
        is_required: body.is_required,
        is_archived: body.is_archived,
        currency_decimal: body.currency_decimal.filter(|_| currency),
        currency_grouping: body.currency_grouping.filter(|_| currency),
        ..Default::default()
    };
    if let Some(options) = body.options {
        let sent: Vec<OptionSpec> = options.into_iter().map(OptionSpec::from).collect();
        if sent.is_empty() {
            problems.push(Problem::new("/options", "required", "at least one option is required"));
        }
        let replaced = schema_input::replace_options(&attr.options, &sent, attr.next_option_id, &mut problems);
        changes.options = attr.kind.has_options().then_some(replaced);
    }
    if let Some(label) = body.related_object_label {
        let label = schema_input::name("/relatedObjectLabel", &label, &mut problems);
        changes.related_object_label = attr.relation.is_some().then_some(label);
    }
    if let Some(display) = body.currency_display {
        let display = schema_input::currency_display(&display, &mut problems);
        changes.currency_display = display.filter(|_| currency);
    }
    if problems.is_empty() { Ok(changes) } else { Err(problems) }
}
