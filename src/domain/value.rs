//! Record values: parsing wire JSON into the canonical form we store, and back.
//!
//! Scalars are stored in the record's `values` jsonb in canonical form: text and phone numbers
//! as strings (phone numbers without spaces and dashes), numbers as JSON numbers (integral
//! values as integers), dates as `YYYY-MM-DD`, datetimes as UTC RFC 3339 with `+00:00`,
//! selects as the option id, multiselects as an array of option ids. Links (relation, user)
//! live in join tables.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Timelike, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::attribute::{AttributeType, TextValidation};
use super::schema::AttributeDef;

/// Longest text value, in characters.
pub const MAX_TEXT_CHARS: usize = 255;
/// Longest phone number as sent, in characters.
pub const MAX_PHONE_CHARS: usize = 32;
/// Largest magnitude of a number or currency value.
pub const MAX_NUMBER: f64 = 1e300;
/// Most IDs one relation or user value (or relation-endpoint list) may hold.
pub const MAX_LINKS: usize = 1000;

/// Why a value is not acceptable for its attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    /// Pointer suffix below the attribute (`/3` for the fourth element), usually empty.
    pub at: String,
    pub code: &'static str,
    pub message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> ValueError {
    ValueError { at: String::new(), code, message: message.into() }
}

/// Parses a scalar value; `Ok(Value::Null)` clears it.
pub fn parse_scalar(attr: &AttributeDef, raw: &Value) -> Result<Value, ValueError> {
    if raw.is_null() {
        return Ok(Value::Null);
    }
    match attr.kind {
        AttributeType::Text => text(attr, raw),
        AttributeType::Number | AttributeType::Currency => number(raw),
        AttributeType::PhoneNumber => phone(raw),
        AttributeType::Date => date(raw),
        AttributeType::Datetime => datetime(raw),
        AttributeType::Checkbox => {
            raw.as_bool().map(Value::Bool).ok_or_else(|| err("invalid_type", "expected true or false"))
        }
        AttributeType::Rating => match raw.as_i64() {
            Some(n @ 0..=5) => Ok(Value::from(n)),
            _ => Err(err("invalid_value", "expected an integer rating from 0 to 5")),
        },
        AttributeType::Select | AttributeType::Status => option_ref(attr, raw).map(Value::from),
        AttributeType::Multiselect => multiselect(attr, raw),
        AttributeType::Relation | AttributeType::User => {
            Err(err("invalid_type", "relation and user values are arrays of IDs"))
        }
    }
}

/// Parses the IDs of a relation or user value (`null` and `[]` clear it); duplicates collapse.
pub fn parse_links(raw: &Value) -> Result<Vec<Uuid>, Vec<ValueError>> {
    let items = match raw {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => {
            return Err(vec![err("invalid_type", "expected an array of UUID strings")]);
        }
    };
    if items.len() > MAX_LINKS {
        return Err(vec![err("too_many", format!("at most {MAX_LINKS} IDs are allowed, got {}", items.len()))]);
    }
    parse_ids(items)
}

/// Parses hyphenated UUID strings in any case; reports each bad entry by index; duplicates collapse.
pub fn parse_ids(items: &[Value]) -> Result<Vec<Uuid>, Vec<ValueError>> {
    let mut ids = Vec::with_capacity(items.len());
    let mut seen = HashSet::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str().and_then(parse_id) {
            Some(id) => {
                if seen.insert(id) {
                    ids.push(id);
                }
            }
            None => errors.push(ValueError {
                at: format!("/{i}"),
                code: "invalid_uuid",
                message: format!("expected a UUID string, got {}", short(item)),
            }),
        }
    }
    if errors.is_empty() { Ok(ids) } else { Err(errors) }
}

/// An ID as the API spells it: only the hyphenated form (any case), one spelling per ID, in
/// bodies and paths alike (not `{…}`, `urn:uuid:` or 32 bare hex digits).
pub fn parse_id(text: &str) -> Option<Uuid> {
    if text.len() == 36 { Uuid::try_parse(text).ok() } else { None }
}

/// The text the uniqueness table stores for a canonical value, for `isUnique` attributes.
pub fn unique_text(canonical: &Value) -> Option<String> {
    match canonical {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The wire form of a stored scalar: options as `{"id": n}` (null once the option is removed).
pub fn render(attr: &AttributeDef, stored: Option<&Value>) -> Value {
    let Some(stored) = stored else {
        return Value::Null;
    };
    match attr.kind {
        AttributeType::Select | AttributeType::Status => match stored.as_i64() {
            Some(id) if attr.option(id).is_some() => json!({ "id": id }),
            _ => Value::Null,
        },
        AttributeType::Multiselect => Value::Array(
            stored
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_i64)
                .filter(|id| attr.option(*id).is_some())
                .map(|id| json!({ "id": id }))
                .collect(),
        ),
        _ => stored.clone(),
    }
}

fn text(attr: &AttributeDef, raw: &Value) -> Result<Value, ValueError> {
    let s = raw.as_str().ok_or_else(|| err("invalid_type", "expected a string"))?;
    if s.chars().count() > MAX_TEXT_CHARS {
        return Err(err("too_long", format!("at most {MAX_TEXT_CHARS} characters are allowed")));
    }
    for rule in &attr.validation {
        let ok = match rule {
            TextValidation::Email => super::member::Email::parse(s).is_ok(),
            TextValidation::Url => {
                url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            }
        };
        if !ok {
            let what = if *rule == TextValidation::Email { "an email address" } else { "an http(s) URL" };
            return Err(err("invalid_format", format!("expected {what}")));
        }
    }
    Ok(Value::String(s.to_owned()))
}

/// Finite JSON number; integral values within ±2^53 become integers so `1.0` and `1` are one value.
fn number(raw: &Value) -> Result<Value, ValueError> {
    let n = raw.as_number().ok_or_else(|| err("invalid_type", "expected a JSON number"))?;
    if n.is_i64() || n.is_u64() {
        return Ok(Value::Number(n.clone()));
    }
    let f = n.as_f64().filter(|f| f.is_finite()).ok_or_else(|| err("invalid_value", "expected a finite number"))?;
    if f.abs() > MAX_NUMBER {
        // Near f64::MAX, PostgreSQL's exact numeric text no longer reads back as a finite double.
        return Err(err("out_of_range", "numbers must be between -1e300 and 1e300"));
    }
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if f.fract() == 0.0 && f.abs() <= EXACT { Ok(Value::from(f as i64)) } else { Ok(Value::from(f)) }
}

fn phone(raw: &Value) -> Result<Value, ValueError> {
    let s = raw.as_str().ok_or_else(|| err("invalid_type", "expected a phone number string"))?;
    let compact: String = s.chars().filter(|c| *c != ' ' && *c != '-').collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    if s.chars().count() > MAX_PHONE_CHARS || digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(err(
            "invalid_format",
            format!("expected '+' and digits (spaces and dashes allowed), at most {MAX_PHONE_CHARS} characters"),
        ));
    }
    Ok(Value::String(compact))
}

fn date(raw: &Value) -> Result<Value, ValueError> {
    let s = raw.as_str().ok_or_else(|| err("invalid_type", "expected a date string YYYY-MM-DD"))?;
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) if s.len() == 10 => Ok(Value::String(d.format("%Y-%m-%d").to_string())),
        _ => Err(err("invalid_format", "expected a calendar date YYYY-MM-DD")),
    }
}

fn datetime(raw: &Value) -> Result<Value, ValueError> {
    let s = raw.as_str().ok_or_else(|| err("invalid_type", "expected an RFC 3339 date-time string"))?;
    let invalid =
        || err("invalid_format", "expected an RFC 3339 date-time with offset, e.g. 2025-06-01T10:00:00+00:00");
    let utc = DateTime::parse_from_rfc3339(s).map_err(|_| invalid())?.with_timezone(&Utc);
    // chrono reads a leap second (`:60`) as a nanosecond count past one second, and an offset
    // can carry a year-9999 time into year 10000. Neither can be written back as RFC 3339 with
    // a four-digit year and a second from 00 to 59, which is what we store and return.
    if utc.nanosecond() >= 1_000_000_000 || !(0..=9999).contains(&utc.year()) {
        return Err(err("out_of_range", "expected a date-time from 0000-01-01 to 9999-12-31 in UTC, seconds 00 to 59"));
    }
    Ok(Value::String(utc.to_rfc3339_opts(SecondsFormat::AutoSi, false)))
}

fn option_ref(attr: &AttributeDef, raw: &Value) -> Result<i64, ValueError> {
    let fields = raw.as_object().ok_or_else(|| err("invalid_type", "expected an object {\"id\": <option id>}"))?;
    if let Some(other) = fields.keys().find(|k| *k != "id") {
        return Err(err("unknown_field", format!("an option reference has only 'id', got '{other}'")));
    }
    let id = fields.get("id").ok_or_else(|| err("invalid_type", "expected an object {\"id\": <option id>}"))?;
    let id = option_id(id).ok_or_else(|| err("invalid_type", "the option id must be an integer"))?;
    match attr.option(id) {
        Some(_) => Ok(id),
        None => {
            let valid: Vec<String> = attr.options.iter().map(|o| o.id.to_string()).collect();
            Err(err("unknown_option", format!("no option with id {id}; valid ids: {}", valid.join(", "))))
        }
    }
}

/// An option id as JSON Schema sees integers (`7` or `7.0`), or as its decimal string (`"7"`,
/// exactly as the server writes it).
pub fn option_id(raw: &Value) -> Option<i64> {
    match raw {
        Value::Number(n) => {
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64))
        }
        Value::String(s) => s.parse::<i64>().ok().filter(|id| id.to_string() == *s),
        _ => None,
    }
}

fn multiselect(attr: &AttributeDef, raw: &Value) -> Result<Value, ValueError> {
    let items = raw.as_array().ok_or_else(|| err("invalid_type", "expected an array of {\"id\": <option id>}"))?;
    let mut ids: Vec<i64> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let id = option_ref(attr, item).map_err(|mut e| {
            e.at = format!("/{i}");
            e
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(Value::from(ids))
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

#[cfg(test)]
#[path = "value_tests.rs"]
mod tests;
