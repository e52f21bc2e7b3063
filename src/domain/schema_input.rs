//! Validation of object and attribute definitions sent by clients.

use super::attribute::{AttributeType, CurrencyDisplay, RelationType, SelectOption, TextValidation};
use super::problem::Problem;
use super::schema::{CurrencyDef, RESERVED_SLUGS};
use super::slug::Slug;

/// Longest name, label or option value.
pub const MAX_NAME_CHARS: usize = 255;
/// Most options one attribute may have.
pub const MAX_OPTIONS: usize = 500;

/// Checks a display name or label: non-blank, at most 255 characters. Returns it trimmed.
pub fn name(pointer: &str, raw: &str, problems: &mut Vec<Problem>) -> String {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        problems.push(Problem::new(pointer, "required", "must not be blank"));
    } else if trimmed.chars().count() > MAX_NAME_CHARS {
        problems.push(Problem::new(pointer, "too_long", format!("at most {MAX_NAME_CHARS} characters")));
    }
    trimmed.to_owned()
}

/// Checks a custom object's slug, including the reserved ones.
pub fn object_slug(raw: &str, problems: &mut Vec<Problem>) -> Option<Slug> {
    match Slug::parse(raw) {
        Ok(slug) if RESERVED_SLUGS.contains(&slug.as_str()) => {
            let message = format!("'{raw}' is reserved (reserved: {})", RESERVED_SLUGS.join(", "));
            problems.push(Problem::new("/slug", "slug_reserved", message));
            None
        }
        Ok(slug) => Some(slug),
        Err(e) => {
            problems.push(Problem::new("/slug", e.code(), format!("the slug {e}")));
            None
        }
    }
}

/// An attribute definition as a client sends it; enums still as text so errors can point at them.
#[derive(Debug, Default, Clone)]
pub struct AttributeSpec {
    pub label: Option<String>,
    pub kind: Option<String>,
    pub is_required: Option<bool>,
    pub is_archived: Option<bool>,
    pub is_unique: Option<bool>,
    pub validation: Option<Vec<String>>,
    pub options: Option<Vec<OptionSpec>>,
    pub relation_type: Option<String>,
    pub related_object_slug: Option<String>,
    pub related_object_label: Option<String>,
    pub currency: Option<String>,
    pub currency_display: Option<String>,
    pub currency_decimal: Option<bool>,
    pub currency_grouping: Option<bool>,
}

/// One option as a client sends it; `id` keeps an existing option on update.
#[derive(Debug, Default, Clone)]
pub struct OptionSpec {
    pub id: Option<i64>,
    pub value: String,
    pub color: Option<String>,
}

/// A validated new attribute. `related_object_slug` still has to be resolved by the caller.
#[derive(Debug, Clone)]
pub struct NewAttribute {
    pub label: String,
    pub kind: AttributeType,
    pub is_required: bool,
    pub is_archived: bool,
    pub is_unique: bool,
    pub validation: Vec<TextValidation>,
    pub options: Vec<SelectOption>,
    pub relation: Option<NewRelation>,
    pub currency: Option<CurrencyDef>,
}

/// The relation part of a new `relation` attribute.
#[derive(Debug, Clone)]
pub struct NewRelation {
    pub relation_type: RelationType,
    pub related_object_slug: String,
    pub related_object_label: String,
}

/// Validates a new attribute with Zeeg's type-specific required fields.
pub fn new_attribute(spec: &AttributeSpec) -> Result<NewAttribute, Vec<Problem>> {
    let mut problems = Vec::new();
    let label = match &spec.label {
        Some(label) => name("/label", label, &mut problems),
        None => required(&mut problems, "/label", String::new()),
    };
    let kind = match spec.kind.as_deref().map(str::parse::<AttributeType>) {
        Some(Ok(kind)) => Some(kind),
        Some(Err(())) => {
            let all: Vec<&str> = AttributeType::ALL.iter().map(|t| t.as_str()).collect();
            problems.push(Problem::new("/type", "invalid_value", format!("expected one of {}", all.join(", "))));
            None
        }
        None => required(&mut problems, "/type", None),
    };
    let Some(kind) = kind else {
        return Err(problems);
    };
    let is_unique = unique_flag(kind, spec.is_unique, &mut problems);
    let attribute = NewAttribute {
        label,
        kind,
        is_required: spec.is_required.unwrap_or(false),
        is_archived: spec.is_archived.unwrap_or(false),
        is_unique,
        validation: validation(kind, spec.validation.as_deref(), &mut problems),
        options: if kind.has_options() { new_options(spec.options.as_deref(), &mut problems) } else { Vec::new() },
        relation: (kind == AttributeType::Relation).then(|| relation(spec, &mut problems)).flatten(),
        currency: (kind == AttributeType::Currency).then(|| currency(spec, &mut problems)).flatten(),
    };
    if problems.is_empty() { Ok(attribute) } else { Err(problems) }
}

fn required<T>(problems: &mut Vec<Problem>, pointer: &str, fallback: T) -> T {
    let field = pointer.trim_start_matches('/');
    problems.push(Problem::new(pointer, "required", format!("'{field}' is required for this attribute type")));
    fallback
}

fn unique_flag(kind: AttributeType, sent: Option<bool>, problems: &mut Vec<Problem>) -> bool {
    match (kind.can_be_unique(), sent) {
        (true, Some(flag)) => flag,
        (true, None) => required(problems, "/isUnique", false),
        (false, Some(true)) => {
            problems.push(Problem::new(
                "/isUnique",
                "not_applicable",
                "only text, number and phone_number can be unique",
            ));
            false
        }
        (false, _) => false,
    }
}

fn validation(kind: AttributeType, sent: Option<&[String]>, problems: &mut Vec<Problem>) -> Vec<TextValidation> {
    let Some(sent) = sent.filter(|_| kind == AttributeType::Text) else {
        return Vec::new();
    };
    let mut rules = Vec::new();
    for (i, rule) in sent.iter().enumerate() {
        match rule.as_str() {
            "email" if !rules.contains(&TextValidation::Email) => rules.push(TextValidation::Email),
            "url" if !rules.contains(&TextValidation::Url) => rules.push(TextValidation::Url),
            "email" | "url" => {}
            _ => problems.push(Problem::new(format!("/validation/{i}"), "invalid_value", "expected 'email' or 'url'")),
        }
    }
    rules
}

fn new_options(sent: Option<&[OptionSpec]>, problems: &mut Vec<Problem>) -> Vec<SelectOption> {
    let Some(sent) = sent.filter(|o| !o.is_empty()) else {
        return required(problems, "/options", Vec::new());
    };
    let merged = replace_options(&[], sent, 1, problems);
    merged.0
}

/// Replaces an attribute's options with `sent`: an option keeps its id when the client sends
/// that id, or when its value is unchanged; other options get fresh ids from `next_id`, which
/// only grows so a removed option's id is never reused. Returns the options and the next id.
pub fn replace_options(
    existing: &[SelectOption],
    sent: &[OptionSpec],
    next_id: i64,
    problems: &mut Vec<Problem>,
) -> (Vec<SelectOption>, i64) {
    if sent.len() > MAX_OPTIONS {
        problems.push(Problem::new("/options", "too_many", format!("at most {MAX_OPTIONS} options")));
        return (Vec::new(), next_id);
    }
    let mut next = next_id;
    let mut options: Vec<SelectOption> = Vec::with_capacity(sent.len());
    for (i, option) in sent.iter().enumerate() {
        let value = name(&format!("/options/{i}/value"), &option.value, problems);
        if options.iter().any(|o| o.value == value) {
            problems.push(Problem::new(
                format!("/options/{i}/value"),
                "duplicate",
                format!("'{value}' is listed twice"),
            ));
        }
        if option.color.as_ref().is_some_and(|c| c.chars().count() > 32) {
            problems.push(Problem::new(format!("/options/{i}/color"), "too_long", "at most 32 characters"));
        }
        let id = match option.id {
            Some(id) if existing.iter().any(|o| o.id == id) => id,
            Some(id) => {
                problems.push(Problem::new(format!("/options/{i}/id"), "unknown_option", format!("no option {id}")));
                id
            }
            None => match existing.iter().find(|o| o.value == value) {
                Some(kept) => kept.id,
                None => {
                    next += 1;
                    next - 1
                }
            },
        };
        if options.iter().any(|o| o.id == id) {
            problems.push(Problem::new(
                format!("/options/{i}/id"),
                "duplicate",
                format!("option {id} is listed twice"),
            ));
        }
        options.push(SelectOption { id, value, color: option.color.clone() });
    }
    (options, next)
}

fn relation(spec: &AttributeSpec, problems: &mut Vec<Problem>) -> Option<NewRelation> {
    let relation_type = match spec.relation_type.as_deref().map(str::parse::<RelationType>) {
        Some(Ok(t)) => Some(t),
        Some(Err(())) => {
            let message = "expected one_to_one, one_to_many, many_to_one or many_to_many";
            problems.push(Problem::new("/relationType", "invalid_value", message));
            None
        }
        None => required(problems, "/relationType", None),
    };
    let slug = spec.related_object_slug.clone().or_else(|| required(problems, "/relatedObjectSlug", None));
    let label = match &spec.related_object_label {
        Some(label) => Some(name("/relatedObjectLabel", label, problems)),
        None => required(problems, "/relatedObjectLabel", None),
    };
    Some(NewRelation { relation_type: relation_type?, related_object_slug: slug?, related_object_label: label? })
}

fn currency(spec: &AttributeSpec, problems: &mut Vec<Problem>) -> Option<CurrencyDef> {
    let code = match spec.currency.as_deref() {
        Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => Some(c.to_owned()),
        Some(_) => {
            problems.push(Problem::new("/currency", "invalid_value", "expected an ISO 4217 code such as EUR"));
            None
        }
        None => required(problems, "/currency", None),
    };
    let display = match spec.currency_display.as_deref() {
        Some(d) => currency_display(d, problems),
        None => required(problems, "/currencyDisplay", None),
    };
    let decimal = spec.currency_decimal.or_else(|| required(problems, "/currencyDecimal", None));
    let grouping = spec.currency_grouping.or_else(|| required(problems, "/currencyGrouping", None));
    Some(CurrencyDef { currency: code?, display: display?, decimal: decimal?, grouping: grouping? })
}

/// Parses `currencyDisplay`.
pub fn currency_display(raw: &str, problems: &mut Vec<Problem>) -> Option<CurrencyDisplay> {
    match raw {
        "code" => Some(CurrencyDisplay::Code),
        "name" => Some(CurrencyDisplay::Name),
        "symbol" => Some(CurrencyDisplay::Symbol),
        _ => {
            problems.push(Problem::new("/currencyDisplay", "invalid_value", "expected code, name or symbol"));
            None
        }
    }
}

#[cfg(test)]
#[path = "schema_input_tests.rs"]
mod tests;
