//! Attribute types and their type-specific settings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The 13 attribute types of Zeeg's CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeType {
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

impl AttributeType {
    /// Every type, in documentation order.
    pub const ALL: [AttributeType; 13] = [
        AttributeType::Text,
        AttributeType::Number,
        AttributeType::PhoneNumber,
        AttributeType::Date,
        AttributeType::Datetime,
        AttributeType::Checkbox,
        AttributeType::Select,
        AttributeType::Multiselect,
        AttributeType::Rating,
        AttributeType::Relation,
        AttributeType::Status,
        AttributeType::User,
        AttributeType::Currency,
    ];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::Text => "text",
            AttributeType::Number => "number",
            AttributeType::PhoneNumber => "phone_number",
            AttributeType::Date => "date",
            AttributeType::Datetime => "datetime",
            AttributeType::Checkbox => "checkbox",
            AttributeType::Select => "select",
            AttributeType::Multiselect => "multiselect",
            AttributeType::Rating => "rating",
            AttributeType::Relation => "relation",
            AttributeType::Status => "status",
            AttributeType::User => "user",
            AttributeType::Currency => "currency",
        }
    }

    /// Types whose values are links (stored in join tables, not in the record row).
    pub fn is_link(self) -> bool {
        matches!(self, AttributeType::Relation | AttributeType::User)
    }

    /// Types that take `options`.
    pub fn has_options(self) -> bool {
        matches!(self, AttributeType::Select | AttributeType::Multiselect | AttributeType::Status)
    }

    /// Types that may be marked `isUnique`.
    pub fn can_be_unique(self) -> bool {
        matches!(self, AttributeType::Text | AttributeType::Number | AttributeType::PhoneNumber)
    }
}

impl fmt::Display for AttributeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AttributeType {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        AttributeType::ALL.into_iter().find(|t| t.as_str() == s).ok_or(())
    }
}

/// Cardinality of a relation, seen from the attribute that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationType {
    OneToOne,
    OneToMany,
    ManyToOne,
    ManyToMany,
}

impl RelationType {
    /// Every relation type.
    pub const ALL: [RelationType; 4] =
        [RelationType::OneToOne, RelationType::OneToMany, RelationType::ManyToOne, RelationType::ManyToMany];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            RelationType::OneToOne => "one_to_one",
            RelationType::OneToMany => "one_to_many",
            RelationType::ManyToOne => "many_to_one",
            RelationType::ManyToMany => "many_to_many",
        }
    }

    /// The type of the inverse attribute on the related object.
    pub fn mirror(self) -> RelationType {
        match self {
            RelationType::OneToMany => RelationType::ManyToOne,
            RelationType::ManyToOne => RelationType::OneToMany,
            same => same,
        }
    }

    /// A record on this side links to at most one record on the other side.
    pub fn single_here(self) -> bool {
        matches!(self, RelationType::ManyToOne | RelationType::OneToOne)
    }

    /// A record on the other side is linked from at most one record on this side.
    pub fn single_there(self) -> bool {
        self.mirror().single_here()
    }
}

impl FromStr for RelationType {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        RelationType::ALL.into_iter().find(|t| t.as_str() == s).ok_or(())
    }
}

/// Which end of the stored links an attribute writes: the forward attribute is the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelationSide {
    Source,
    Target,
}

impl RelationSide {
    /// The storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            RelationSide::Source => "source",
            RelationSide::Target => "target",
        }
    }
}

/// An extra check on `text` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextValidation {
    Email,
    Url,
}

impl TextValidation {
    /// Every rule.
    pub const ALL: [TextValidation; 2] = [TextValidation::Email, TextValidation::Url];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            TextValidation::Email => "email",
            TextValidation::Url => "url",
        }
    }
}

/// How a currency amount is labelled in the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CurrencyDisplay {
    Code,
    Name,
    Symbol,
}

impl CurrencyDisplay {
    /// Every display.
    pub const ALL: [CurrencyDisplay; 3] = [CurrencyDisplay::Code, CurrencyDisplay::Name, CurrencyDisplay::Symbol];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            CurrencyDisplay::Code => "code",
            CurrencyDisplay::Name => "name",
            CurrencyDisplay::Symbol => "symbol",
        }
    }
}

impl FromStr for TextValidation {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        TextValidation::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

impl FromStr for CurrencyDisplay {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        CurrencyDisplay::ALL.into_iter().find(|d| d.as_str() == s).ok_or(())
    }
}

/// One choice of a select, multiselect or status attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectOption {
    /// Server-assigned, never reused within the attribute.
    pub id: i64,
    pub value: String,
    pub color: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in AttributeType::ALL {
            assert_eq!(t.as_str().parse::<AttributeType>(), Ok(t));
        }
        for r in RelationType::ALL {
            assert_eq!(r.as_str().parse::<RelationType>(), Ok(r));
        }
        for v in TextValidation::ALL {
            assert_eq!(v.as_str().parse::<TextValidation>(), Ok(v));
        }
        for d in CurrencyDisplay::ALL {
            assert_eq!(d.as_str().parse::<CurrencyDisplay>(), Ok(d));
        }
    }

    #[test]
    fn mirrored_types_swap_the_sides_cardinality() {
        assert_eq!(RelationType::ManyToOne.mirror(), RelationType::OneToMany);
        assert_eq!(RelationType::OneToOne.mirror(), RelationType::OneToOne);
        assert!(RelationType::ManyToOne.single_here() && !RelationType::ManyToOne.single_there());
        assert!(!RelationType::OneToMany.single_here() && RelationType::OneToMany.single_there());
        assert!(RelationType::OneToOne.single_here() && RelationType::OneToOne.single_there());
        assert!(!RelationType::ManyToMany.single_here() && !RelationType::ManyToMany.single_there());
    }
}
