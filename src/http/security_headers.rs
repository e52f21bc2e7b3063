//! Headers that keep browsers and caches from misusing our responses.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Swagger UI loads only its own scripts and styles (it sets inline styles and uses `data:`
/// images) and talks only to this server; nothing may frame it.
const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'none'";

/// Every response: `X-Content-Type-Options: nosniff`. API responses: `Cache-Control: no-store`
/// (they carry one organization's data to one token holder). `/docs`: a Content Security Policy.
pub async fn set(request: Request, next: Next) -> Response {
    let docs = request.uri().path() == "/docs" || request.uri().path().starts_with("/docs/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if docs {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_POLICY));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    } else {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
