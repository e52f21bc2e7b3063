//! The headers that shape a relation change: `If-Match`, `Idempotency-Key`, `Prefer`.

use axum::http::{HeaderMap, header};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::problem::Problem;

/// `If-Match` as documented: `*` or a list of entity tags (what [`RelationHeaders`] accepts).
pub const IF_MATCH_PATTERN: &str = "^[ \\t]*(\\*|(W/)?\"[!#-~]*\"([ \\t]*,[ \\t]*(W/)?\"[!#-~]*\")*)[ \\t]*$";

/// Longest accepted Idempotency-Key.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The headers as the OpenAPI document describes them (parsing is done by [`RelationHeaders`]).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct RelationHeaderParams {
    /// The same key with the same request replays the first response for 24 hours (header
    /// `Idempotency-Replayed: true`); with another request it is a 422; while the first is in
    /// flight, a 409. Visible ASCII.
    #[param(rename = "Idempotency-Key", required = false, min_length = 1, max_length = 255, pattern = "^[!-~]+$")]
    idempotency_key: String,
    /// An ETag from a previous response (or `*`); the change applies only if the record is still
    /// at that version (412 otherwise).
    #[param(
        rename = "If-Match",
        required = false,
        pattern = "^[ \\t]*(\\*|(W/)?\"[!#-~]*\"([ \\t]*,[ \\t]*(W/)?\"[!#-~]*\")*)[ \\t]*$"
    )]
    if_match: String,
    /// `return=minimal` leaves `record` out of the response (cheaper for large relations);
    /// `return=representation` (the default) includes it. Any other value is a 400.
    #[param(rename = "Prefer", required = false, inline)]
    prefer: PreferReturn,
}

/// The preferences the relation endpoint honours (RFC 7240 `return`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub enum PreferReturn {
    #[serde(rename = "return=minimal")]
    Minimal,
    #[serde(rename = "return=representation")]
    Representation,
}

/// The header of the batch endpoint, as the OpenAPI document describes it.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct BatchHeaderParams {
    /// Covers the whole batch: the same key with the same batch replays the first response for
    /// 24 hours (header `Idempotency-Replayed: true`, same status); with another request it is a
    /// 422; while the first is in flight, a 409. Visible ASCII.
    #[param(rename = "Idempotency-Key", required = false, min_length = 1, max_length = 255, pattern = "^[!-~]+$")]
    idempotency_key: String,
}

/// Parsed request conditions.
#[derive(Debug, Default)]
pub struct RelationHeaders {
    if_match: Option<Vec<String>>,
    idempotency_key: Option<String>,
    minimal: bool,
}

impl RelationHeaders {
    /// Parses the headers; a malformed Idempotency-Key is a problem pointing at the header.
    pub fn parse(headers: &HeaderMap) -> Result<RelationHeaders, Vec<Problem>> {
        let mut problems = Vec::new();
        let idempotency_key = match headers.get("idempotency-key").map(|v| v.to_str()) {
            None => None,
            Some(Ok(key))
                if (1..=MAX_IDEMPOTENCY_KEY).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Some(key.to_owned())
            }
            Some(_) => {
                let message = format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters");
                problems.push(Problem::new("Idempotency-Key", "invalid_header", message));
                None
            }
        };
        let if_match = match headers.get(header::IF_MATCH).map(|v| v.to_str().ok().and_then(entity_tags)) {
            None => None,
            Some(Some(tags)) => Some(tags),
            Some(None) => {
                let message = "If-Match must be `*` or a comma-separated list of entity tags such as `\"3\"`";
                problems.push(Problem::new("If-Match", "invalid_header", message));
                None
            }
        };
        // Exactly the documented values, so a typed client's `Prefer` and the server agree.
        let prefer: Vec<Option<&str>> = headers.get_all("prefer").iter().map(|v| v.to_str().ok()).collect();
        let minimal = match prefer[..] {
            [] | [Some("return=representation")] => false,
            [Some("return=minimal")] => true,
            _ => {
                let message = "Prefer must be `return=minimal` or `return=representation`";
                problems.push(Problem::new("Prefer", "invalid_header", message));
                false
            }
        };
        if problems.is_empty() { Ok(RelationHeaders { if_match, idempotency_key, minimal }) } else { Err(problems) }
    }

    /// The record versions `If-Match` accepts: `None` without a condition (or with `*`, which
    /// any existing record satisfies). Weak and unknown tags accept nothing.
    pub fn accepted_versions(&self) -> Option<Vec<i64>> {
        let tags = self.if_match.as_ref()?;
        if tags.iter().any(|t| t == "*") {
            return None;
        }
        Some(tags.iter().filter_map(|t| t.strip_prefix('"')?.strip_suffix('"')?.parse().ok()).collect())
    }

    /// The Idempotency-Key, if sent.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    /// Whether `Prefer: return=minimal` was sent.
    pub fn minimal(&self) -> bool {
        self.minimal
    }
}

/// `*` or a list of entity tags (`"3"`, `W/"3"`; RFC 9110 §8.8.3), or `None` when malformed.
/// Tags may contain commas, so the list is scanned, not split.
fn entity_tags(value: &str) -> Option<Vec<String>> {
    let ows = |s: &str| s.trim_start_matches([' ', '\t']).to_owned();
    if value.trim_matches([' ', '\t']) == "*" {
        return Some(vec!["*".to_owned()]);
    }
    let mut rest = ows(value);
    let mut tags = Vec::new();
    loop {
        let weak = rest.starts_with("W/");
        let body = if weak { &rest[2..] } else { &rest[..] };
        let inner = body.strip_prefix('"')?;
        let end = inner.find('"')?;
        if !inner[..end].bytes().all(|b| b == 0x21 || (0x23..=0x7e).contains(&b)) {
            return None;
        }
        tags.push(format!("{}\"{}\"", if weak { "W/" } else { "" }, &inner[..end]));
        rest = ows(&inner[end + 1..]);
        match rest.strip_prefix(',') {
            Some(next) => rest = ows(next),
            None if rest.is_empty() => return Some(tags),
            None => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn if_match_uses_strong_comparison() {
        let accepted = |value: Option<&str>| {
            let map = value.map(|v| headers(&[("if-match", v)])).unwrap_or_default();
            RelationHeaders::parse(&map).unwrap().accepted_versions()
        };
        assert_eq!(accepted(Some("\"3\", \"4\"")), Some(vec![3, 4]), "3 and 4 match, 5 does not");
        assert_eq!(accepted(Some("W/\"3\"")), Some(vec![]), "a weak tag matches nothing");
        assert_eq!(accepted(Some("*")), None, "any version");
        assert_eq!(accepted(Some("\"x,y\" ,\t\"7\"")), Some(vec![7]), "commas inside a tag");
        assert_eq!(accepted(None), None, "no condition");
    }

    #[test]
    fn malformed_if_match_is_refused() {
        for bad in ["", "3", "\"3\", ", "*, \"3\"", "W/3", "\"a\"b\"", "\"a\" \"b\""] {
            let problems = RelationHeaders::parse(&headers(&[("if-match", bad)])).unwrap_err();
            assert_eq!(problems[0].pointer, "If-Match", "{bad:?}");
        }
    }

    #[test]
    fn prefer_takes_the_documented_values_only() {
        assert!(RelationHeaders::parse(&headers(&[("prefer", "return=minimal")])).unwrap().minimal());
        assert!(!RelationHeaders::parse(&headers(&[("prefer", "return=representation")])).unwrap().minimal());
        for bad in ["AAA", "respond-async, return=minimal", "RETURN=MINIMAL"] {
            let problems = RelationHeaders::parse(&headers(&[("prefer", bad)])).unwrap_err();
            assert_eq!(problems[0].pointer, "Prefer", "{bad:?}");
        }
        let twice = headers(&[("prefer", "return=minimal"), ("prefer", "return=minimal")]);
        assert!(RelationHeaders::parse(&twice).is_err());
    }

    #[test]
    fn idempotency_keys_are_bounded() {
        let ok = RelationHeaders::parse(&headers(&[("idempotency-key", "sync-42")])).unwrap();
        assert_eq!(ok.idempotency_key(), Some("sync-42"));
        let long = "k".repeat(256);
        let problems = RelationHeaders::parse(&headers(&[("idempotency-key", &long)])).unwrap_err();
        assert_eq!(problems[0].pointer, "Idempotency-Key");
    }
}
