//! The change feed's record and relation events: one shape whichever endpoint made the change.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestOrg, spawn_app, types};

/// Only what happened after `cursor`; returns the events and the cursor after them.
async fn since(app: &TestApp, org: &TestOrg, cursor: &str) -> (Vec<Value>, String) {
    app.all_changes(org, cursor, 100).await
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<String> {
    ids.sort();
    ids.iter().map(Uuid::to_string).collect()
}

#[tokio::test]
async fn record_writes_record_created_updated_and_nothing_for_a_no_op() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let head = app.head_cursor(&org).await;
    let product = app.record(&org, "products", json!({"name": "Dress", "price": 29, "sku": "D-1"})).await;
    let path = format!("/v2/crm/products/{product}");
    assert_eq!(app.patch(&path, &org.token, json!({"price": 35, "name": "Dress"})).await.status, StatusCode::OK);
    assert_eq!(app.patch(&path, &org.token, json!({"price": 35})).await.status, StatusCode::OK);
    let (events, _) = since(&app, &org, &head).await;
    assert_eq!(types(&events), ["crm.record.created", "crm.record.updated"]);
    let (created, updated) = (&events[0], &events[1]);
    assert_eq!(
        (created["recordId"].as_str(), created["recordVersion"].as_i64()),
        (Some(&*product.to_string()), Some(1))
    );
    assert_eq!(created["data"]["attributes"], json!({"name": "Dress", "price": 29, "sku": "D-1"}));
    assert_eq!(updated["recordVersion"], 2);
    assert_eq!(updated["data"], json!({"changes": {"price": {"before": 29, "after": 35}}}));
}

#[tokio::test]
async fn a_link_change_is_the_same_event_from_every_endpoint() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let p: Vec<Uuid> = futures_util::future::join_all((0..3).map(|_| app.record(&org, "products", json!({})))).await;
    let head = app.head_cursor(&org).await;
    let order = app.record(&org, "orders", json!({"number": "1", "products": [p[0], p[1]]})).await;
    let relation = format!("/v2/crm/orders/{order}/relation");
    let swap = json!({"attributeSlug": "products", "add": [p[2]], "remove": [p[0]]});
    assert_eq!(app.patch(&relation, &org.token, swap.clone()).await.status, StatusCode::OK);
    // The same request again changes nothing, and writes nothing.
    assert_eq!(app.patch(&relation, &org.token, swap).await.status, StatusCode::OK);
    let record = format!("/v2/crm/orders/{order}");
    assert_eq!(app.patch(&record, &org.token, json!({"products": [p[1]]})).await.status, StatusCode::OK);
    let (events, _) = since(&app, &org, &head).await;
    assert_eq!(
        types(&events),
        ["crm.record.created", "crm.relation.updated", "crm.relation.updated", "crm.relation.updated"]
    );
    let relation_data = |added: Vec<Uuid>, removed: Vec<Uuid>| {
        json!({"attributeSlug": "products", "added": sorted(added), "removed": sorted(removed),
               "relatedObjectSlug": "products", "inverseAttributeSlug": "orders"})
    };
    assert_eq!(events[1]["data"], relation_data(vec![p[0], p[1]], vec![]));
    assert_eq!(events[2]["data"], relation_data(vec![p[2]], vec![p[0]]));
    assert_eq!(events[3]["data"], relation_data(vec![], vec![p[2]]));
    let versions: Vec<i64> = events.iter().map(|e| e["recordVersion"].as_i64().unwrap()).collect();
    assert_eq!(versions, [1, 1, 2, 3]);
    // Readers of either side find them.
    let products_side = app.changes(&org, &format!("after={head}&objectSlug=products")).await.events;
    assert_eq!(types(&products_side), ["crm.relation.updated"; 3]);
}

#[tokio::test]
async fn deleting_a_record_records_it_as_it_was_and_the_links_it_drops() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let product = app.record(&org, "products", json!({"name": "Scarf"})).await;
    let order = app.record(&org, "orders", json!({"number": "7", "products": [product]})).await;
    let head = app.head_cursor(&org).await;
    assert_eq!(app.delete(&format!("/v2/crm/products/{product}"), &org.token).await.status, StatusCode::OK);
    let (events, _) = since(&app, &org, &head).await;
    assert_eq!(types(&events), ["crm.relation.updated", "crm.record.deleted"]);
    assert_eq!(
        events[0]["data"],
        json!({"attributeSlug": "orders", "added": [], "removed": [order], "relatedObjectSlug": "orders",
               "inverseAttributeSlug": "products"})
    );
    assert_eq!(
        events[1]["data"]["attributes"],
        json!({"name": "Scarf", "price": null, "sku": null, "orders": [order]})
    );
    assert_eq!((events[0]["recordVersion"].as_i64(), events[1]["recordVersion"].as_i64()), (Some(2), Some(2)));
    let orders_side = app.changes(&org, &format!("after={head}&objectSlug=orders")).await.events;
    assert_eq!(types(&orders_side), ["crm.relation.updated"]);
    // A second delete is a 404 and records nothing.
    assert_eq!(app.delete(&format!("/v2/crm/products/{product}"), &org.token).await.status, StatusCode::NOT_FOUND);
    assert_eq!(since(&app, &org, &head).await.0.len(), 2);
}

#[tokio::test]
async fn member_links_name_no_other_object() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let max = app.member(org.id, "max@acme.example").await;
    let deal = app.record(&org, "deals", json!({"title": "Spring"})).await;
    let head = app.head_cursor(&org).await;
    let body = json!({"attributeSlug": "owners", "add": [max]});
    assert_eq!(app.patch(&format!("/v2/crm/deals/{deal}/relation"), &org.token, body).await.status, StatusCode::OK);
    let (events, _) = since(&app, &org, &head).await;
    assert_eq!(
        events[0]["data"],
        json!({"attributeSlug": "owners", "added": [max], "removed": [], "relatedObjectSlug": null,
               "inverseAttributeSlug": null})
    );
}

#[tokio::test]
async fn refused_and_replayed_requests_write_no_event_and_keys_are_recorded() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let product = app.record(&org, "products", json!({})).await;
    let order = app.record(&org, "orders", json!({})).await;
    let head = app.head_cursor(&org).await;
    let path = format!("/v2/crm/orders/{order}/relation");
    let body = json!({"attributeSlug": "products", "add": [product]}).to_string();
    let keyed = |if_match: &str| {
        Request::patch(&path)
            .header("authorization", format!("Bearer {}", org.token))
            .header("content-type", "application/json")
            .header("idempotency-key", "sync-42")
            .header("if-match", if_match)
            .header("x-request-id", "req-1")
            .body(Body::from(body.clone()))
            .unwrap()
    };
    assert_eq!(app.send(keyed("\"9\"")).await.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(app.send(keyed("\"1\"")).await.status, StatusCode::OK);
    let replay = app.send(keyed("\"1\"")).await;
    assert_eq!(replay.headers["idempotency-replayed"], "true");
    let unknown = json!({"attributeSlug": "products", "add": [Uuid::new_v4()]});
    assert_eq!(app.patch(&path, &org.token, unknown).await.status, StatusCode::BAD_REQUEST);
    let (events, _) = since(&app, &org, &head).await;
    assert_eq!(types(&events), ["crm.relation.updated"]);
    assert_eq!(
        (events[0]["idempotencyKey"].as_str(), events[0]["requestId"].as_str()),
        (Some("sync-42"), Some("req-1"))
    );
}

/// The server renders each event's text and PostgreSQL splices in the time, the version and
/// the lists (db::events::Rendered, crm_event_payload): whatever the client's strings hold, the
/// stored event is exactly the envelope, its lists sorted.
#[tokio::test]
async fn an_event_is_exactly_its_envelope_whatever_the_client_sent() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let (a, b, c) = (
        app.record(&org, "products", json!({})).await,
        app.record(&org, "products", json!({})).await,
        app.record(&org, "products", json!({})).await,
    );
    let order = app.record(&org, "orders", json!({"products": [c]})).await;
    let head = app.head_cursor(&org).await;
    let (request_id, key) = (r#"r"},"data":{"added":[]}\"#, r#"k","recordVersion":1,"removed":["#);
    let body = json!({"attributeSlug": "products", "add": [b, a], "remove": [c]}).to_string();
    let request = Request::patch(format!("/v2/crm/orders/{order}/relation"))
        .header("authorization", format!("Bearer {}", org.token))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .header("x-request-id", request_id)
        .body(Body::from(body))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::OK);
    let (events, _) = since(&app, &org, &head).await;
    assert_eq!(events.len(), 1);
    let event = events[0].as_object().unwrap();
    let keys: Vec<&str> = event.keys().map(String::as_str).collect();
    let envelope = ["id", "type", "occurredAt", "objectSlug", "recordId", "recordVersion", "actor", "requestId"];
    assert_eq!(keys, [&envelope[..], &["idempotencyKey", "data"]].concat());
    assert_eq!(event["type"], "crm.relation.updated");
    assert_eq!((event["objectSlug"].as_str(), event["recordId"].as_str()), (Some("orders"), Some(&*order.to_string())));
    assert_eq!(event["recordVersion"], 2);
    assert_eq!((event["requestId"].as_str(), event["idempotencyKey"].as_str()), (Some(request_id), Some(key)));
    assert_eq!(event["actor"]["type"], "token");
    let at = event["occurredAt"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with("+00:00"), "{at}");
    assert_eq!(
        event["data"],
        json!({"added": sorted(vec![a, b]), "removed": [c], "attributeSlug": "products",
               "relatedObjectSlug": "products", "inverseAttributeSlug": "orders"})
    );
}

/// The row's columns (what the feed filters on and Debezium routes by) are the event's own: the
/// server binds each event as a row of `crm_event_row` by position, so two fields swapped in it
/// would be stored without an error. Every way an event is appended: objects and attributes and
/// record writes (crm_events_append), a relation PATCH (crm_link_change), a batch
/// (crm_relation_apply_set).
#[tokio::test]
async fn an_events_columns_are_its_own_from_every_way_it_is_appended() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let (a, b) = (app.record(&org, "products", json!({})).await, app.record(&org, "products", json!({})).await);
    let order = app.record(&org, "orders", json!({})).await;
    let single = app
        .patch(
            &format!("/v2/crm/orders/{order}/relation"),
            &org.token,
            json!({"attributeSlug": "products", "add": [a]}),
        )
        .await;
    assert_eq!(single.status, StatusCode::OK, "{:?}", single.body);
    let ops = json!({"operations": [{"recordId": order, "attributeSlug": "products", "add": [b]}]});
    let batch = app.patch("/v2/crm/orders/relations", &org.token, ops).await;
    assert_eq!(batch.status, StatusCode::OK, "{:?}", batch.body);

    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "select type, aggregate_type, count(*),
                count(*) filter (where event_id = (payload::json->>'id')::uuid
                    and type = payload::json->>'type'
                    and object_slug = payload::json->>'objectSlug'
                    and aggregate_type = case when type like 'crm.object.%' then 'object'
                                              when type like 'crm.attribute.%' then 'attribute' else 'record' end
                    and record_id is not distinct from (payload::json->>'recordId')::uuid
                    and record_version is not distinct from (payload::json->>'recordVersion')::bigint
                    and (aggregate_type <> 'record' or aggregate_id = record_id)
                    and related_object_slug is not distinct from (payload::json->'data'->>'relatedObjectSlug'))
         from crm_events where organization_id = $1 group by 1, 2 order by 1",
    )
    .bind(org.id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let types: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(types, ["crm.attribute.created", "crm.object.created", "crm.record.created", "crm.relation.updated"]);
    let relation = rows.iter().find(|r| r.0 == "crm.relation.updated").unwrap();
    assert_eq!(relation.2, 2, "the PATCH and the batch");
    for (kind, aggregate, all, own) in &rows {
        assert_eq!(all, own, "{kind} events ({aggregate}) whose columns are not their payload's");
    }
}
