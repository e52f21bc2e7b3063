//! The smaller rules of the hardening review: one Authorization header, honest media types,
//! one spelling per id, datetimes that read back, and the security headers.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn two_authorization_headers_are_a_400() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let request = Request::get("/v2/organizations/users")
        .header("authorization", format!("Bearer {}", org.token))
        .header("authorization", "Bearer crm_nope")
        .body(Body::empty())
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.code(), "duplicate_header");
}

#[tokio::test]
async fn encoded_bodies_and_other_charsets_are_415() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let body = json!({"slug": "things", "singularName": "Thing", "pluralName": "Things"}).to_string();
    let cases = [
        ("application/json", Some("gzip")),
        ("application/json", Some("br")),
        ("application/json; charset=utf-16", None),
        ("application/json; charset=\"ISO-8859-1\"", None),
    ];
    for (content_type, encoding) in cases {
        let mut request = Request::post("/v2/crm/objects")
            .header("authorization", format!("Bearer {}", org.token))
            .header("content-type", content_type);
        if let Some(encoding) = encoding {
            request = request.header("content-encoding", encoding);
        }
        let response = app.send(request.body(Body::from(body.clone())).unwrap()).await;
        assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type} {encoding:?}");
        assert_eq!(response.code(), "unsupported_media_type");
    }
    let utf8 = Request::post("/v2/crm/objects")
        .header("authorization", format!("Bearer {}", org.token))
        .header("content-type", "application/json; charset=UTF-8")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(app.send(utf8).await.status, StatusCode::CREATED);
    assert_eq!(app.get("/v2/crm/objects/things", &org.token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn path_ids_take_only_the_form_bodies_take() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let id = app.record(&org, "products", json!({"name": "Dress"})).await;
    assert_eq!(app.get(&format!("/v2/crm/products/{id}"), &org.token).await.status, StatusCode::OK);
    let upper = id.to_string().to_uppercase();
    assert_eq!(app.get(&format!("/v2/crm/products/{upper}"), &org.token).await.status, StatusCode::OK);
    for other in [format!("%7B{id}%7D"), format!("urn:uuid:{id}"), id.simple().to_string()] {
        let response = app.get(&format!("/v2/crm/products/{other}"), &org.token).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{other}");
    }
}

#[tokio::test]
async fn datetimes_that_would_not_read_back_are_refused() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.object(&org, "events").await;
    app.attribute(&org, "events", json!({"label": "At", "type": "datetime", "isUnique": false})).await;
    for at in ["9999-12-31T23:59:59-23:59", "2025-06-01T10:00:60Z", "0000-01-01T00:00:00+01:00"] {
        let response = app.post("/v2/crm/events", &org.token, json!({"at": at})).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{at}");
        assert_eq!(response.pointers(), vec!["/at"]);
    }
    let id = app.record(&org, "events", json!({"at": "9999-12-31T23:59:59+00:00"})).await;
    let stored = app.attributes(&org, "events", id).await["at"].clone();
    let again = app.post("/v2/crm/events", &org.token, json!({ "at": stored })).await;
    assert_eq!(again.status, StatusCode::CREATED, "what we return must be accepted: {}", again.body);
}

#[tokio::test]
async fn api_responses_are_nosniff_and_no_store_and_docs_have_a_policy() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    for response in [app.get("/v2/crm/objects", &org.token).await, app.call(Method::GET, "/nowhere", None, None).await]
    {
        assert_eq!(response.headers["x-content-type-options"], "nosniff");
        assert_eq!(response.headers["cache-control"], "no-store");
    }
    let docs = app.router.clone();
    let response = tower::ServiceExt::oneshot(docs, Request::get("/docs/").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn swagger_ui_does_not_keep_the_token() {
    use http_body_util::BodyExt;
    let app = spawn_app().await;
    let request = Request::get("/docs/swagger-initializer.js").body(Body::empty()).unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let script = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(!script.contains("\"persistAuthorization\":true"), "{script}");
    assert!(!script.contains("localStorage"), "{script}");
}
