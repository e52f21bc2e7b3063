//! Per-organization limits: objects, attributes per object, options per attribute, kept
//! Idempotency-Key responses; each refused with a 422 naming the limit, nothing written.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use crm_api::domain::limits::Limits;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestOrg, TestResponse, spawn_app};

const SMALL: Limits = Limits { objects: 5, attributes_per_object: 10, options_per_attribute: 3, idempotency_keys: 2 };

async fn small_app() -> (TestApp, TestOrg) {
    let app = spawn_app().await.with_limits(SMALL).await;
    let org = app.org("acme").await;
    (app, org)
}

fn object(slug: &str) -> Value {
    json!({"slug": slug, "singularName": slug, "pluralName": slug})
}

fn assert_limit(response: &TestResponse, says: &str) {
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", response.body);
    assert_eq!(response.code(), "limit_reached");
    assert!(response.body["message"].as_str().unwrap().contains(says), "{}", response.body);
}

#[tokio::test]
async fn objects_stop_at_the_limit_even_when_created_at_once() {
    let (app, org) = small_app().await;
    // people and companies are two of the five.
    let creates = (0..10).map(|i| app.post("/v2/crm/objects", &org.token, object(&format!("things{i}"))));
    let statuses: Vec<StatusCode> = futures_join(creates).await.into_iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 3, "{statuses:?}");
    assert_limit(&app.post("/v2/crm/objects", &org.token, object("more")).await, "at most 5 objects");
    let listed = app.get("/v2/crm/objects", &org.token).await;
    assert_eq!(listed.body["collection"].as_array().unwrap().len(), 5);
}

async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.collect();
    let mut out = Vec::new();
    let mut pinned: Vec<_> = handles.into_iter().map(Box::pin).collect();
    // Poll all together so the requests really overlap.
    let all = std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out.iter().any(|(j, _)| *j == i) {
                continue;
            }
            match f.as_mut().poll(cx) {
                std::task::Poll::Ready(v) => out.push((i, v)),
                std::task::Poll::Pending => pending = true,
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    });
    all.await;
    out.into_iter().map(|(_, v)| v).collect()
}

#[tokio::test]
async fn attributes_stop_at_the_limit_on_both_sides_of_a_relation() {
    let (app, org) = small_app().await;
    app.object(&org, "products").await;
    app.object(&org, "orders").await;
    // Three system attributes; seven more fit (people, a standard object, has eight).
    for label in ["A", "B", "C", "D", "E", "F", "G"] {
        app.attribute(&org, "products", json!({"label": label, "type": "text", "isUnique": false})).await;
    }
    let path = "/v2/crm/objects/products/attributes";
    assert_limit(
        &app.post(path, &org.token, json!({"label": "H", "type": "text", "isUnique": false})).await,
        "at most 10 attributes",
    );
    // A relation from orders would put its inverse on the full products: refused, and orders
    // gains nothing either.
    let relation = json!({"label": "Products", "type": "relation", "relationType": "many_to_many",
        "relatedObjectSlug": "products", "relatedObjectLabel": "Orders"});
    assert_limit(&app.post("/v2/crm/objects/orders/attributes", &org.token, relation).await, "at most 10 attributes");
    let orders = app.get("/v2/crm/objects/orders", &org.token).await;
    assert_eq!(orders.body["object"]["attributes"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn options_stop_at_the_limit_on_create_and_update() {
    let (app, org) = small_app().await;
    app.object(&org, "deals").await;
    let four = json!([{"value": "a"}, {"value": "b"}, {"value": "c"}, {"value": "d"}]);
    let path = "/v2/crm/objects/deals/attributes";
    let create = json!({"label": "Stage", "type": "select", "options": four});
    assert_limit(&app.post(path, &org.token, create).await, "at most 3 options");
    let three =
        json!({"label": "Stage", "type": "select", "options": [{"value": "a"}, {"value": "b"}, {"value": "c"}]});
    app.attribute(&org, "deals", three).await;
    let update = app.patch("/v2/crm/objects/deals/attributes/stage", &org.token, json!({"options": four})).await;
    assert_limit(&update, "at most 3 options");
}

#[tokio::test]
async fn kept_idempotency_responses_stop_at_the_limit_and_replays_still_work() {
    let (app, org) = small_app().await;
    app.shop(&org).await;
    let order = app.record(&org, "orders", json!({})).await;
    let path = format!("/v2/crm/orders/{order}/relation");
    let keyed = |key: &str, product: uuid::Uuid| {
        let body = json!({"attributeSlug": "products", "add": [product]}).to_string();
        Request::builder()
            .method(Method::PATCH)
            .uri(&path)
            .header("authorization", format!("Bearer {}", org.token))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(body))
            .unwrap()
    };
    let products = [app.record(&org, "products", json!({})).await, app.record(&org, "products", json!({})).await];
    assert_eq!(app.send(keyed("k-1", products[0])).await.status, StatusCode::OK);
    assert_eq!(app.send(keyed("k-2", products[1])).await.status, StatusCode::OK);
    let third = app.record(&org, "products", json!({})).await;
    assert_limit(&app.send(keyed("k-3", third)).await, "at most 2 Idempotency-Key responses");
    assert_eq!(app.send(keyed("k-1", products[0])).await.headers["idempotency-replayed"], "true");
    let links = app.attributes(&org, "orders", order).await["products"].as_array().unwrap().len();
    assert_eq!(links, 2, "the refused request wrote nothing");
}

#[tokio::test]
async fn the_workspace_document_is_rendered_once_per_schema_version() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.object(&org, "products").await;
    let first = app.get("/v2/openapi.json", &org.token).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(app.get("/v2/openapi.json", &org.token).await.body, first.body);
    app.attribute(&org, "products", json!({"label": "Fresh Key", "type": "text", "isUnique": false})).await;
    let changed = app.get("/v2/openapi.json", &org.token).await;
    assert!(changed.body.to_string().contains("fresh_key"), "a schema change must show in the next document");
    let other = app.org("globex").await;
    let theirs = app.get("/v2/openapi.json", &other.token).await;
    assert!(!theirs.body.to_string().contains("fresh_key"), "documents are per organization");
}
