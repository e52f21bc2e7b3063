//! Validation of object and attribute definitions sent by clients.

use super::attribute::{AttributeType, CurrencyDisplay, RelationType, SelectOption, TextValidation};
use super::problem::Problem;
use super::schema::{CurrencyDef, RESERVED_SLUGS};
use super::slug::Slug;

/// Longest name, label or option value.
pub const MAX_NAME_CHARS: usize = 255;
/// Most options one attribute may have.
pub const MAX_OPTIONS: usize = 500;

/// Checks a display name or label: non-blank, at most 255 characters as sent (the documented
/// `maxLength` counts the value as sent, surrounding white space included). Returns it trimmed.
pub fn name(pointer: &str, raw: &str, problems: &mut Vec<Problem>) -> String {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        problems.push(Problem::new(pointer, "required", "must not be blank"));
    } else if raw.chars().count() > MAX_NAME_CHARS {
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
    // Fields that do not apply to the type are ignored (Zeeg's examples send them all), but
    // whatever is sent must still be well-formed.
    let validation = validation(spec.validation.as_deref(), &mut problems);
    let options = spec.options.as_deref().map(|o| new_options(o, &mut problems));
    let relation = relation(spec, kind == Some(AttributeType::Relation), &mut problems);
    let currency = currency(spec, kind == Some(AttributeType::Currency), &mut problems);
    let Some(kind) = kind else { return Err(problems) };
    let is_unique = unique_flag(kind, spec.is_unique, &mut problems);
    let options = match (kind.has_options(), options) {
        (true, Some(options)) if !options.is_empty() => options,
        (true, _) => required(&mut problems, "/options", Vec::new()),
        (false, _) => Vec::new(),
    };
    let attribute = NewAttribute {
        label,
        kind,
        is_required: spec.is_required.unwrap_or(false),
        is_archived: spec.is_archived.unwrap_or(false),
        is_unique,
        validation: if kind == AttributeType::Text { validation } else { Vec::new() },
        options,
        relation: relation.filter(|_| kind == AttributeType::Relation),
        currency: currency.filter(|_| kind == AttributeType::Currency),
    };
    if problems.is_empty() { Ok(attribute) } else { Err(problems) }
}

fn required<T>(problems: &mut Vec<Problem>, pointer: &str, fallback: T) -> T {
    let field = pointer.trim_start_matches('/');
    problems.push(Problem::new(pointer, "required", format!("'{field}' is required for this attribute type")));
    fallback
}

/// `isUnique` is required where it applies and ignored where it does not.
fn unique_flag(kind: AttributeType, sent: Option<bool>, problems: &mut Vec<Problem>) -> bool {
    match (kind.can_be_unique(), sent) {
        (true, Some(flag)) => flag,
        (true, None) => required(problems, "/isUnique", false),
        (false, _) => false,
    }
}

fn validation(sent: Option<&[String]>, problems: &mut Vec<Problem>) -> Vec<TextValidation> {
    let Some(sent) = sent else { return Vec::new() };
    let mut rules = Vec::new();
    for (i, rule) in sent.iter().enumerate() {
        match rule.parse::<TextValidation>() {
            Ok(rule) if !rules.contains(&rule) => rules.push(rule),
            Ok(_) => {}
            Err(()) => {
                problems.push(Problem::new(format!("/validation/{i}"), "invalid_value", "expected 'email' or 'url'"))
            }
        }
    }
    rules
}

/// Options of a new attribute: ids are assigned here, so ids sent with them are ignored.
fn new_options(sent: &[OptionSpec], problems: &mut Vec<Problem>) -> Vec<SelectOption> {
    let fresh: Vec<OptionSpec> = sent.iter().map(|o| OptionSpec { id: None, ..o.clone() }).collect();
    replace_options(&[], &fresh, 1, problems).0
}

/// Replaces an attribute's options with `sent`: an option keeps its id when the client sends
/// that id, or when its value is unchanged; other options get fresh ids from `next_id`, which
/// only grows so a removed option's id is never reused. An id that names no existing option is
/// ignored (the entry is a new option), and an entry repeating an earlier value or id is
/// dropped. Returns the options and the next id.
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
        if option.color.as_ref().is_some_and(|c| c.chars().count() > 32) {
            problems.push(Problem::new(format!("/options/{i}/color"), "too_long", "at most 32 characters"));
        }
        let kept = option
            .id
            .and_then(|id| existing.iter().find(|o| o.id == id))
            .or_else(|| existing.iter().find(|o| o.value == value))
            .map(|o| o.id);
        if options.iter().any(|o| o.value == value || Some(o.id) == kept) {
            continue;
        }
        let id = kept.unwrap_or_else(|| {
            next += 1;
            next - 1
        });
        options.push(SelectOption { id, value, color: option.color.clone() });
    }
    (options, next)
}

/// The relation fields: checked whenever sent, required when `needed`.
fn relation(spec: &AttributeSpec, needed: bool, problems: &mut Vec<Problem>) -> Option<NewRelation> {
    let relation_type = match spec.relation_type.as_deref().map(str::parse::<RelationType>) {
        Some(Ok(t)) => Some(t),
        Some(Err(())) => {
            let message = "expected one_to_one, one_to_many, many_to_one or many_to_many";
            problems.push(Problem::new("/relationType", "invalid_value", message));
            None
        }
        None if needed => required(problems, "/relationType", None),
        None => None,
    };
    let slug = match &spec.related_object_slug {
        Some(slug) => Some(slug.clone()),
        None if needed => required(problems, "/relatedObjectSlug", None),
        None => None,
    };
    let label = match &spec.related_object_label {
        Some(label) => Some(name("/relatedObjectLabel", label, problems)),
        None if needed => required(problems, "/relatedObjectLabel", None),
        None => None,
    };
    Some(NewRelation { relation_type: relation_type?, related_object_slug: slug?, related_object_label: label? })
}

/// The currency fields: checked whenever sent, required when `needed`.
fn currency(spec: &AttributeSpec, needed: bool, problems: &mut Vec<Problem>) -> Option<CurrencyDef> {
    let code = match spec.currency.as_deref() {
        Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => Some(c.to_owned()),
        Some(_) => {
            problems.push(Problem::new("/currency", "invalid_value", "expected an ISO 4217 code such as EUR"));
            None
        }
        None if needed => required(problems, "/currency", None),
        None => None,
    };
    let display = match spec.currency_display.as_deref() {
        Some(d) => currency_display(d, problems),
        None if needed => required(problems, "/currencyDisplay", None),
        None => None,
    };
    let mut flag = |sent: Option<bool>, pointer: &str| match sent {
        Some(flag) => Some(flag),
        None if needed => required(problems, pointer, None),
        None => None,
    };
    let decimal = flag(spec.currency_decimal, "/currencyDecimal");
    let grouping = flag(spec.currency_grouping, "/currencyGrouping");
    Some(CurrencyDef { currency: code?, display: display?, decimal: decimal?, grouping: grouping? })
}

/// Parses `currencyDisplay`.
pub fn currency_display(raw: &str, problems: &mut Vec<Problem>) -> Option<CurrencyDisplay> {
    let display = raw.parse().ok();
    if display.is_none() {
        problems.push(Problem::new("/currencyDisplay", "invalid_value", "expected code, name or symbol"));
    }
    display
}

#[cfg(test)]
#[path = "schema_input_tests.rs"]
mod tests;
