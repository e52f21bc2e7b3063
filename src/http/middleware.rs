//! Cross-cutting layers: request ids, tracing, limits, timeouts, CORS, and the guarantee that
//! every error response, including the framework's own, is in our JSON envelope.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use super::error::envelope;
use crate::telemetry;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 1024 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Settings the layers take from configuration.
#[derive(Debug, Clone)]
pub struct LayerConfig {
    /// Origins allowed to call from a browser; none disables CORS.
    pub cors_origins: Vec<String>,
    /// A request running longer is answered with 503.
    pub request_timeout: Duration,
    /// A request body arriving slower is answered with 408.
    pub body_timeout: Duration,
}

/// The time a request's body may take to arrive, for the extractors that read it.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

/// Wraps the router in the middleware stack (outermost first).
pub fn apply(router: Router, config: &LayerConfig) -> Result<Router, String> {
    let cors = cors(&config.cors_origins)?;
    Ok(router.layer(
        ServiceBuilder::new()
            .layer(axum::middleware::from_fn(super::security_headers::set))
            .layer(axum::middleware::map_request(drop_unfit_request_id))
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(axum::Extension(BodyTimeout(config.body_timeout)))
            // One line per finished request, inside the request's span (request id, route,
            // organization; never the token), with status and latency.
            .layer(
                TraceLayer::new_for_http().make_span_with(telemetry::request_span).on_response(
                    DefaultOnResponse::new().level(tracing::Level::INFO).latency_unit(LatencyUnit::Millis),
                ),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(axum::middleware::from_fn(super::metrics::track))
            .layer(axum::middleware::map_response(enveloped))
            .option_layer(cors)
            .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, config.request_timeout))
            .layer(RequestBodyLimitLayer::new(BODY_LIMIT)),
    ))
}

/// Longest `x-request-id` taken from a client; a longer or odd one is replaced by a UUID, so a
/// client cannot make us echo or log kilobytes.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

async fn drop_unfit_request_id(mut request: axum::extract::Request) -> axum::extract::Request {
    let fit = |v: &HeaderValue| {
        (1..=MAX_REQUEST_ID_CHARS).contains(&v.len()) && v.as_bytes().iter().all(|b| b.is_ascii_graphic())
    };
    let ids = request.headers().get_all(&REQUEST_ID);
    if ids.iter().count() > 1 || ids.iter().any(|v| !fit(v)) {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

fn cors(origins: &[String]) -> Result<Option<CorsLayer>, String> {
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins
        .iter()
        .map(|o| HeaderValue::from_str(o).map_err(|_| format!("CRM_CORS_ORIGINS: '{o}' is not a valid origin")))
        .collect::<Result<Vec<_>, _>>()?;
    let header = |name: &'static str| HeaderName::from_static(name);
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_MATCH,
                header("idempotency-key"),
                header("prefer"),
                REQUEST_ID,
            ])
            .expose_headers([header::ETAG, header::RETRY_AFTER, header("idempotency-replayed"), REQUEST_ID])
            .max_age(Duration::from_secs(600)),
    ))
}

/// Framework-made errors (unknown route, wrong method, body too large, timeout) come without a
/// body or as plain text; give them the same envelope as ours so clients parse one shape.
async fn enveloped<B>(response: Response<B>) -> Response
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let status = response.status();
    let is_json =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response.map(axum::body::Body::new);
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "No such endpoint; see /openapi.json.".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "This endpoint does not accept that method.".into()),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body exceeds the limit of 1 MiB.".into()),
        StatusCode::SERVICE_UNAVAILABLE => ("timeout", "The request took too long; retry shortly.".into()),
        StatusCode::BAD_REQUEST => ("bad_request", "The request is malformed.".into()),
        other => ("error", other.canonical_reason().unwrap_or("Request failed.").to_owned()),
    };
    let mut fresh = envelope(status, code, message, Vec::new());
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fresh.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fresh
}
