use axum::body::Body;
use axum::http::{Method, Request, StatusCode};

use crate::helpers::spawn_app;

#[tokio::test]
async fn request_ids_are_generated_and_echoed() {
    let app = spawn_app().await;
    let generated = app.call(Method::GET, "/healthz", None, None).await;
    let id = generated.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "{id}");
    let echoed =
        app.send(Request::get("/healthz").header("x-request-id", "trace-me-42").body(Body::empty()).unwrap()).await;
    assert_eq!(echoed.headers["x-request-id"], "trace-me-42");
}

#[tokio::test]
async fn unknown_routes_and_methods_get_the_envelope() {
    let app = spawn_app().await;
    let missing = app.call(Method::GET, "/v2/nothing-here", None, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "not_found");
    let wrong_method = app.call(Method::DELETE, "/healthz", None, None).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.body["success"], false);
}

#[tokio::test]
async fn bodies_over_one_mib_are_413_in_the_envelope() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let big = vec![b' '; 1024 * 1024 + 1];
    let request = Request::post("/v2/organizations/users")
        .header("authorization", format!("Bearer {}", org.token))
        .header("content-type", "application/json")
        .header("content-length", big.len())
        .body(Body::from(big))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.code(), "payload_too_large");
}

#[tokio::test]
async fn cors_preflight_allows_configured_origins_only() {
    let app = spawn_app().await;
    let preflight = |origin: &'static str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/v2/organizations/users")
            .header("origin", origin)
            .header("access-control-request-method", "PATCH")
            .header("access-control-request-headers", "authorization,idempotency-key")
            .body(Body::empty())
            .unwrap()
    };
    let allowed = app.send(preflight("https://app.example")).await;
    assert_eq!(allowed.headers["access-control-allow-origin"], "https://app.example");
    let denied = app.send(preflight("https://evil.example")).await;
    assert!(denied.headers.get("access-control-allow-origin").is_none());
}
