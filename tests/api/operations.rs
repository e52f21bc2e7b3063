//! What operators rely on: metrics and rate limiting.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

use crate::helpers::spawn_app;

/// `GET /metrics` as text, asserting it is served as Prometheus text.
pub async fn metrics_text(app: &crate::helpers::TestApp) -> String {
    let response = app.router.clone().oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_links_changed() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let product = app.record(&org, "products", json!({})).await;
    let order = app.record(&org, "orders", json!({})).await;
    let path = format!("/v2/crm/orders/{order}/relation");
    app.patch(&path, &org.token, json!({"attributeSlug": "products", "add": [product]})).await;
    let text = metrics_text(&app).await;
    for expected in [
        r#"http_requests_total{route="/v2/crm/{objectSlug}/{recordId}/relation",method="PATCH",status="200"}"#,
        "http_request_duration_seconds_bucket",
        "relation_links_added_total",
        r#"db_pool_connections{state="idle"}"#,
        r#"db_pool_connections{state="in_use"}"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    assert!(!text.contains(&order.to_string()), "metrics are labelled by route template, never by id");
}

#[tokio::test]
async fn a_token_over_its_rate_is_429_with_retry_after_and_others_are_not() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let other = app.org("globex").await;
    let limited = app.rate_limited(1);
    // A quota of 1/s allows a burst of 2.
    for _ in 0..2 {
        assert_eq!(limited.get("/v2/organizations/users", &org.token).await.status, StatusCode::OK);
    }
    let refused = limited.get("/v2/organizations/users", &org.token).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.code(), "rate_limited");
    let wait: u64 = refused.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    assert_eq!(limited.get("/v2/organizations/users", &other.token).await.status, StatusCode::OK);
    // Unauthenticated probes are never limited.
    assert_eq!(limited.call(Method::GET, "/healthz", None, None).await.status, StatusCode::OK);
}
