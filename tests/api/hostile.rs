//! Hostile input: each gets its documented 4xx, nothing is written, the server stays healthy.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestOrg, spawn_app};

async fn setup() -> (TestApp, TestOrg, String) {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let order = app.record(&org, "orders", json!({"number": "1"})).await;
    (app, org, format!("/v2/crm/orders/{order}/relation"))
}

async fn raw(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    content_type: &str,
    body: String,
) -> crate::helpers::TestResponse {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    app.send(request).await
}

async fn links_written(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from crm_record_links").fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn deeply_nested_and_huge_json_is_refused() {
    let (app, org, path) = setup().await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let response = raw(&app, &org.token, Method::PATCH, &path, "application/json", deep).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let nested_object = format!("{{\"attributeSlug\": {}1{}}}", "{\"a\":".repeat(5_000), "}".repeat(5_000));
    let response = raw(&app, &org.token, Method::PATCH, &path, "application/json", nested_object).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let huge = json!({"attributeSlug": "products", "add": vec!["x".repeat(100); 20_000]}).to_string();
    let response = raw(&app, &org.token, Method::PATCH, &path, "application/json", huge).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(links_written(&app).await, 0);
}

#[tokio::test]
async fn ten_thousand_ids_are_refused() {
    let (app, org, path) = setup().await;
    let ids: Vec<String> = (0..10_000).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let response = app.patch(&path, &org.token, json!({"attributeSlug": "products", "add": ids})).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.body["errors"][0]["code"], "too_many");
    assert_eq!(response.pointers(), vec!["/add"]);
}

#[tokio::test]
async fn wrong_content_types_are_415() {
    let (app, org, path) = setup().await;
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/jsonx"]
    {
        let body = json!({"attributeSlug": "products", "add": []}).to_string();
        let response = raw(&app, &org.token, Method::PATCH, &path, content_type, body).await;
        assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type}");
    }
    let charset = raw(&app, &org.token, Method::PATCH, &path, "application/json; charset=utf-8", "{}".into()).await;
    assert_eq!(charset.status, StatusCode::BAD_REQUEST, "JSON with a charset parameter is still JSON");
}

#[tokio::test]
async fn unicode_and_sql_looking_strings_are_data_not_code() {
    let (app, org, _) = setup().await;
    let nasty = [
        "Robert'); DROP TABLE crm_records; --",
        "' OR '1'='1",
        "ℌ𝔢𝔩𝔩𝔬 👩‍👩‍👧‍👦 \u{200b}\u{feff} زیبا",
        "\u{10ffff}\u{fffd}",
        "$1 $$ ; \\x00",
    ];
    for name in nasty {
        let id = app.record(&org, "products", json!({"name": name})).await;
        assert_eq!(app.attributes(&org, "products", id).await["name"], name);
    }
    let slug_attempts = ["products'; --", "products%00", "../objects", "PRODUCTS"];
    for slug in slug_attempts {
        let path = format!("/v2/crm/{}", urlencode(slug));
        assert_eq!(app.get(&path, &org.token).await.status, StatusCode::NOT_FOUND, "{slug}");
    }
    let lonely_surrogate = r#"{"name": "\ud800"}"#.to_owned();
    let response = raw(&app, &org.token, Method::POST, "/v2/crm/products", "application/json", lonely_surrogate).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/readyz", &org.token).await.status, StatusCode::OK);
    let total: i64 = sqlx::query_scalar("select count(*) from crm_records").fetch_one(&app.pool).await.unwrap();
    assert_eq!(total, 6, "one order and five products, nothing else");
}

fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

#[tokio::test]
async fn another_organizations_token_sees_and_touches_nothing() {
    let (app, acme, path) = setup().await;
    let globex = app.org("globex").await;
    app.shop(&globex).await;
    let theirs = app.record(&globex, "products", json!({})).await;
    let mine = app.record(&acme, "products", json!({})).await;
    // Globex's token on Acme's order: the record does not exist for it.
    let response = app.patch(&path, &globex.token, json!({"attributeSlug": "products", "add": [theirs]})).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(!response.body.to_string().contains("acme"));
    // Acme's token cannot link Globex's product.
    let response = app.patch(&path, &acme.token, json!({"attributeSlug": "products", "add": [theirs, mine]})).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.pointers(), vec!["/add/0"]);
    assert_eq!(links_written(&app).await, 0);
}

#[tokio::test]
async fn garbage_headers_and_bodies_never_reach_a_5xx() {
    let (app, org, path) = setup().await;
    let bodies: Vec<Value> = vec![
        json!(null),
        json!("string"),
        json!(42),
        json!({"attributeSlug": null, "add": null, "remove": null}),
        json!({"attributeSlug": "products", "add": [[]]}),
        json!({"attributeSlug": "products", "add": [{"id": 1}]}),
        json!({"attributeSlug": ["products"], "add": "x"}),
        json!({"attributeSlug": "products", "add": [1e308]}),
    ];
    for body in bodies {
        let response = raw(&app, &org.token, Method::PATCH, &path, "application/json", body.to_string()).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body}");
    }
    let headers = [("idempotency-key", ""), ("if-match", "garbage"), ("prefer", "return=minimal; x=\"")];
    for (name, value) in headers {
        let request = Request::patch(&path)
            .header("authorization", format!("Bearer {}", org.token))
            .header("content-type", "application/json")
            .header(name, value)
            .body(Body::from(json!({"attributeSlug": "products", "remove": [uuid::Uuid::new_v4()]}).to_string()))
            .unwrap();
        let status = app.send(request).await.status;
        assert!(status.is_client_error() || status.is_success(), "{name}: {status}");
    }
}
