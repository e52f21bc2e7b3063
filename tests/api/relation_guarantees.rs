//! The relation endpoint under cardinality limits, conditions, retries and concurrency.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

use crate::helpers::{TestApp, TestOrg, spawn_app};

async fn setup() -> (TestApp, TestOrg) {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    (app, org)
}

fn patch(path: &str, token: &str, body: &Value, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::patch(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::from(body.to_string())).unwrap()
}

/// Sends every request at once (each on its own task) and returns the statuses.
async fn in_parallel(app: &TestApp, requests: Vec<Request<Body>>) -> Vec<StatusCode> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let router = app.router.clone();
            tokio::spawn(async move { router.oneshot(request).await.unwrap().status() })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses
}

#[tokio::test]
async fn many_to_one_refuses_a_second_target_naming_the_existing_link() {
    let (app, org) = setup().await;
    let acme = app.record(&org, "companies", json!({})).await;
    let globex = app.record(&org, "companies", json!({})).await;
    let order = app.record(&org, "orders", json!({"customer": [acme]})).await;
    let path = format!("/v2/crm/orders/{order}/relation");
    let second = app.patch(&path, &org.token, json!({"attributeSlug": "customer", "add": [globex]})).await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(second.code(), "cardinality_conflict");
    assert_eq!(second.pointers(), vec!["/add/0"]);
    assert!(second.body["errors"][0]["message"].as_str().unwrap().contains(&acme.to_string()));
    let two = app
        .patch(&path, &org.token, json!({"attributeSlug": "customer", "remove": [acme], "add": [globex, acme]}))
        .await;
    assert_eq!(two.status, StatusCode::BAD_REQUEST, "an ID in both lists");
    let swap =
        app.patch(&path, &org.token, json!({"attributeSlug": "customer", "remove": [acme], "add": [globex]})).await;
    assert_eq!(swap.status, StatusCode::OK, "{}", swap.body);
    assert_eq!(swap.body["record"]["attributes"]["customer"], json!([globex]));
}

#[tokio::test]
async fn one_to_many_refuses_a_target_linked_from_another_record() {
    let (app, org) = setup().await;
    let acme = app.record(&org, "companies", json!({})).await;
    let globex = app.record(&org, "companies", json!({})).await;
    let order = app.record(&org, "orders", json!({})).await;
    let take = |company: Uuid| {
        let body = json!({"attributeSlug": "orders", "add": [order]});
        let path = format!("/v2/crm/companies/{company}/relation");
        let app = &app;
        let token = org.token.clone();
        async move { app.patch(&path, &token, body).await }
    };
    assert_eq!(take(acme).await.status, StatusCode::OK);
    let stolen = take(globex).await;
    assert_eq!(stolen.status, StatusCode::CONFLICT);
    assert!(stolen.body["errors"][0]["message"].as_str().unwrap().contains(&acme.to_string()));
    assert_eq!(app.attributes(&org, "orders", order).await["customer"], json!([acme]), "never stolen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_writers_cannot_break_cardinality() {
    let (app, org) = setup().await;
    let order = app.record(&org, "orders", json!({})).await;
    let mut companies = Vec::new();
    for _ in 0..12 {
        companies.push(app.record(&org, "companies", json!({})).await);
    }
    let path = format!("/v2/crm/orders/{order}/relation");
    let requests = companies
        .iter()
        .map(|c| patch(&path, &org.token, &json!({"attributeSlug": "customer", "add": [c]}), &[]))
        .collect();
    let statuses = in_parallel(&app, requests).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT), "{statuses:?}");
    // From the other side: many companies race to take one order.
    let order2 = app.record(&org, "orders", json!({})).await;
    let requests = companies
        .iter()
        .map(|c| {
            patch(
                &format!("/v2/crm/companies/{c}/relation"),
                &org.token,
                &json!({"attributeSlug": "orders", "add": [order2]}),
                &[],
            )
        })
        .collect();
    let statuses = in_parallel(&app, requests).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    let linked: i64 = sqlx::query_scalar("select count(*) from crm_record_links where source_id = any($1)")
        .bind(vec![order, order2])
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(linked, 2);
}

#[tokio::test]
async fn if_match_makes_the_write_conditional() {
    let (app, org) = setup().await;
    let a = app.record(&org, "products", json!({})).await;
    let b = app.record(&org, "products", json!({})).await;
    let order = app.record(&org, "orders", json!({})).await;
    let path = format!("/v2/crm/orders/{order}/relation");
    let body = json!({"attributeSlug": "products", "add": [a]});
    let current = app.send(patch(&path, &org.token, &body, &[("if-match", "\"1\"")])).await;
    assert_eq!(current.status, StatusCode::OK);
    assert_eq!(current.headers["etag"], "\"2\"");
    let stale = app
        .send(patch(&path, &org.token, &json!({"attributeSlug": "products", "add": [b]}), &[("if-match", "\"1\"")]))
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.code(), "precondition_failed");
    assert_eq!(stale.headers["etag"], "\"2\"");
    assert_eq!(app.attributes(&org, "orders", order).await["products"], json!([a]), "nothing written");
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_response() {
    let (app, org) = setup().await;
    let [a, b] = [app.record(&org, "products", json!({})).await, app.record(&org, "products", json!({})).await];
    let order = app.record(&org, "orders", json!({})).await;
    let path = format!("/v2/crm/orders/{order}/relation");
    let body = json!({"attributeSlug": "products", "add": [a]});
    let key = [("idempotency-key", "sync-1")];
    let first = app.send(patch(&path, &org.token, &body, &key)).await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.headers.get("idempotency-replayed").is_none());
    // Someone else unlinks it; the retry must not link it again.
    app.patch(&path, &org.token, json!({"attributeSlug": "products", "remove": [a]})).await;
    let retry = app.send(patch(&path, &org.token, &body, &key)).await;
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(retry.headers["idempotency-replayed"], "true");
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.headers["etag"], first.headers["etag"]);
    assert_eq!(app.attributes(&org, "orders", order).await["products"], json!([]));
    let other = app.send(patch(&path, &org.token, &json!({"attributeSlug": "products", "add": [b]}), &key)).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.code(), "idempotency_key_reused");
    let same_key_other_record =
        app.send(patch(&format!("/v2/crm/orders/{}/relation", Uuid::new_v4()), &org.token, &body, &key)).await;
    assert_eq!(same_key_other_record.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn failed_requests_do_not_burn_the_key_and_keys_expire() {
    let (app, org) = setup().await;
    let a = app.record(&org, "products", json!({})).await;
    let order = app.record(&org, "orders", json!({})).await;
    let path = format!("/v2/crm/orders/{order}/relation");
    let key = [("idempotency-key", "k-2")];
    let missing = Uuid::new_v4();
    let failed =
        app.send(patch(&path, &org.token, &json!({"attributeSlug": "products", "add": [missing]}), &key)).await;
    assert_eq!(failed.status, StatusCode::BAD_REQUEST);
    let body = json!({"attributeSlug": "products", "add": [a]});
    assert!(app.send(patch(&path, &org.token, &body, &key)).await.headers.get("idempotency-replayed").is_none());
    sqlx::query("update idempotency_keys set created_at = now() - interval '25 hours'")
        .execute(&app.pool)
        .await
        .unwrap();
    app.patch(&path, &org.token, json!({"attributeSlug": "products", "remove": [a]})).await;
    let after_expiry = app.send(patch(&path, &org.token, &body, &key)).await;
    assert!(after_expiry.headers.get("idempotency-replayed").is_none(), "an expired key applies again");
    assert_eq!(after_expiry.body["changes"]["added"], json!([a]));
}

#[tokio::test]
async fn idempotency_keys_are_per_organization() {
    let (app, acme) = setup().await;
    let globex = app.org("globex").await;
    app.shop(&globex).await;
    let key = [("idempotency-key", "shared")];
    for org in [&acme, &globex] {
        let product = app.record(org, "products", json!({})).await;
        let order = app.record(org, "orders", json!({})).await;
        let body = json!({"attributeSlug": "products", "add": [product]});
        let response = app.send(patch(&format!("/v2/crm/orders/{order}/relation"), &org.token, &body, &key)).await;
        assert_eq!(response.status, StatusCode::OK);
        assert!(response.headers.get("idempotency-replayed").is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_apply_once() {
    let (app, org) = setup().await;
    let order = app.record(&org, "orders", json!({})).await;
    let mut products = Vec::new();
    for _ in 0..20 {
        products.push(app.record(&org, "products", json!({})).await);
    }
    let path = format!("/v2/crm/orders/{order}/relation");
    let body = json!({"attributeSlug": "products", "add": products});
    let requests = (0..8).map(|_| patch(&path, &org.token, &body, &[("idempotency-key", "dup")])).collect();
    let statuses = in_parallel(&app, requests).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT), "{statuses:?}");
    let version: i64 = sqlx::query_scalar("select version from crm_records where record_id = $1")
        .bind(order)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(version, 2, "applied exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_parallel_adds_all_land() {
    let (app, org) = setup().await;
    let order = app.record(&org, "orders", json!({})).await;
    let mut products = Vec::new();
    for _ in 0..32 {
        products.push(app.record(&org, "products", json!({})).await);
    }
    let path = format!("/v2/crm/orders/{order}/relation");
    let requests = products
        .iter()
        .map(|p| patch(&path, &org.token, &json!({"attributeSlug": "products", "add": [p]}), &[]))
        .collect();
    let statuses = in_parallel(&app, requests).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
    let linked = app.attributes(&org, "orders", order).await["products"].as_array().unwrap().len();
    assert_eq!(linked, 32);
    let version: i64 = sqlx::query_scalar("select version from crm_records where record_id = $1")
        .bind(order)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(version, 33);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_changes_in_any_order_never_deadlock_or_fail() {
    let (app, org) = setup().await;
    let mut orders = Vec::new();
    let mut products = Vec::new();
    for _ in 0..3 {
        orders.push(app.record(&org, "orders", json!({})).await);
    }
    for _ in 0..6 {
        products.push(app.record(&org, "products", json!({})).await);
    }
    let mut requests = Vec::new();
    for round in 0..48usize {
        let mut ids = products.clone();
        ids.rotate_left(round % 6);
        if round % 2 == 1 {
            ids.reverse();
        }
        let (add, remove) = ids.split_at(3);
        let order = orders[round % 3];
        let body = json!({"attributeSlug": "products", "add": add, "remove": remove});
        requests.push(patch(&format!("/v2/crm/orders/{order}/relation"), &org.token, &body, &[]));
        // The same links written from the products' side at the same time.
        let product = products[round % 6];
        let body =
            json!({"attributeSlug": "orders", "add": [orders[(round + 1) % 3]], "remove": [orders[(round + 2) % 3]]});
        requests.push(patch(&format!("/v2/crm/products/{product}/relation"), &org.token, &body, &[]));
    }
    let statuses = in_parallel(&app, requests).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
    let duplicates: i64 = sqlx::query_scalar(
        "select count(*) from (select 1 from crm_record_links group by source_id, relation_id, target_id having count(*) > 1) d",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(duplicates, 0);
}
