//! Loading the CRM schema: objects with every attribute, in one query.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::attribute::{CurrencyDisplay, RelationSide, SelectOption};
use crate::domain::schema::{AttributeDef, CurrencyDef, ObjectDef, RelationDef};

#[derive(sqlx::FromRow)]
struct Row {
    object_id: Uuid,
    slug: String,
    singular_name: String,
    plural_name: String,
    object_is_standard: bool,
    is_active: bool,
    object_created_at: DateTime<Utc>,
    object_updated_at: DateTime<Utc>,
    attribute_id: Uuid,
    key: String,
    label: String,
    r#type: String,
    is_required: bool,
    is_unique: bool,
    is_standard: bool,
    is_system: bool,
    is_archived: bool,
    validation: Vec<String>,
    options: Json<Vec<SelectOption>>,
    next_option_id: i64,
    relation_id: Option<Uuid>,
    relation_side: Option<String>,
    relation_type: Option<String>,
    related_object_id: Option<Uuid>,
    related_object_label: Option<String>,
    related_object_slug: Option<String>,
    inverse_key: Option<String>,
    currency: Option<String>,
    currency_display: Option<String>,
    currency_decimal: Option<bool>,
    currency_grouping: Option<bool>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Every object of the organization (standard first, then by creation), or only `slug`.
pub async fn load(
    executor: impl PgExecutor<'_>,
    organization_id: Uuid,
    slug: Option<&str>,
) -> Result<Vec<ObjectDef>, sqlx::Error> {
    let rows = sqlx::query_as::<_, Row>(
        "select o.object_id, o.slug, o.singular_name, o.plural_name, o.is_standard as object_is_standard,
                o.is_active, o.created_at as object_created_at, o.updated_at as object_updated_at,
                a.attribute_id, a.key, a.label, a.type, a.is_required, a.is_unique, a.is_standard,
                a.is_system, a.is_archived, a.validation, a.options, a.next_option_id, a.relation_id, a.relation_side,
                a.relation_type, a.related_object_id, a.related_object_label,
                ro.slug as related_object_slug, inv.key as inverse_key,
                a.currency, a.currency_display, a.currency_decimal, a.currency_grouping,
                a.created_at, a.updated_at
         from crm_objects o
         join crm_attributes a on a.organization_id = o.organization_id and a.object_id = o.object_id
         left join crm_objects ro
           on ro.organization_id = a.organization_id and ro.object_id = a.related_object_id
         left join crm_attributes inv
           on inv.organization_id = a.organization_id and inv.relation_id = a.relation_id
          and inv.attribute_id <> a.attribute_id
         where o.organization_id = $1 and ($2::text is null or o.slug = $2)
         order by o.is_standard desc, o.slug = 'companies', o.created_at, o.slug, a.position",
    )
    .bind(organization_id)
    .bind(slug)
    .fetch_all(executor)
    .await?;
    let mut objects: Vec<ObjectDef> = Vec::new();
    for row in rows {
        if objects.last().is_none_or(|o| o.object_id != row.object_id) {
            objects.push(object(&row));
        }
        objects.last_mut().expect("pushed above").attributes.push(attribute(row));
    }
    Ok(objects)
}

fn object(row: &Row) -> ObjectDef {
    ObjectDef {
        object_id: row.object_id,
        slug: row.slug.clone(),
        singular_name: row.singular_name.clone(),
        plural_name: row.plural_name.clone(),
        is_standard: row.object_is_standard,
        is_active: row.is_active,
        created_at: row.object_created_at,
        updated_at: row.object_updated_at,
        attributes: Vec::new(),
    }
}

fn attribute(row: Row) -> AttributeDef {
    let relation = match (row.relation_id, row.relation_type.as_deref().and_then(|t| t.parse().ok())) {
        (Some(relation_id), Some(relation_type)) => Some(RelationDef {
            relation_id,
            side: if row.relation_side.as_deref() == Some("target") {
                RelationSide::Target
            } else {
                RelationSide::Source
            },
            relation_type,
            related_object_id: row.related_object_id.unwrap_or_default(),
            related_object_slug: row.related_object_slug.unwrap_or_default(),
            related_object_label: row.related_object_label.unwrap_or_default(),
            inverse_key: row.inverse_key,
        }),
        _ => None,
    };
    let display = row.currency_display.as_deref().and_then(|d| d.parse().ok()).unwrap_or(CurrencyDisplay::Code);
    let currency = row.currency.map(|currency| CurrencyDef {
        currency,
        display,
        decimal: row.currency_decimal.unwrap_or(true),
        grouping: row.currency_grouping.unwrap_or(true),
    });
    AttributeDef {
        attribute_id: row.attribute_id,
        key: row.key,
        label: row.label,
        // The type column has a check constraint, so this never falls back in practice.
        kind: row.r#type.parse().unwrap_or(crate::domain::attribute::AttributeType::Text),
        is_required: row.is_required,
        is_unique: row.is_unique,
        is_standard: row.is_standard,
        is_system: row.is_system,
        is_archived: row.is_archived,
        validation: row.validation.iter().filter_map(|v| v.parse().ok()).collect(),
        options: row.options.0,
        next_option_id: row.next_option_id,
        relation,
        currency,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}
