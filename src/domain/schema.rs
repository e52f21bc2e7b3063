//! The schema of an organization's CRM: objects and their attribute definitions.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::attribute::{AttributeType, CurrencyDisplay, RelationSide, RelationType, SelectOption, TextValidation};

/// Slugs no custom object may take.
pub const RESERVED_SLUGS: [&str; 3] = ["people", "companies", "objects"];

/// An object (standard or custom) with every attribute, in display order.
#[derive(Debug, Clone)]
pub struct ObjectDef {
    pub object_id: Uuid,
    pub slug: String,
    pub singular_name: String,
    pub plural_name: String,
    pub is_standard: bool,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub attributes: Vec<AttributeDef>,
}

impl ObjectDef {
    /// The attribute with this key, archived or not.
    pub fn attribute(&self, key: &str) -> Option<&AttributeDef> {
        self.attributes.iter().find(|a| a.key == key)
    }

    /// Attributes records carry values for: not system, not archived.
    pub fn value_attributes(&self) -> impl Iterator<Item = &AttributeDef> {
        self.attributes.iter().filter(|a| !a.is_system && !a.is_archived)
    }

    /// Attributes an assert can match on: value attributes holding one scalar (not relation,
    /// user or multiselect).
    pub fn matchable_attributes(&self) -> impl Iterator<Item = &AttributeDef> {
        self.value_attributes().filter(|a| !a.kind.is_link() && a.kind != AttributeType::Multiselect)
    }
}

/// One attribute definition.
#[derive(Debug, Clone)]
pub struct AttributeDef {
    pub attribute_id: Uuid,
    pub key: String,
    pub label: String,
    pub kind: AttributeType,
    pub is_required: bool,
    pub is_unique: bool,
    pub is_standard: bool,
    /// `id`, `created_at`, `updated_at`: read from the record row, never written.
    pub is_system: bool,
    pub is_archived: bool,
    pub validation: Vec<TextValidation>,
    pub options: Vec<SelectOption>,
    /// The id the next new option gets; ids are never reused.
    pub next_option_id: i64,
    pub relation: Option<RelationDef>,
    pub currency: Option<CurrencyDef>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl AttributeDef {
    /// The option with this id, if the attribute still has it.
    pub fn option(&self, id: i64) -> Option<&SelectOption> {
        self.options.iter().find(|o| o.id == id)
    }
}

/// Relation metadata of a `relation` attribute.
#[derive(Debug, Clone)]
pub struct RelationDef {
    /// Shared by both attributes of the relation.
    pub relation_id: Uuid,
    pub side: RelationSide,
    /// Cardinality seen from this attribute.
    pub relation_type: RelationType,
    pub related_object_id: Uuid,
    pub related_object_slug: String,
    pub related_object_label: String,
    /// Key of the attribute on the related object that shows the same links.
    pub inverse_key: Option<String>,
}

impl RelationDef {
    /// Cardinality flags of a link row written through this attribute:
    /// `(source_single, target_single)` as the join table stores them.
    pub fn link_flags(&self) -> (bool, bool) {
        let (here, there) = (self.relation_type.single_here(), self.relation_type.single_there());
        match self.side {
            RelationSide::Source => (here, there),
            RelationSide::Target => (there, here),
        }
    }
}

/// Display settings of a `currency` attribute.
#[derive(Debug, Clone)]
pub struct CurrencyDef {
    pub currency: String,
    pub display: CurrencyDisplay,
    pub decimal: bool,
    pub grouping: bool,
}

#[cfg(test)]
impl AttributeDef {
    /// A bare attribute of `kind` for unit tests.
    pub(crate) fn for_test(kind: AttributeType) -> AttributeDef {
        let now = Utc::now();
        AttributeDef {
            attribute_id: Uuid::new_v4(),
            key: kind.as_str().to_owned(),
            label: kind.as_str().to_owned(),
            kind,
            is_required: false,
            is_unique: false,
            is_standard: false,
            is_system: false,
            is_archived: false,
            validation: Vec::new(),
            options: Vec::new(),
            next_option_id: 1,
            relation: None,
            currency: None,
            created_at: now,
            updated_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation(side: RelationSide, relation_type: RelationType) -> RelationDef {
        RelationDef {
            relation_id: Uuid::nil(),
            side,
            relation_type,
            related_object_id: Uuid::nil(),
            related_object_slug: "x".into(),
            related_object_label: "X".into(),
            inverse_key: None,
        }
    }

    #[test]
    fn both_sides_of_a_relation_write_the_same_flags() {
        for t in RelationType::ALL {
            let forward = relation(RelationSide::Source, t).link_flags();
            let inverse = relation(RelationSide::Target, t.mirror()).link_flags();
            assert_eq!(forward, inverse, "{t:?}");
        }
    }

    #[test]
    fn many_to_one_limits_the_source() {
        assert_eq!(relation(RelationSide::Source, RelationType::ManyToOne).link_flags(), (true, false));
        assert_eq!(relation(RelationSide::Source, RelationType::OneToMany).link_flags(), (false, true));
    }
}
