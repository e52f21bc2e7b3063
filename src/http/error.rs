//! The one API error type and its envelope:
//! `{"success": false, "status", "code", "message", "errors": [{"pointer", "code", "message"}]}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::scope::Scope;

/// One problem found in a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// RFC 6901 pointer into the body (`/add/3`), or the query parameter or header name.
    #[schema(example = "/add/0")]
    pub pointer: String,
    /// Machine-readable reason.
    #[schema(example = "not_found")]
    pub code: String,
    /// What was wrong and what was expected.
    pub message: String,
}

impl FieldError {
    /// Builds one entry.
    pub fn new(pointer: impl Into<String>, code: &str, message: impl Into<String>) -> FieldError {
        FieldError { pointer: pointer.into(), code: code.to_owned(), message: message.into() }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// The HTTP status, repeated.
    #[schema(example = 400)]
    pub status: u16,
    /// Machine-readable error code.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// One sentence a person can act on.
    pub message: String,
    /// Every problem found, not only the first; at most 100 are listed (see `errorsOmitted`).
    pub errors: Vec<FieldError>,
    /// How many more problems were found than `errors` lists; absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub errors_omitted: Option<usize>,
}

/// Most problems an error response lists; the rest are only counted.
pub const MAX_LISTED_ERRORS: usize = 100;
/// Longest message or pointer in an error response, in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;
pub use crate::domain::problem::echo;

fn bounded(text: String) -> String {
    match crate::domain::problem::truncate(&text, MAX_MESSAGE_CHARS) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(cut) => cut,
    }
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String, errors: Vec<FieldError> },
    #[error("Send an API token in the header 'Authorization: Bearer <token>'.")]
    MissingToken,
    #[error("The API token is invalid or has been revoked.")]
    InvalidToken,
    #[error("This API token lacks the '{0}' scope needed here.")]
    MissingScope(Scope),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict { code: &'static str, message: String, errors: Vec<FieldError> },
    /// An atomic batch refused with the status of its operations' problems (404, 412).
    #[error("{message}")]
    BatchRefused { status: StatusCode, code: &'static str, message: String, errors: Vec<FieldError> },
    /// `If-Match` names another version than the current one (given, for the `ETag` header).
    #[error("The record has changed: If-Match does not match its current ETag \"{0}\". Fetch it and retry.")]
    PreconditionFailed(i64),
    #[error("The request body exceeds the limit of 1 MiB.")]
    PayloadTooLarge,
    #[error("The request body arrived too slowly; send it within {0} seconds.")]
    BodyTimeout(u64),
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// Something the client holds no longer exists here (410), e.g. an expired feed cursor.
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    /// A bounded resource of this process is exhausted; retry shortly (503).
    #[error("{message}")]
    Busy { code: &'static str, message: String },
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    #[error("Too many requests (for this token, or failed ones from this address); retry after {0} seconds.")]
    RateLimited(u64),
    #[error("The database is unavailable; retry shortly.")]
    Unavailable,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<crate::domain::problem::Problem> for FieldError {
    fn from(p: crate::domain::problem::Problem) -> FieldError {
        FieldError { pointer: p.pointer, code: p.code.to_owned(), message: p.message }
    }
}

impl From<crate::db::records::WriteError> for ApiError {
    fn from(e: crate::db::records::WriteError) -> ApiError {
        use crate::db::records::WriteError;
        match e {
            WriteError::Invalid(problems) => ApiError::invalid(problems),
            WriteError::Conflict(problems) => ApiError::conflict(problems),
            WriteError::Database(e) => e.into(),
        }
    }
}

impl ApiError {
    /// A 400 from domain problems.
    pub fn invalid(problems: Vec<crate::domain::problem::Problem>) -> ApiError {
        ApiError::validation(problems.into_iter().map(FieldError::from).collect())
    }

    /// A 409: the relation's cardinality would be exceeded; names every link in the way.
    pub fn conflict(problems: Vec<crate::domain::problem::Problem>) -> ApiError {
        let message = match problems.as_slice() {
            [one] => one.message.clone(),
            many => format!("{} links conflict with the relation's cardinality, see 'errors'.", many.len()),
        };
        let errors = problems.into_iter().map(FieldError::from).collect();
        ApiError::Conflict { code: "cardinality_conflict", message, errors }
    }

    /// A 400 for failed validation with every problem listed.
    pub fn validation(errors: Vec<FieldError>) -> ApiError {
        let message = match errors.as_slice() {
            [one] => format!("Invalid request: {}", one.message),
            many => format!("Invalid request: {} problems, see 'errors'.", many.len()),
        };
        ApiError::BadRequest { code: "validation_failed", message, errors }
    }

    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::MissingToken | ApiError::InvalidToken => StatusCode::UNAUTHORIZED,
            ApiError::MissingScope(_) | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::BatchRefused { status, .. } => *status,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Gone { .. } => StatusCode::GONE,
            ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } | ApiError::Conflict { code, .. } => code,
            ApiError::Unprocessable { code, .. } | ApiError::Gone { code, .. } | ApiError::Busy { code, .. } => code,
            ApiError::BatchRefused { code, .. } => code,
            ApiError::PreconditionFailed(_) => "precondition_failed",
            ApiError::MissingToken => "missing_token",
            ApiError::InvalidToken => "invalid_token",
            ApiError::MissingScope(_) => "insufficient_scope",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::BodyTimeout(_) => "body_timeout",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::Unavailable => "database_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

/// A per-organization limit is a 422 that names it; connection-level failures mean "try again
/// later" (503), not a bug (500).
impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> ApiError {
        if let Some(message) = crate::db::limit_reached(&err) {
            return ApiError::Unprocessable { code: "limit_reached", message };
        }
        let unavailable = match &err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
            sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|c| {
                // 08: connection exception; 57P01-03: shutdown or not yet accepting.
                c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03")
            }),
            _ => false,
        };
        if unavailable {
            tracing::warn!(error = %err, "database unavailable");
            ApiError::Unavailable
        } else {
            ApiError::Internal(err.to_string())
        }
    }
}

/// Builds an envelope response; shared with the middleware that wraps bare framework errors.
/// Every error response passes here, so this is where it is bounded: at most
/// [`MAX_LISTED_ERRORS`] problems (the rest counted), each text at most [`MAX_MESSAGE_CHARS`].
pub fn envelope(status: StatusCode, code: &str, message: String, mut errors: Vec<FieldError>) -> Response {
    let omitted = errors.len().saturating_sub(MAX_LISTED_ERRORS);
    errors.truncate(MAX_LISTED_ERRORS);
    for error in &mut errors {
        error.pointer = bounded(std::mem::take(&mut error.pointer));
        error.message = bounded(std::mem::take(&mut error.message));
    }
    let body = ErrorBody {
        success: false,
        status: status.as_u16(),
        code: code.to_owned(),
        message: bounded(message),
        errors,
        errors_omitted: (omitted > 0).then_some(omitted),
    };
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    match status {
        StatusCode::UNAUTHORIZED => {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        _ => {}
    }
    response
}

impl ApiError {
    /// The envelope's status, code, message and errors (as [`IntoResponse`] sends them).
    pub fn into_parts(self) -> (StatusCode, &'static str, String, Vec<FieldError>) {
        let (status, code) = (self.status_code(), self.code());
        let (message, errors) = self.message_and_errors();
        (status, code, message, errors)
    }

    fn message_and_errors(self) -> (String, Vec<FieldError>) {
        match self {
            ApiError::Internal(detail) => {
                // Logged once, inside the request span; the client learns nothing internal.
                tracing::error!(error = %detail, "internal error");
                ("Something went wrong on our side; it has been logged.".to_owned(), Vec::new())
            }
            ApiError::BadRequest { message, errors, .. } | ApiError::Conflict { message, errors, .. } => {
                (message, errors)
            }
            ApiError::BatchRefused { message, errors, .. } => (message, errors),
            other => (other.to_string(), Vec::new()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let code = self.code();
        let retry_after = match &self {
            ApiError::RateLimited(seconds) => Some(*seconds),
            _ => None,
        };
        let current_etag = match &self {
            ApiError::PreconditionFailed(version) => Some(format!("\"{version}\"")),
            _ => None,
        };
        let (message, errors) = self.message_and_errors();
        let mut response = envelope(status, code, message, errors);
        if let Some(etag) = current_etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
            response.headers_mut().insert(header::ETAG, etag);
        }
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        if status == StatusCode::REQUEST_TIMEOUT {
            // The rest of the body may still be on its way: this connection is done.
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if code == "invalid_token" {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
        }
        response
    }
}
