//! Extractors whose rejections are our error envelope.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use super::error::{ApiError, FieldError};
use super::middleware::BodyTimeout;

/// Used when the middleware stack did not say (it always does in the server).
const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Like `axum::Json`, but failures name the JSON pointer of the bad field.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        media_type(&req)?;
        let within = req.extensions().get::<BodyTimeout>().map_or(DEFAULT_BODY_TIMEOUT, |t| t.0);
        let read = tokio::time::timeout(within, Bytes::from_request(req, state));
        let bytes = read.await.map_err(|_| ApiError::BodyTimeout(within.as_secs()))?.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest { code: "unreadable_body", message: rejection.body_text(), errors: vec![] }
            }
        })?;
        parse(&bytes).map(Json)
    }
}

/// The body must be JSON (`application/json` or `application/*+json`), in UTF-8 (the only
/// charset JSON has, RFC 8259), and not content-encoded: we decode none, and reading gzip as
/// plain text would be a lie.
fn media_type(req: &Request) -> Result<(), ApiError> {
    const NOT_JSON: &str = "Send the body as JSON with 'Content-Type: application/json'.";
    let encodings = req.headers().get_all(header::CONTENT_ENCODING);
    if encodings.iter().any(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity")) {
        return Err(ApiError::UnsupportedMediaType("Content-Encoding is not supported: send the body uncompressed."));
    }
    let Some(value) = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return Err(ApiError::UnsupportedMediaType(NOT_JSON));
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    if !(essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))) {
        return Err(ApiError::UnsupportedMediaType(NOT_JSON));
    }
    let charset = parts.filter_map(|p| p.split_once('=')).find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"));
    match charset.map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase()) {
        None => Ok(()),
        Some(c) if c == "utf-8" || c == "utf8" => Ok(()),
        Some(_) => Err(ApiError::UnsupportedMediaType("JSON bodies must be UTF-8: send 'charset=utf-8' or none.")),
    }
}

/// Deserializes `bytes`, reporting syntax errors with their position and type errors with a pointer.
/// Every request body of this API is a JSON object; anything else (an array, which serde would
/// happily read into a struct, or a scalar) is refused.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if has_nul_escape(bytes) {
        let message = "strings must not contain the NUL character (\\u0000)";
        return Err(ApiError::validation(vec![FieldError::new("", "invalid_character", message)]));
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        let problem = FieldError::new("", "invalid_type", "the body must be a JSON object");
        return Err(ApiError::validation(vec![problem]));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let pointer = to_pointer(err.path());
        classify(err.into_inner(), pointer)
    })?;
    de.end().map_err(|err| classify(err, String::new()))?;
    Ok(value)
}

fn classify(err: serde_json::Error, pointer: String) -> ApiError {
    if err.is_syntax() || err.is_eof() {
        ApiError::BadRequest {
            code: "malformed_json",
            message: format!("The body is not valid JSON: {err}."),
            errors: vec![],
        }
    } else {
        ApiError::validation(vec![FieldError::new(pointer, "invalid_type", strip_position(&err.to_string()))])
    }
}

/// Whether a JSON text contains the escape `\u0000` (not an escaped backslash followed by
/// `u0000`). PostgreSQL can store NUL in neither text nor jsonb, so no string may carry it.
/// (A raw NUL byte cannot occur inside a valid JSON string at all.)
fn has_nul_escape(bytes: &[u8]) -> bool {
    bytes.windows(6).enumerate().any(|(i, w)| {
        w.eq_ignore_ascii_case(b"\\u0000") && bytes[..i].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 0
    })
}

fn to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(format!("/{index}")),
            Segment::Map { key } => Some(format!("/{}", key.replace('~', "~0").replace('/', "~1"))),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

/// serde_json appends "at line 1 column 42"; the pointer says where, more usefully.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        add: Vec<String>,
    }

    fn error_of(json: &str) -> (String, Vec<FieldError>) {
        match parse::<Body>(json.as_bytes()).unwrap_err() {
            ApiError::BadRequest { code, errors, .. } => (code.to_owned(), errors),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        assert_eq!(error_of("{\"add\": [").0, "malformed_json");
        assert_eq!(error_of(r#"{"add": []} trailing"#).0, "malformed_json");
    }

    #[test]
    fn nul_characters_are_refused_but_escaped_backslashes_are_not() {
        assert_eq!(error_of(r#"{"add": ["a\u0000b"]}"#).1[0].code, "invalid_character");
        assert!(parse::<Body>(br#"{"add": ["a\\u0000b"]}"#).is_ok());
    }

    #[test]
    fn type_errors_point_at_the_element() {
        let (code, errors) = error_of(r#"{"add": ["a", 3]}"#);
        assert_eq!(code, "validation_failed");
        assert_eq!(errors[0].pointer, "/add/1");
        assert!(!errors[0].message.contains("line"), "{}", errors[0].message);
    }
}
