//! Wire shapes of objects and attributes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::timestamp;
use crate::domain::schema::{AttributeDef, ObjectDef};

/// A CRM object (standard or custom) with its attribute definitions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectDto {
    #[schema(example = "products")]
    pub slug: String,
    #[schema(example = "Product")]
    pub singular_name: String,
    #[schema(example = "Products")]
    pub plural_name: String,
    /// `true` for `people` and `companies`.
    pub is_standard: bool,
    pub is_active: bool,
    /// Every attribute in display order, archived ones included.
    pub attributes: Vec<AttributeDto>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

/// An attribute definition; type-specific fields appear only for their types.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeDto {
    /// The key record bodies and `attributeSlug` use; derived from the label, immutable.
    #[schema(example = "products")]
    pub key: String,
    #[schema(example = "Products")]
    pub label: String,
    /// One of text, number, phone_number, date, datetime, checkbox, select, multiselect,
    /// rating, relation, status, user, currency.
    #[serde(rename = "type")]
    #[schema(example = "relation")]
    pub kind: &'static str,
    pub is_required: bool,
    pub is_standard: bool,
    pub is_unique: bool,
    pub is_archived: bool,
    /// text only: `email` and/or `url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<Vec<&'static str>>,
    /// select, multiselect and status only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<OptionDto>>,
    /// relation only: cardinality seen from this attribute.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "many_to_many")]
    pub relation_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "products")]
    pub related_object_slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Orders")]
    pub related_object_label: Option<String>,
    /// relation only: the attribute on the related object showing the same links.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "orders")]
    pub inverse_attribute_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "EUR")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_display: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_decimal: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_grouping: Option<bool>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

/// One option of a select, multiselect or status attribute.
#[derive(Debug, Serialize, ToSchema)]
pub struct OptionDto {
    /// Server-assigned; record values refer to it as `{"id": <id>}`.
    #[schema(example = 1)]
    pub id: i64,
    #[schema(example = "Lead")]
    pub value: String,
    #[schema(example = "warning")]
    pub color: Option<String>,
}

impl From<&ObjectDef> for ObjectDto {
    fn from(o: &ObjectDef) -> ObjectDto {
        ObjectDto {
            slug: o.slug.clone(),
            singular_name: o.singular_name.clone(),
            plural_name: o.plural_name.clone(),
            is_standard: o.is_standard,
            is_active: o.is_active,
            attributes: o.attributes.iter().map(AttributeDto::from).collect(),
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

impl From<&AttributeDef> for AttributeDto {
    fn from(a: &AttributeDef) -> AttributeDto {
        let relation = a.relation.as_ref();
        let currency = a.currency.as_ref();
        AttributeDto {
            key: a.key.clone(),
            label: a.label.clone(),
            kind: a.kind.as_str(),
            is_required: a.is_required,
            is_standard: a.is_standard,
            is_unique: a.is_unique,
            is_archived: a.is_archived,
            validation: (a.kind == crate::domain::attribute::AttributeType::Text)
                .then(|| a.validation.iter().map(|v| v.as_str()).collect()),
            options: a.kind.has_options().then(|| {
                a.options
                    .iter()
                    .map(|o| OptionDto { id: o.id, value: o.value.clone(), color: o.color.clone() })
                    .collect()
            }),
            relation_type: relation.map(|r| r.relation_type.as_str()),
            related_object_slug: relation.map(|r| r.related_object_slug.clone()),
            related_object_label: relation.map(|r| r.related_object_label.clone()),
            inverse_attribute_key: relation.and_then(|r| r.inverse_key.clone()),
            currency: currency.map(|c| c.currency.clone()),
            currency_display: currency.map(|c| c.display.as_str()),
            currency_decimal: currency.map(|c| c.decimal),
            currency_grouping: currency.map(|c| c.grouping),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}
