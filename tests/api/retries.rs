//! Clients that time out (the request is cancelled mid-flight) and retry with the same key.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use tower::ServiceExt;

use crate::helpers::spawn_app;

fn keyed(path: &str, token: &str, key: &str, body: &serde_json::Value) -> Request<Body> {
    Request::patch(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_request_retried_with_its_key_applies_exactly_once() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let mut orders = Vec::new();
    for _ in 0..12 {
        orders.push(app.record(&org, "orders", json!({})).await);
    }
    let mut products = Vec::new();
    for _ in 0..12 {
        products.push(app.record(&org, "products", json!({})).await);
    }
    for (i, order) in orders.iter().enumerate() {
        let path = format!("/v2/crm/orders/{order}/relation");
        let body = json!({"attributeSlug": "products", "add": [products[i]]});
        let key = format!("retry-{i}");
        // The client gives up after a moment: the server drops the request wherever it is.
        let cancel_after = Duration::from_micros(200 * i as u64);
        let _ =
            tokio::time::timeout(cancel_after, app.router.clone().oneshot(keyed(&path, &org.token, &key, &body))).await;
        // Retries until answered; a 409 only means the first attempt is still settling.
        let mut answered = None;
        for _ in 0..100 {
            let response = app.send(keyed(&path, &org.token, &key, &body)).await;
            if response.status != StatusCode::CONFLICT {
                answered = Some(response);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let response = answered.expect("the key was released within two seconds");
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        let version: i64 = sqlx::query_scalar("select version from crm_records where record_id = $1")
            .bind(order)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(version, 2, "order {i}: applied exactly once");
        assert_eq!(app.attributes(&org, "orders", *order).await["products"], json!([products[i]]));
    }
}
