//! The batch endpoint's change feed: one `crm.relation.updated` per operation that changed
//! something, in operation order and in the batch's transaction; none for a no-op, none for an
//! operation that failed (per-operation mode) and none at all for a batch that was refused
//! (atomic mode), whichever way the server found the failure.

use axum::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::batch::{batch, products, setup};
use crate::helpers::{TestApp, TestOrg, types};

async fn since(app: &TestApp, org: &TestOrg, cursor: &str) -> Vec<Value> {
    app.all_changes(org, cursor, 100).await.0
}

fn ids(mut ids: Vec<Uuid>) -> Value {
    ids.sort();
    json!(ids)
}

/// What an event says happened: record, version, added, removed.
fn summary(event: &Value) -> (Value, Value, Value, Value) {
    let data = &event["data"];
    (event["recordId"].clone(), event["recordVersion"].clone(), data["added"].clone(), data["removed"].clone())
}

#[tokio::test]
async fn each_changing_operation_appends_one_event_and_no_ops_none() {
    let (app, org) = setup().await;
    let p = products(&app, &org, 3).await;
    let (o1, o2) = (app.record(&org, "orders", json!({})).await, app.record(&org, "orders", json!({})).await);
    let head = app.head_cursor(&org).await;
    let op =
        |record: Uuid, key: &str, list: &[Uuid]| json!({"recordId": record, "attributeSlug": "products", key: list});
    let body = json!({"operations": [
        op(o1, "add", &[p[0], p[1]]),
        op(o2, "add", &[p[0]]),
        op(o1, "remove", &[p[2]]),
        op(o1, "add", &[p[0]]),
        {"recordId": o1, "attributeSlug": "products", "add": [p[2]], "remove": [p[0]]},
    ]});
    let response = batch(&app, &org, body, &[("idempotency-key", "day-1")]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let events = since(&app, &org, &head).await;
    assert_eq!(types(&events), ["crm.relation.updated"; 3], "ops 2 and 3 change nothing");
    assert_eq!(summary(&events[0]), (json!(o1), json!(2), ids(vec![p[0], p[1]]), json!([])));
    assert_eq!(summary(&events[1]), (json!(o2), json!(2), json!([p[0]]), json!([])));
    assert_eq!(summary(&events[2]), (json!(o1), json!(3), json!([p[2]]), json!([p[0]])));
    let results = &response.body["results"];
    assert_eq!(results[4]["etag"], "\"3\"", "the event's version is the operation's etag");
    for event in &events {
        assert_eq!(event["objectSlug"], "orders");
        assert_eq!(event["idempotencyKey"], "day-1", "{event}");
        assert_eq!(event["data"]["attributeSlug"], "products");
    }
    let products_side = app.changes(&org, &format!("after={head}&objectSlug=products")).await.events;
    assert_eq!(products_side.len(), 3, "readers of the other side find them");
    let reused = json!({"operations": [op(o2, "add", &[p[1]])]});
    let reused = batch(&app, &org, reused, &[("idempotency-key", "day-1")]).await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY, "another batch under the key");
    let again =
        batch(&app, &org, json!({"operations": [op(o1, "add", &[p[2]]), op(o2, "remove", &[p[1]])]}), &[]).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(since(&app, &org, &head).await.len(), 3, "a reused key and a batch of no-ops append nothing");
}

#[tokio::test]
async fn a_refused_atomic_batch_appends_no_event() {
    let (app, org) = setup().await;
    let p = products(&app, &org, 2).await;
    let (acme, globex) =
        (app.record(&org, "companies", json!({})).await, app.record(&org, "companies", json!({})).await);
    let order = app.record(&org, "orders", json!({})).await;
    let head = app.head_cursor(&org).await;
    let add = |key: &str, id: Uuid| json!({"recordId": order, "attributeSlug": key, "add": [id]});
    let stale = json!({"recordId": order, "attributeSlug": "products", "add": [p[1]], "ifMatch": "\"9\""});
    for (ops, status) in [
        // Found by the one-call path: an unknown ID, a missing record, a stale ifMatch.
        (json!([add("products", p[0]), add("products", Uuid::new_v4())]), StatusCode::BAD_REQUEST),
        (
            json!([add("products", p[0]), {"recordId": Uuid::new_v4(), "attributeSlug": "products", "add": [p[1]]}]),
            StatusCode::NOT_FOUND,
        ),
        (json!([add("products", p[0]), stale]), StatusCode::PRECONDITION_FAILED),
        // Found by a violation the operations only meet together (cardinality, as if in order).
        (json!([add("products", p[0]), add("customer", acme), add("customer", globex)]), StatusCode::CONFLICT),
    ] {
        let response = batch(&app, &org, json!({"operations": ops}), &[]).await;
        assert_eq!(response.status, status, "{}", response.body);
    }
    assert_eq!(since(&app, &org, &head).await, Vec::<Value>::new(), "nothing written, nothing recorded");
    assert_eq!(app.attributes(&org, "orders", order).await["products"], json!([]));
}

#[tokio::test]
async fn failed_operations_in_per_operation_mode_append_no_event() {
    let (app, org) = setup().await;
    let p = products(&app, &org, 3).await;
    let (acme, globex) =
        (app.record(&org, "companies", json!({})).await, app.record(&org, "companies", json!({})).await);
    let order = app.record(&org, "orders", json!({"customer": [acme]})).await;
    let head = app.head_cursor(&org).await;
    let add = |key: &str, ids: &[Uuid]| json!({"recordId": order, "attributeSlug": key, "add": ids});
    // Without a link violation (one call) and with one (one operation at a time, in savepoints).
    let plain = json!([
        add("products", &[p[0]]),
        add("products", &[Uuid::new_v4(), p[1]]),
        {"recordId": Uuid::new_v4(), "attributeSlug": "products", "add": [p[1]]},
        {"recordId": order, "attributeSlug": "products", "add": [p[1]], "ifMatch": "\"1\""},
        add("products", &[p[0]]),
    ]);
    let violating = json!([add("customer", &[globex]), add("products", &[p[2]]), add("products", &[p[2]])]);
    let mut expected = Vec::new();
    for (ops, statuses, changed) in
        [(plain, vec![200, 400, 404, 412, 200], p[0]), (violating, vec![409, 200, 200], p[2])]
    {
        let response = batch(&app, &org, json!({"atomic": false, "operations": ops}), &[]).await;
        assert_eq!(response.status, StatusCode::MULTI_STATUS, "{}", response.body);
        let got: Vec<u64> =
            (0..statuses.len()).map(|i| response.body["results"][i]["status"].as_u64().unwrap()).collect();
        assert_eq!(got, statuses, "{}", response.body);
        expected.push((json!(order), json!(expected.len() + 2), json!([changed]), json!([])));
    }
    let events = since(&app, &org, &head).await;
    assert_eq!(events.iter().map(summary).collect::<Vec<_>>(), expected, "one event per applied change");
    let attributes = app.attributes(&org, "orders", order).await;
    assert_eq!(attributes["customer"], json!([acme]));
    assert_eq!(attributes["products"], json!([p[0], p[2]]), "in link order");
}
