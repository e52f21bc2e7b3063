//! The `data` of each event type: for schema events (`crm.object.*`, `crm.attribute.*`) the
//! definition after the change and, for updates, what changed; for records their values, what
//! changed, or the record as it was; for relations the change of one attribute's links.
//! Serialized into the stored event and documented from the same types.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::attribute::SelectOption;
use super::event::{Changes, changes};
use super::schema::{AttributeDef, ObjectDef};

/// An object's definition in an event.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectState {
    #[schema(example = "products")]
    pub slug: String,
    #[schema(example = "Product")]
    pub singular_name: String,
    #[schema(example = "Products")]
    pub plural_name: String,
    pub is_standard: bool,
    pub is_active: bool,
}

impl From<&ObjectDef> for ObjectState {
    fn from(o: &ObjectDef) -> ObjectState {
        ObjectState {
            slug: o.slug.clone(),
            singular_name: o.singular_name.clone(),
            plural_name: o.plural_name.clone(),
            is_standard: o.is_standard,
            is_active: o.is_active,
        }
    }
}

/// An option of a select, multiselect or status attribute.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OptionState {
    pub id: i64,
    pub value: String,
    pub color: Option<String>,
}

impl From<&SelectOption> for OptionState {
    fn from(o: &SelectOption) -> OptionState {
        OptionState { id: o.id, value: o.value.clone(), color: o.color.clone() }
    }
}

/// An attribute's definition in an event; type-specific fields only for their types.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeState {
    #[schema(example = "products")]
    pub key: String,
    #[schema(example = "Products")]
    pub label: String,
    #[serde(rename = "type")]
    #[schema(example = "relation")]
    pub kind: &'static str,
    pub is_required: bool,
    pub is_unique: bool,
    pub is_archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<OptionState>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "many_to_many")]
    pub relation_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_object_slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_object_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inverse_attribute_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_display: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_decimal: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_grouping: Option<bool>,
}

impl From<&AttributeDef> for AttributeState {
    fn from(a: &AttributeDef) -> AttributeState {
        let (relation, currency) = (a.relation.as_ref(), a.currency.as_ref());
        AttributeState {
            key: a.key.clone(),
            label: a.label.clone(),
            kind: a.kind.as_str(),
            is_required: a.is_required,
            is_unique: a.is_unique,
            is_archived: a.is_archived,
            validation: (!a.validation.is_empty()).then(|| a.validation.iter().map(|v| v.as_str()).collect()),
            options: a.kind.has_options().then(|| a.options.iter().map(OptionState::from).collect()),
            relation_type: relation.map(|r| r.relation_type.as_str()),
            related_object_slug: relation.map(|r| r.related_object_slug.clone()),
            related_object_label: relation.map(|r| r.related_object_label.clone()),
            inverse_attribute_key: relation.and_then(|r| r.inverse_key.clone()),
            currency: currency.map(|c| c.currency.clone()),
            currency_display: currency.map(|c| c.display.as_str()),
            currency_decimal: currency.map(|c| c.decimal),
            currency_grouping: currency.map(|c| c.grouping),
        }
    }
}

/// `data` of `crm.object.created` and `crm.object.updated`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObjectEventData {
    /// The object after the change.
    pub object: ObjectState,
    /// `crm.object.updated` only: the fields that changed (`singularName`, `pluralName`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::HashMap<String, super::event::Change>>)]
    pub changes: Option<Changes>,
}

/// `data` of `crm.attribute.created` and `crm.attribute.updated`; the event's `objectSlug` is
/// the attribute's object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttributeEventData {
    /// The attribute after the change.
    pub attribute: AttributeState,
    /// `crm.attribute.updated` only: the fields that changed (`label`, `options`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::HashMap<String, super::event::Change>>)]
    pub changes: Option<Changes>,
}

/// `data` of `crm.record.created`: the record's value attributes (its relation and user
/// values come as `crm.relation.updated` events of the same transaction).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordCreatedData {
    /// Every value attribute by key, in the API's format (null when not set).
    #[schema(value_type = Object, example = json!({"name": "Linen dress", "price": 29}))]
    pub attributes: Map<String, Value>,
}

/// `data` of `crm.record.updated`: the value attributes that changed (relation and user
/// changes come as their own `crm.relation.updated` events).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordUpdatedData {
    #[schema(value_type = std::collections::HashMap<String, super::event::Change>)]
    pub changes: Changes,
}

/// `data` of `crm.record.deleted`: the record as it was, links included (each also comes as a
/// `crm.relation.updated` event of the same transaction, removing it).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordDeletedData {
    /// Every attribute by key, as `GET` returned it: relation and user values as ID arrays.
    #[schema(value_type = Object, example = json!({"number": "1001", "products": ["c1d2e3f4-a5b6-7890-cdef-123456789012"]}))]
    pub attributes: Map<String, Value>,
}

/// `data` of `crm.relation.updated`: one change of one relation or user attribute of the
/// event's record; both sides are named, so a reader of either object can apply it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelationEventData {
    /// The attribute of the event's object (`objectSlug`) whose links changed.
    #[schema(example = "products")]
    pub attribute_slug: String,
    /// IDs linked by this change: records of `relatedObjectSlug`, or members.
    pub added: Vec<Uuid>,
    /// IDs unlinked by this change.
    pub removed: Vec<Uuid>,
    /// The other side's object; null for a user attribute (links to members).
    #[schema(required = true, example = "products")]
    pub related_object_slug: Option<String>,
    /// The attribute on the other side showing the same links; null for a user attribute.
    #[schema(required = true, example = "orders")]
    pub inverse_attribute_slug: Option<String>,
}

impl RelationEventData {
    /// The change of `attr`'s links: `added` and `removed` IDs.
    pub fn of(attr: &AttributeDef, added: Vec<Uuid>, removed: Vec<Uuid>) -> RelationEventData {
        let relation = attr.relation.as_ref();
        RelationEventData {
            attribute_slug: attr.key.clone(),
            added,
            removed,
            related_object_slug: relation.map(|r| r.related_object_slug.clone()),
            inverse_attribute_slug: relation.and_then(|r| r.inverse_key.clone()),
        }
    }
}

/// The fields of two serializable states that differ; `None` when none does.
pub fn diff<T: Serialize>(before: &T, after: &T) -> Option<Changes> {
    let (before, after) = (fields(before), fields(after));
    let changed = changes(&before, &after);
    (!changed.is_empty()).then_some(changed)
}

fn fields<T: Serialize>(state: &T) -> Map<String, Value> {
    match serde_json::to_value(state) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}
