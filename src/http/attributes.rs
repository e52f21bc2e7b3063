//! `/v2/crm/objects/{slug}/attributes`: adding and changing attribute definitions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

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
use crate::domain::schema_input::{self, AttributeSpec, OptionSpec};

/// `{"success": true, "status", "attribute"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttributeEnvelope {
    pub success: bool,
    #[schema(example = 201)]
    pub status: u16,
    pub attribute: AttributeDto,
}

/// One option as sent; include `id` to keep an existing option when replacing the list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionInput {
    pub id: Option<i64>,
    #[schema(example = "Lead", max_length = 255)]
    pub value: String,
    #[schema(example = "warning", max_length = 32)]
    pub color: Option<String>,
}

impl From<OptionInput> for OptionSpec {
    fn from(o: OptionInput) -> OptionSpec {
        OptionSpec { id: o.id, value: o.value, color: o.color }
    }
}

/// Body of `POST /v2/crm/objects/{slug}/attributes`. Fields that do not apply to the type are ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAttribute {
    /// The key is derived from it in snake_case (`_2`, `_3`… on collision).
    #[schema(example = "Products", max_length = 255)]
    pub label: Option<String>,
    #[serde(rename = "type")]
    #[schema(example = "relation")]
    pub kind: Option<String>,
    pub is_required: Option<bool>,
    pub is_archived: Option<bool>,
    /// Required for text, number and phone_number.
    pub is_unique: Option<bool>,
    /// text: `email` and/or `url`.
    pub validation: Option<Vec<String>>,
    /// Required for select, multiselect and status.
    pub options: Option<Vec<OptionInput>>,
    /// Required for relation: one_to_one, one_to_many, many_to_one, many_to_many.
    #[schema(example = "many_to_many")]
    pub relation_type: Option<String>,
    /// Required for relation.
    #[schema(example = "products")]
    pub related_object_slug: Option<String>,
    /// Required for relation: label (and key source) of the inverse attribute on the related object.
    #[schema(example = "Orders")]
    pub related_object_label: Option<String>,
    /// Required for currency (ISO 4217).
    #[schema(example = "EUR")]
    pub currency: Option<String>,
    /// Required for currency: code, name or symbol.
    pub currency_display: Option<String>,
    /// Required for currency.
    pub currency_decimal: Option<bool>,
    /// Required for currency.
    pub currency_grouping: Option<bool>,
}

impl From<CreateAttribute> for AttributeSpec {
    fn from(b: CreateAttribute) -> AttributeSpec {
        AttributeSpec {
            label: b.label,
            kind: b.kind,
            is_required: b.is_required,
            is_archived: b.is_archived,
            is_unique: b.is_unique,
            validation: b.validation,
            options: b.options.map(|o| o.into_iter().map(OptionSpec::from).collect()),
            relation_type: b.relation_type,
            related_object_slug: b.related_object_slug,
            related_object_label: b.related_object_label,
            currency: b.currency,
            currency_display: b.currency_display,
            currency_decimal: b.currency_decimal,
            currency_grouping: b.currency_grouping,
        }
    }
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
        (status = 401, description = "Missing or invalid token.", body = ErrorBody),
        (status = 403, description = "The token lacks `crm:write`.", body = ErrorBody),
        (status = 404, description = "No such object.", body = ErrorBody),
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
    let key = db::attributes::add(&state.pool, org, &object, &new, related.as_ref()).await?;
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

/// Body of `PATCH /v2/crm/objects/{slug}/attributes/{attributeKey}`: only the fields sent change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateAttribute {
    #[schema(max_length = 255)]
    pub label: Option<String>,
    pub is_required: Option<bool>,
    /// Archived attributes disappear from records and refuse writes; their data is kept.
    pub is_archived: Option<bool>,
    /// select, multiselect, status: the complete new list. Options keep their id when sent with
    /// it or with an unchanged value; record values of removed options read as null.
    pub options: Option<Vec<OptionInput>>,
    /// relation: also becomes the label of the inverse attribute.
    pub related_object_label: Option<String>,
    pub currency_display: Option<String>,
    pub currency_decimal: Option<bool>,
    pub currency_grouping: Option<bool>,
    /// Immutable: sending it is a 400.
    #[serde(rename = "type")]
    #[schema(value_type = Option<String>)]
    pub kind: Option<Value>,
    /// Immutable: sending it is a 400.
    #[schema(value_type = Option<String>)]
    pub key: Option<Value>,
    /// Immutable: sending it is a 400.
    #[schema(value_type = Option<bool>)]
    pub is_unique: Option<Value>,
    /// Immutable: sending it is a 400.
    #[schema(value_type = Option<Vec<String>>)]
    pub validation: Option<Value>,
    /// Immutable: sending it is a 400.
    #[schema(value_type = Option<String>)]
    pub relation_type: Option<Value>,
    /// Immutable: sending it is a 400.
    #[schema(value_type = Option<String>)]
    pub related_object_slug: Option<Value>,
    /// Immutable: sending it is a 400.
    #[schema(value_type = Option<String>)]
    pub currency: Option<Value>,
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
        (status = 401, description = "Missing or invalid token.", body = ErrorBody),
        (status = 403, description = "A standard attribute, or the token lacks `crm:write`.", body = ErrorBody),
        (status = 404, description = "No such object or attribute.", body = ErrorBody),
        (status = 409, description = "The options were changed concurrently; retry.", body = ErrorBody),
    ))]
pub async fn update_attribute(
    caller: Caller<CrmWrite>,
    State(state): State<AppState>,
    Path((slug, key)): Path<(String, String)>,
    Json(body): Json<UpdateAttribute>,
) -> Result<(StatusCode, axum::Json<AttributeEnvelope>), ApiError> {
    let org = caller.organization_id;
    let object = lookup::object(&state, org, &slug).await?;
    let attr =
        object.attribute(&key).ok_or_else(|| ApiError::NotFound(format!("No attribute '{key}' on '{slug}'.")))?;
    if attr.is_standard {
        return Err(ApiError::Forbidden(format!("'{key}' is a standard attribute and cannot be changed.")));
    }
    let changes = attribute_changes(attr, body).map_err(ApiError::invalid)?;
    if !db::attributes::update(&state.pool, org, attr, &changes).await? {
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
    let mut applies = |pointer: &str, sent: bool, fits: bool| {
        if sent && !fits {
            let message = format!("'{}' does not apply to a {} attribute", &pointer[1..], attr.kind);
            problems.push(Problem::new(pointer, "not_applicable", message));
        }
        sent && fits
    };
    let currency = attr.kind == AttributeType::Currency;
    let options_ok = applies("/options", body.options.is_some(), attr.kind.has_options());
    let label_ok = applies("/relatedObjectLabel", body.related_object_label.is_some(), attr.relation.is_some());
    let display_ok = applies("/currencyDisplay", body.currency_display.is_some(), currency);
    let decimal_ok = applies("/currencyDecimal", body.currency_decimal.is_some(), currency);
    let grouping_ok = applies("/currencyGrouping", body.currency_grouping.is_some(), currency);
    let mut changes = AttributeChanges {
        label: body.label.as_deref().map(|l| schema_input::name("/label", l, &mut problems)),
        is_required: body.is_required,
        is_archived: body.is_archived,
        currency_decimal: body.currency_decimal.filter(|_| decimal_ok),
        currency_grouping: body.currency_grouping.filter(|_| grouping_ok),
        ..Default::default()
    };
    if let (true, Some(options)) = (options_ok, body.options) {
        let sent: Vec<OptionSpec> = options.into_iter().map(OptionSpec::from).collect();
        if sent.is_empty() {
            problems.push(Problem::new("/options", "required", "at least one option is required"));
        }
        changes.options = Some(schema_input::replace_options(&attr.options, &sent, attr.next_option_id, &mut problems));
    }
    if let (true, Some(label)) = (label_ok, body.related_object_label) {
        changes.related_object_label = Some(schema_input::name("/relatedObjectLabel", &label, &mut problems));
    }
    if let (true, Some(display)) = (display_ok, body.currency_display) {
        changes.currency_display = schema_input::currency_display(&display, &mut problems);
    }
    if problems.is_empty() { Ok(changes) } else { Err(problems) }
}
