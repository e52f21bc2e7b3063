//! Overlapping batches under load: 16 clients, each owning its own products and member, send
//! batches of operations over the same records for `CRM_BATCH_STRESS_SECS` seconds (default 10),
//! listing the records in ascending or descending order (so two batches often want each
//! other's records in opposite orders). Every batch must be answered 200, PostgreSQL must report
//! no deadlock, and the links must equal an oracle of the acknowledged operations.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

// Its own test binary, so the load does not share the machine with timing-sensitive tests.
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use helpers::spawn_app;

const CLIENTS: usize = 16;
const ORDERS: usize = 12;
const DEALS: usize = 4;
const PRODUCTS_PER_CLIENT: usize = 3;

/// What an operation asks for: (record, target, linked afterwards).
type Effects = Vec<(Uuid, Uuid, bool)>;

/// One operation and its effects.
fn operation(record: Uuid, attribute: &str, candidates: &[Uuid]) -> Option<(Value, Effects)> {
    let (mut add, mut remove, mut effects) = (Vec::new(), Vec::new(), Vec::new());
    for id in candidates {
        match rand::rng().random_range(0..3) {
            0 => add.push(*id),
            1 => remove.push(*id),
            _ => continue,
        }
        effects.push((record, *id, add.last() == Some(id)));
    }
    if effects.is_empty() {
        return None;
    }
    Some((json!({"recordId": record, "attributeSlug": attribute, "add": add, "remove": remove}), effects))
}

/// A batch over a random subset of the records, in ascending or descending record order.
fn random_batch(orders: &[Uuid], deals: &[Uuid], products: &[Uuid], member: Uuid) -> (String, Value, Effects) {
    let mut rng = rand::rng();
    let use_orders = rng.random_bool(0.75);
    let mut records: Vec<Uuid> = if use_orders { orders.to_vec() } else { deals.to_vec() };
    records.shuffle(&mut rng);
    records.truncate(rng.random_range(1..=records.len()));
    records.sort();
    if rng.random_bool(0.5) {
        records.reverse();
    }
    let (mut ops, mut effects) = (Vec::new(), Vec::new());
    for record in records {
        let made = match use_orders {
            true => operation(record, "products", products),
            false => operation(record, "owners", &[member]),
        };
        if let Some((op, e)) = made {
            ops.push(op);
            effects.extend(e);
        }
    }
    let path = if use_orders { "/v2/crm/orders/relations" } else { "/v2/crm/deals/relations" };
    let atomic = *[true, false].choose(&mut rng).unwrap();
    (path.to_owned(), json!({"operations": ops, "atomic": atomic}), effects)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_batches_lose_nothing_and_never_deadlock() {
    let seconds: u64 = std::env::var("CRM_BATCH_STRESS_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let mut orders = Vec::new();
    for _ in 0..ORDERS {
        orders.push(app.record(&org, "orders", json!({})).await);
    }
    let mut deals = Vec::new();
    for _ in 0..DEALS {
        deals.push(app.record(&org, "deals", json!({})).await);
    }
    let mut owned = Vec::new();
    for c in 0..CLIENTS {
        let mut products = Vec::new();
        for _ in 0..PRODUCTS_PER_CLIENT {
            products.push(app.record(&org, "products", json!({})).await);
        }
        owned.push((products, app.member(org.id, &format!("client{c}@acme.example")).await));
    }
    let deadlocks_before = deadlocks(&app.pool).await;

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let clients: Vec<_> = owned
        .into_iter()
        .map(|(products, member)| {
            let (router, token, orders, deals) = (app.router.clone(), org.token.clone(), orders.clone(), deals.clone());
            tokio::spawn(async move {
                let mut oracle: HashMap<(Uuid, Uuid), bool> = HashMap::new();
                let (mut failures, mut sent) = (Vec::new(), 0);
                while Instant::now() < deadline {
                    let (path, body, effects) = random_batch(&orders, &deals, &products, member);
                    if effects.is_empty() {
                        continue;
                    }
                    let request = Request::patch(&path)
                        .header("authorization", format!("Bearer {token}"))
                        .header("content-type", "application/json")
                        .body(Body::from(body.to_string()))
                        .unwrap();
                    let status = router.clone().oneshot(request).await.unwrap().status();
                    sent += 1;
                    if status != StatusCode::OK {
                        failures.push(status);
                        continue;
                    }
                    for (record, target, linked) in effects {
                        oracle.insert((record, target), linked);
                    }
                }
                (oracle, failures, sent)
            })
        })
        .collect();

    let (mut expected, mut total) = (HashSet::new(), 0);
    for client in clients {
        let (oracle, failures, sent) = client.await.unwrap();
        assert!(failures.is_empty(), "non-200 answers under load: {failures:?}");
        total += sent;
        expected.extend(oracle.into_iter().filter(|(_, linked)| *linked).map(|(key, _)| key));
    }
    let relation: Vec<(Uuid, Uuid)> =
        sqlx::query_as("select source_id, target_id from crm_record_links").fetch_all(&app.pool).await.unwrap();
    let users: Vec<(Uuid, Uuid)> =
        sqlx::query_as("select record_id, member_id from crm_record_members").fetch_all(&app.pool).await.unwrap();
    let stored: HashSet<(Uuid, Uuid)> = relation.into_iter().chain(users).collect();
    assert_eq!(stored, expected, "the database differs from the acknowledged batches ({total} sent)");
    assert!(total > CLIENTS * 3, "too little load to mean anything: {total} batches");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(deadlocks(&app.pool).await, deadlocks_before, "PostgreSQL reported deadlocks");
    eprintln!("{total} batches by {CLIENTS} clients in {seconds} s, oracle matched");
}

async fn deadlocks(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("select deadlocks from pg_stat_database where datname = current_database()")
        .fetch_one(pool)
        .await
        .unwrap()
}
