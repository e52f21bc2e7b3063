//! Every response is bounded, whatever the request: error lists, messages, echoed input.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Map, Value, json};

use crate::helpers::{TestApp, TestOrg, spawn_app};

/// An object with `n` text attributes, the shape that made one message per unknown key repeat
/// the whole schema.
async fn wide_object(app: &TestApp, org: &TestOrg, n: usize) {
    app.object(org, "wides").await;
    for i in 0..n {
        app.attribute(org, "wides", json!({"label": format!("Field {i}"), "type": "text", "isUnique": false})).await;
    }
}

fn unknown_keys(count: usize, key_len: usize) -> Value {
    let keys = (0..count).map(|i| (format!("{i:0key_len$}"), Value::from(1)));
    Value::Object(keys.collect::<Map<_, _>>())
}

#[tokio::test]
async fn a_body_of_unknown_keys_gets_a_bounded_error_list_with_a_count_of_the_rest() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    wide_object(&app, &org, 40).await;
    for body in [unknown_keys(10_000, 8), unknown_keys(90_000, 5)] {
        let sent = body.to_string().len();
        let total = body.as_object().unwrap().len();
        let response = app.post("/v2/crm/wides", &org.token, body).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert_eq!(response.body["errors"].as_array().unwrap().len(), 100);
        assert_eq!(response.body["errorsOmitted"], total - 100);
        assert!(response.body["message"].as_str().unwrap().contains(&total.to_string()));
        let size = response.body.to_string().len();
        assert!(size < 64 * 1024, "a {sent}-byte body got a {size}-byte error");
    }
}

#[tokio::test]
async fn messages_and_pointers_are_cut_and_echoed_input_is_truncated() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    wide_object(&app, &org, 1).await;
    let long_key = "k".repeat(100_000);
    let response = app.post("/v2/crm/wides", &org.token, json!({ long_key: 1 })).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    for field in ["pointer", "message"] {
        let text = response.body["errors"][0][field].as_str().unwrap();
        assert!(text.chars().count() <= 501, "{field}: {} characters", text.len());
    }
    let slug = "s".repeat(65_000);
    let response = app.get(&format!("/v2/crm/{slug}"), &org.token).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(response.body.to_string().len() < 1024, "{}", response.body);
    let id = "f".repeat(10_000);
    let response = app.get(&format!("/v2/crm/wides/{id}"), &org.token).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(response.body.to_string().len() < 1024, "{}", response.body);
}

#[tokio::test]
async fn a_long_or_odd_request_id_is_replaced_not_echoed() {
    let app = spawn_app().await;
    for sent in ["x".repeat(10_000), "has space".to_owned()] {
        let request = Request::get("/healthz").header("x-request-id", sent.as_str()).body(Body::empty()).unwrap();
        let response = app.send(request).await;
        let echoed = response.headers["x-request-id"].to_str().unwrap();
        assert_eq!(echoed.len(), 36, "{echoed}");
    }
    let fine = "a".repeat(128);
    let response = app.send(Request::get("/healthz").header("x-request-id", &fine).body(Body::empty()).unwrap()).await;
    assert_eq!(response.headers["x-request-id"], fine.as_str());
}

#[tokio::test]
async fn metrics_fold_unknown_methods_and_paths_into_one_label() {
    let app = spawn_app().await;
    for i in 0..50 {
        let method = Method::from_bytes(format!("M{}{i}", "X".repeat(2_000)).as_bytes()).unwrap();
        app.call(method, &format!("/nowhere/{i}"), None, None).await;
    }
    let text = crate::operations::metrics_text(&app).await;
    assert!(!text.contains("XXXX"), "an invented method became a label");
    assert!(!text.contains("/nowhere"), "an unmatched path became a label");
    assert!(text.contains(r#"route="unmatched",method="OTHER""#), "{text}");
    assert!(text.len() < 256 * 1024, "{} bytes of metrics", text.len());
}
