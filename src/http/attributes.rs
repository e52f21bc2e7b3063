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

/// One option as sent; on update, include `id` to keep an existing option.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionInput {
    /// Ignored when creating an attribute (ids are assigned); on update, an existing option's id.
    #[serde(default, deserialize_with = "integral")]
    #[schema(value_type = Option<i64>)]
    pub id: Option<i64>,
    #[schema(example = "Lead", min_length = 1, max_length = 255, pattern = "\\S")]
    pub value: String,
    #[schema(example = "warning", max_length = 32)]
    pub color: Option<String>,
}

/// The 13 attribute types (documentation of the `type` field).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum AttributeTypeName {
    Text,
    Number,
    PhoneNumber,
    Date,
    Datetime,
    Checkbox,
    Select,
    Multiselect,
    Rating,
    Relation,
    Status,
    User,
    Currency,
}

/// Relation cardinality seen from the attribute (documentation of `relationType`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum RelationTypeName {
    OneToOne,
    OneToMany,
    ManyToOne,
    ManyToMany,
}

/// How a currency is labelled (documentation of `currencyDisplay`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum CurrencyDisplayName {
    Code,
    Name,
    Symbol,
}

/// A text validation rule (documentation of `validation`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ValidationName {
    Email,
    Url,
}

/// An integer id that may arrive as `7` or `7.0` (both are JSON Schema integers); other
/// numbers cannot name an option and read as "no id".
fn integral<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let number: Option<serde_json::Number> = Option::deserialize(deserializer)?;
    Ok(number.and_then(|n| {
        n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64))
    }))
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
    #[schema(value_type = String, required = true, example = "Products", min_length = 1, max_length = 255, pattern = "\\S")]
    pub label: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = AttributeTypeName, required = true, example = "relation")]
    pub kind: Option<String>,
    pub is_required: Option<bool>,
    pub is_archived: Option<bool>,
    /// Required for text, number and phone_number.
    pub is_unique: Option<bool>,
    /// text: `email` and/or `url`.
    #[schema(value_type = Option<Vec<ValidationName>>)]
    pub validation: Option<Vec<String>>,
    /// Required for select, multiselect and status.
    #[schema(max_items = 500)]
    pub options: Option<Vec<OptionInput>>,
    /// Required for relation.
    #[schema(value_type = Option<RelationTypeName>, example = "many_to_many")]
    pub relation_type: Option<String>,
    /// Required for relation.
    #[schema(example = "products")]
    pub related_object_slug: Option<String>,
    /// Required for relation: label (and key source) of the inverse attribute on the related object.
    #[schema(example = "Orders", min_length = 1, max_length = 255, pattern = "\\S")]
    pub related_object_label: Option<String>,
    /// Required for currency (ISO 4217).
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// Required for currency.
    #[schema(value_type = Option<CurrencyDisplayName>)]
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
    let key = db::attributes::add(&state.pool, org, &object, &new, related.as_deref()).await?;
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
    #[schema(min_length = 1, max_length = 255, pattern = "\\S")]
    pub label: Option<String>,
    pub is_required: Option<bool>,
    /// Archived attributes disappear from records and refuse writes; their data is kept.
    pub is_archived: Option<bool>,
    /// select, multiselect, status: the complete new list. Options keep their id when sent with
    /// it or with an unchanged value; record values of removed options read as null.
    #[schema(min_items = 1, max_items = 500)]
    pub options: Option<Vec<OptionInput>>,
    /// relation: also becomes the label of the inverse attribute.
    #[schema(min_length = 1, max_length = 255, pattern = "\\S")]
    pub related_object_label: Option<String>,
    #[schema(value_type = Option<CurrencyDisplayName>)]
    pub currency_display: Option<String>,
    pub currency_decimal: Option<bool>,
    pub currency_grouping: Option<bool>,
    /// Immutable: sending it is a 400 (so it is not part of the documented body).
    #[serde(rename = "type")]
    #[schema(ignore)]
    pub kind: Option<Value>,
    /// Immutable: sending it is a 400 (so it is not part of the documented body).
    #[schema(ignore)]
    pub key: Option<Value>,
    /// Immutable: sending it is a 400 (so it is not part of the documented body).
    #[schema(ignore)]
    pub is_unique: Option<Value>,
    /// Immutable: sending it is a 400 (so it is not part of the documented body).
    #[schema(ignore)]
    pub validation: Option<Value>,
    /// Immutable: sending it is a 400 (so it is not part of the documented body).
    #[schema(ignore)]
    pub relation_type: Option<Value>,
    /// Immutable: sending it is a 400 (so it is not part of the documented body).
    #[schema(ignore)]
    pub related_object_slug: Option<Value>,
    /// Immutable: sending it is a 400 (so it is not part of the documented body).
    #[schema(ignore)]
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
