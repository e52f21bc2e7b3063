//! Adding and changing attribute definitions.

use std::collections::HashMap;

use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::schema_events;
use crate::domain::attribute::{CurrencyDisplay, SelectOption};
use crate::domain::event::ChangeContext;
use crate::domain::key;
use crate::domain::schema::{AttributeDef, ObjectDef};
use crate::domain::schema_input::NewAttribute;

/// Adds `new` to `object`; a relation also gets its inverse attribute on `related`. Each
/// attribute gets its `crm.attribute.created` event. Returns the derived key.
pub async fn add(
    pool: &PgPool,
    organization_id: Uuid,
    object: &ObjectDef,
    new: &NewAttribute,
    related: Option<&ObjectDef>,
    context: &ChangeContext,
) -> Result<String, sqlx::Error> {
    let mut tx = super::begin(pool).await?;
    let outcome = insert(&mut tx, organization_id, object, new, related, context).await;
    super::end(tx, outcome).await
}

async fn insert(
    tx: &mut PgConnection,
    organization_id: Uuid,
    object: &ObjectDef,
    new: &NewAttribute,
    related: Option<&ObjectDef>,
    context: &ChangeContext,
) -> Result<String, sqlx::Error> {
    let objects: Vec<Uuid> = [Some(object.object_id), related.map(|r| r.object_id)].into_iter().flatten().collect();
    let mut keys = lock_and_read_keys(tx, organization_id, &objects).await?;
    let attribute_id = Uuid::new_v4();
    let key = claim_key(&mut keys, object.object_id, &new.label);
    let relation = new.relation.as_ref().zip(related);
    sqlx::query(
        "insert into crm_attributes (organization_id, attribute_id, object_id, key, label, type, position,
             is_required, is_unique, is_archived, validation, options, next_option_id,
             relation_id, relation_side, relation_type, related_object_id, related_object_label,
             currency, currency_display, currency_decimal, currency_grouping)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'source', $15, $16, $17,
                 $18, $19, $20, $21)",
    )
    .bind(organization_id)
    .bind(attribute_id)
    .bind(object.object_id)
    .bind(&key)
    .bind(&new.label)
    .bind(new.kind.as_str())
    .bind(keys.next_position(object.object_id))
    .bind(new.is_required)
    .bind(new.is_unique)
    .bind(new.is_archived)
    .bind(new.validation.iter().map(|v| v.as_str()).collect::<Vec<_>>())
    .bind(Json(&new.options))
    .bind(new.options.iter().map(|o| o.id + 1).max().unwrap_or(1))
    .bind(relation.map(|_| attribute_id))
    .bind(relation.map(|(r, _)| r.relation_type.as_str()))
    .bind(relation.map(|(_, o)| o.object_id))
    .bind(relation.map(|(r, _)| r.related_object_label.as_str()))
    .bind(new.currency.as_ref().map(|c| c.currency.as_str()))
    .bind(new.currency.as_ref().map(|c| c.display.as_str()))
    .bind(new.currency.as_ref().map(|c| c.decimal))
    .bind(new.currency.as_ref().map(|c| c.grouping))
    .execute(&mut *tx)
    .await?;
    let mut created = vec![(object.slug.as_str(), key.clone())];
    if let Some((relation, target)) = relation {
        let inverse_key = claim_key(&mut keys, target.object_id, &relation.related_object_label);
        created.push((target.slug.as_str(), inverse_key.clone()));
        sqlx::query(
            "insert into crm_attributes (organization_id, object_id, key, label, type, position,
                 relation_id, relation_side, relation_type, related_object_id, related_object_label)
             values ($1, $2, $3, $4, 'relation', $5, $6, 'target', $7, $8, $9)",
        )
        .bind(organization_id)
        .bind(target.object_id)
        .bind(&inverse_key)
        .bind(&relation.related_object_label)
        .bind(keys.next_position(target.object_id))
        .bind(attribute_id)
        .bind(relation.relation_type.mirror().as_str())
        .bind(object.object_id)
        .bind(&new.label)
        .execute(&mut *tx)
        .await?;
    }
    let created: Vec<(&str, &str)> = created.iter().map(|(slug, key)| (*slug, key.as_str())).collect();
    schema_events::attributes_created(tx, organization_id, context, &created).await?;
    Ok(key)
}

/// Keys and positions already used per object.
struct TakenKeys(HashMap<Uuid, (Vec<String>, i32)>);

impl TakenKeys {
    fn next_position(&mut self, object_id: Uuid) -> i32 {
        let entry = self.0.entry(object_id).or_default();
        entry.1 += 1;
        entry.1
    }
}

fn claim_key(keys: &mut TakenKeys, object_id: Uuid, label: &str) -> String {
    let taken = &mut keys.0.entry(object_id).or_default().0;
    let key = key::unique_key(&key::derive_base(label), |k| taken.iter().any(|t| t == k));
    taken.push(key.clone());
    key
}

/// Locks the objects (in id order, so concurrent adds cannot deadlock) so two attributes
/// added at once cannot derive the same key, then reads the keys in use.
async fn lock_and_read_keys(
    conn: &mut PgConnection,
    organization_id: Uuid,
    objects: &[Uuid],
) -> Result<TakenKeys, sqlx::Error> {
    sqlx::query(
        "select 1 from crm_objects where organization_id = $1 and object_id = any($2)
         order by object_id for update",
    )
    .bind(organization_id)
    .bind(objects)
    .execute(&mut *conn)
    .await?;
    let rows: Vec<(Uuid, String, i32)> = sqlx::query_as(
        "select object_id, key, position from crm_attributes where organization_id = $1 and object_id = any($2)",
    )
    .bind(organization_id)
    .bind(objects)
    .fetch_all(&mut *conn)
    .await?;
    let mut taken = TakenKeys(HashMap::new());
    for (object_id, key, position) in rows {
        let entry = taken.0.entry(object_id).or_default();
        entry.0.push(key);
        entry.1 = entry.1.max(position);
    }
    Ok(taken)
}

/// Changes to an attribute definition; `None` keeps the current value.
#[derive(Debug, Default)]
pub struct AttributeChanges {
    pub label: Option<String>,
    pub is_required: Option<bool>,
    pub is_archived: Option<bool>,
    /// The complete new option list and the next free option id.
    pub options: Option<(Vec<SelectOption>, i64)>,
    pub related_object_label: Option<String>,
    pub currency_display: Option<CurrencyDisplay>,
    pub currency_decimal: Option<bool>,
    pub currency_grouping: Option<bool>,
}

/// Applies `changes` to `attr` of `object`; `false` when the options were replaced
/// concurrently (the caller retries). The inverse attribute of a relation mirrors the labels:
/// its label is this attribute's `relatedObjectLabel`, its `relatedObjectLabel` is this
/// attribute's label. Each attribute that changed gets its `crm.attribute.updated` event; an
/// update that changes nothing writes nothing.
pub async fn update(
    pool: &PgPool,
    organization_id: Uuid,
    object: &ObjectDef,
    attr: &AttributeDef,
    changes: &AttributeChanges,
    context: &ChangeContext,
) -> Result<bool, sqlx::Error> {
    let mut tx = super::begin(pool).await?;
    match update_in(&mut tx, organization_id, object, attr, changes, context).await {
        // The statements only touched `updated_at`: undo them.
        Ok(Updated::Unchanged) => tx.rollback().await.map(|()| true),
        outcome => super::end(tx, outcome.map(|u| u != Updated::Concurrently)).await,
    }
}

/// What an update did.
#[derive(Debug, PartialEq, Eq)]
enum Updated {
    Changed,
    Unchanged,
    /// The options were replaced concurrently: nothing written.
    Concurrently,
}

async fn update_in(
    tx: &mut PgConnection,
    organization_id: Uuid,
    object: &ObjectDef,
    attr: &AttributeDef,
    changes: &AttributeChanges,
    context: &ChangeContext,
) -> Result<Updated, sqlx::Error> {
    let mut targets = vec![(object.slug.as_str(), attr.key.as_str())];
    if let Some(relation) = &attr.relation
        && let Some(inverse) = &relation.inverse_key
    {
        targets.push((relation.related_object_slug.as_str(), inverse.as_str()));
    }
    let watched = schema_events::watch(tx, organization_id, &targets).await?;
    let (options, next_option_id) = changes.options.as_ref().map(|(o, n)| (Json(o), *n)).unzip();
    let updated = sqlx::query(
        "update crm_attributes
         set label = coalesce($3, label), is_required = coalesce($4, is_required),
             is_archived = coalesce($5, is_archived), options = coalesce($6, options),
             next_option_id = coalesce($7, next_option_id),
             related_object_label = coalesce($8, related_object_label),
             currency_display = coalesce($9, currency_display),
             currency_decimal = coalesce($10, currency_decimal),
             currency_grouping = coalesce($11, currency_grouping), updated_at = now()
         where organization_id = $1 and attribute_id = $2 and next_option_id = $12",
    )
    .bind(organization_id)
    .bind(attr.attribute_id)
    .bind(&changes.label)
    .bind(changes.is_required)
    .bind(changes.is_archived)
    .bind(options)
    .bind(next_option_id)
    .bind(&changes.related_object_label)
    .bind(changes.currency_display.map(|d| d.as_str()))
    .bind(changes.currency_decimal)
    .bind(changes.currency_grouping)
    .bind(attr.next_option_id)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(Updated::Concurrently);
    }
    if let Some(relation) = &attr.relation {
        sqlx::query(
            "update crm_attributes
             set label = coalesce($4, label), related_object_label = coalesce($5, related_object_label),
                 updated_at = now()
             where organization_id = $1 and relation_id = $2 and attribute_id <> $3",
        )
        .bind(organization_id)
        .bind(relation.relation_id)
        .bind(attr.attribute_id)
        .bind(&changes.related_object_label)
        .bind(&changes.label)
        .execute(&mut *tx)
        .await?;
    }
    match schema_events::attributes_updated(tx, organization_id, context, watched).await? {
        true => Ok(Updated::Changed),
        false => Ok(Updated::Unchanged),
    }
}
