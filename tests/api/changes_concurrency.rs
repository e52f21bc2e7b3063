//! 32 concurrent writers and a reader following the feed at the same time: the reader ends with
//! exactly every acknowledged change, each once, and per record in version order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::StatusCode;
use rand::Rng;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestOrg, spawn_app};

const WRITERS: usize = 32;
const CHANGES_PER_WRITER: usize = 12;

/// An acknowledged relation change: record, the version it produced, what it added and removed.
type Acknowledged = (Uuid, i64, Vec<String>, Vec<String>);

async fn writer(
    app: Arc<TestApp>,
    org: Arc<TestOrg>,
    orders: Arc<Vec<Uuid>>,
    products: Arc<Vec<Uuid>>,
) -> Vec<Acknowledged> {
    let mut acknowledged = Vec::new();
    for _ in 0..CHANGES_PER_WRITER {
        let (order, add, remove) = {
            let mut rng = rand::rng();
            let order = orders[rng.random_range(0..orders.len())];
            let add = products[rng.random_range(0..products.len())];
            let mut remove = products[rng.random_range(0..products.len())];
            while remove == add {
                remove = products[rng.random_range(0..products.len())];
            }
            (order, add, remove)
        };
        let body = json!({"attributeSlug": "products", "add": [add], "remove": [remove]});
        let response = app.patch(&format!("/v2/crm/orders/{order}/relation"), &org.token, body).await;
        if response.status != StatusCode::OK {
            // Not acknowledged (e.g. no pooled connection in time): the feed must not show it.
            assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE, "{}", response.body);
            continue;
        }
        let version: i64 = response.headers["etag"].to_str().unwrap().trim_matches('"').parse().unwrap();
        let ids = |key: &str| -> Vec<String> {
            let mut ids: Vec<String> = response.body["changes"][key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        };
        let (added, removed) = (ids("added"), ids("removed"));
        if !added.is_empty() || !removed.is_empty() {
            acknowledged.push((order, version, added, removed));
        }
    }
    acknowledged
}

/// Follows the feed with long polls until the writers are done and it has caught up.
async fn reader(app: Arc<TestApp>, org: Arc<TestOrg>, start: String, done: Arc<AtomicBool>) -> Vec<Value> {
    let (mut events, mut cursor) = (Vec::new(), start);
    loop {
        let finished = done.load(Ordering::Acquire);
        let page = app.changes(&org, &format!("after={cursor}&count=50&wait=1")).await;
        let caught_up = page.events.is_empty() && !page.has_more;
        events.extend(page.events);
        cursor = page.next;
        if finished && caught_up {
            return events;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_live_reader_gets_every_acknowledged_change_once_in_version_order() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let mut orders = Vec::new();
    for i in 0..16 {
        orders.push(app.record(&org, "orders", json!({"number": i.to_string()})).await);
    }
    let mut products = Vec::new();
    for _ in 0..24 {
        products.push(app.record(&org, "products", json!({})).await);
    }
    let start = app.head_cursor(&org).await;
    let (app, org) = (Arc::new(app), Arc::new(org));
    let (orders, products) = (Arc::new(orders), Arc::new(products));
    let done = Arc::new(AtomicBool::new(false));
    let reading = tokio::spawn(reader(app.clone(), org.clone(), start, done.clone()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| tokio::spawn(writer(app.clone(), org.clone(), orders.clone(), products.clone())))
        .collect();
    let mut acknowledged = Vec::new();
    for w in writers {
        acknowledged.extend(w.await.unwrap());
    }
    done.store(true, Ordering::Release);
    let events = reading.await.unwrap();

    let ids: HashSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "an event came twice");
    assert!(acknowledged.len() > WRITERS, "too few changes applied: {}", acknowledged.len());
    let mut seen: Vec<Acknowledged> = Vec::new();
    let mut last_version: HashMap<Uuid, i64> = HashMap::new();
    for event in &events {
        assert_eq!(event["type"], "crm.relation.updated", "{event}");
        let record: Uuid = event["recordId"].as_str().unwrap().parse().unwrap();
        let version = event["recordVersion"].as_i64().unwrap();
        let previous = last_version.insert(record, version).unwrap_or(0);
        assert!(version > previous, "record {record}: version {version} after {previous}");
        let list = |key: &str| -> Vec<String> {
            event["data"][key].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
        };
        seen.push((record, version, list("added"), list("removed")));
    }
    acknowledged.sort();
    seen.sort();
    assert_eq!(seen, acknowledged);
}
