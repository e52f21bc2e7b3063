//! Logging: a tracing subscriber, and the per-request span named by the route template.

use axum::extract::MatchedPath;
use axum::http::Request;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber on stderr (stdout stays clean for CLI output).
/// `RUST_LOG` overrides `default_filter`.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
    };
}

/// A request method as a label: the standard methods by name, anything else `OTHER`. Labels
/// and log fields come from this closed set, so a client inventing methods cannot grow them.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN.iter().find(|m| *m == method).map_or("OTHER", Method::as_str)
}

/// The span of one HTTP request: named by the route template (`/v2/crm/{objectSlug}`), never
/// the raw path, so logs and traces group by endpoint and never carry record ids in names.
pub fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("unmatched");
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    tracing::info_span!(
        "request",
        otel.name = %format!("{} {route}", method_label(request.method())),
        method = method_label(request.method()),
        route,
        request_id,
        organization_id = tracing::field::Empty,
    )
}
