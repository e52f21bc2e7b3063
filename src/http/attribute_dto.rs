//! Request bodies of the attribute endpoints, and the enums that document their text fields.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::attribute::{AttributeType, CurrencyDisplay, RelationType, TextValidation};
use crate::domain::schema_input::{AttributeSpec, OptionSpec};

/// One option as sent; on update, include `id` to keep an existing option.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionInput {
    /// Ignored when creating an attribute (ids are assigned); on update, an existing option's id.
    #[serde(default, deserialize_with = "integral")]
    #[schema(value_type = Option<i64>)]
    pub id: Option<i64>,
    #[schema(
        example = "Lead",
        min_length = 1,
        max_length = 255,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub value: String,
    #[schema(example = "warning", max_length = 32, pattern = "^[^\\u0000]*$")]
    pub color: Option<String>,
}

/// A string enum for the document whose values are the domain enum's wire names, so the two
/// cannot drift (the domain stays free of utoipa).
macro_rules! names_schema {
    ($name:ident, $description:literal, $all:expr) => {
        #[doc = $description]
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some($description))
                    .enum_values(Some($all.into_iter().map(|v| v.as_str())))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

names_schema!(AttributeTypeName, "The 13 attribute types (documentation of the `type` field).", AttributeType::ALL);
names_schema!(
    RelationTypeName,
    "Relation cardinality seen from the attribute (documentation of `relationType`).",
    RelationType::ALL
);
names_schema!(
    CurrencyDisplayName,
    "How a currency is labelled (documentation of `currencyDisplay`).",
    CurrencyDisplay::ALL
);
names_schema!(ValidationName, "A text validation rule (documentation of `validation`).", TextValidation::ALL);

/// An integer id (`7`, or `7.0`: both are JSON Schema integers, within int64); anything else
/// is refused rather than read as "no id".
fn integral<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    match Option::<serde_json::Number>::deserialize(deserializer)? {
        None => Ok(None),
        Some(n) => crate::domain::value::option_id(&Value::Number(n))
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("an option id must be an integer within int64")),
    }
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
    #[schema(value_type = String, required = true, example = "Products", min_length = 1, max_length = 255, pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$")]
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
    #[schema(
        example = "Orders",
        min_length = 1,
        max_length = 255,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
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

/// Body of `PATCH /v2/crm/objects/{slug}/attributes/{attributeKey}`: only the fields sent change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateAttribute {
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub label: Option<String>,
    pub is_required: Option<bool>,
    /// Archived attributes disappear from records and refuse writes; their data is kept.
    pub is_archived: Option<bool>,
    /// select, multiselect, status: the complete new list. Options keep their id when sent with
    /// it or with an unchanged value; record values of removed options read as null.
    #[schema(min_items = 1, max_items = 500)]
    pub options: Option<Vec<OptionInput>>,
    /// relation: also becomes the label of the inverse attribute.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
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

/// States in the document which fields each attribute type requires (what `new_attribute`
/// checks), as one alternative per group of types.
pub struct TypeSpecificFields;

impl utoipa::Modify for TypeSpecificFields {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{AllOfBuilder, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
        let Some(schemas) = openapi.components.as_mut().map(|c| &mut c.schemas) else { return };
        let Some(base) = schemas.get("CreateAttribute").cloned() else { return };
        let string = || Schema::from(ObjectBuilder::new().schema_type(Type::String));
        let flag = || Schema::from(ObjectBuilder::new().schema_type(Type::Boolean));
        // The groups come from the predicates `new_attribute` checks, so the two cannot drift.
        let of = |pick: fn(AttributeType) -> bool| AttributeType::ALL.into_iter().filter(move |t| pick(*t));
        let group = |types: &mut dyn Iterator<Item = AttributeType>, fields: Vec<(&str, Schema)>| {
            let kind =
                ObjectBuilder::new().schema_type(Type::String).enum_values(Some(types.map(AttributeType::as_str)));
            let mut group = ObjectBuilder::new().property("type", kind);
            for (name, schema) in fields {
                group = group.property(name, schema).required(name);
            }
            group
        };
        let options = Schema::from(ArrayBuilder::new().items(ObjectBuilder::new()).min_items(Some(1)));
        let alternatives = OneOfBuilder::new()
            .item(group(&mut of(AttributeType::can_be_unique), vec![("isUnique", flag())]))
            .item(group(&mut of(AttributeType::has_options), vec![("options", options)]))
            .item(group(
                &mut of(|t| t == AttributeType::Relation),
                vec![("relationType", string()), ("relatedObjectSlug", string()), ("relatedObjectLabel", string())],
            ))
            .item(group(
                &mut of(|t| t == AttributeType::Currency),
                vec![
                    ("currency", string()),
                    ("currencyDisplay", string()),
                    ("currencyDecimal", flag()),
                    ("currencyGrouping", flag()),
                ],
            ))
            .item(group(
                &mut of(|t| {
                    !t.can_be_unique()
                        && !t.has_options()
                        && !matches!(t, AttributeType::Relation | AttributeType::Currency)
                }),
                vec![],
            ));
        let combined = AllOfBuilder::new().item(base).item(alternatives).description(Some(
            "Type-specific fields are required per type (see the alternatives); fields that do not apply to the \
             type are ignored but must be well-formed.",
        ));
        schemas.insert("CreateAttribute".into(), RefOr::T(combined.into()));
    }
}
