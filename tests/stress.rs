//! No lost update under load: 64 clients, each owning its own targets, add and remove them on
//! the same few records for `CRM_STRESS_SECS` seconds (default 20). An oracle built from every
//! acknowledged request must match the database exactly, with no 5xx and no deadlock.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::json;
use tower::ServiceExt;
use uuid::Uuid;

// Its own test binary, so the load does not share the machine with timing-sensitive tests.
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use helpers::spawn_app;

const CLIENTS: usize = 64;
const PRODUCTS_PER_CLIENT: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_clients_lose_no_update() {
    let seconds: u64 = std::env::var("CRM_STRESS_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.shop(&org).await;
    let orders: Vec<Uuid> = futures_all(3, || app.record(&org, "orders", json!({}))).await;
    let deals: Vec<Uuid> = futures_all(3, || app.record(&org, "deals", json!({}))).await;
    let mut owned = Vec::new();
    for c in 0..CLIENTS {
        let products = futures_all(PRODUCTS_PER_CLIENT, || app.record(&org, "products", json!({}))).await;
        let member = app.member(org.id, &format!("client{c}@acme.example")).await;
        owned.push((products, member));
    }
    let deadlocks_before = deadlocks(&app.pool).await;

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let clients: Vec<_> = owned
        .iter()
        .cloned()
        .map(|(products, member)| {
            let (router, token, orders, deals) = (app.router.clone(), org.token.clone(), orders.clone(), deals.clone());
            tokio::spawn(async move {
                // (record, target) -> linked, from this client's acknowledged requests only.
                let mut oracle: HashMap<(Uuid, Uuid), bool> = HashMap::new();
                let mut failures = Vec::new();
                let mut sent = 0;
                while Instant::now() < deadline {
                    let (path, record, attribute, candidates) = if rand::rng().random_bool(0.7) {
                        let order = *orders.choose(&mut rand::rng()).unwrap();
                        (format!("/v2/crm/orders/{order}/relation"), order, "products", products.clone())
                    } else {
                        let deal = *deals.choose(&mut rand::rng()).unwrap();
                        (format!("/v2/crm/deals/{deal}/relation"), deal, "owners", vec![member])
                    };
                    let (mut add, mut remove) = (Vec::new(), Vec::new());
                    for id in candidates {
                        match rand::rng().random_range(0..3) {
                            0 => add.push(id),
                            1 => remove.push(id),
                            _ => {}
                        }
                    }
                    if add.is_empty() && remove.is_empty() {
                        continue;
                    }
                    let body = json!({"attributeSlug": attribute, "add": add, "remove": remove});
                    let request = Request::patch(&path)
                        .header("authorization", format!("Bearer {token}"))
                        .header("content-type", "application/json")
                        .header("prefer", "return=minimal")
                        .body(Body::from(body.to_string()))
                        .unwrap();
                    let status = router.clone().oneshot(request).await.unwrap().status();
                    sent += 1;
                    if status != StatusCode::OK {
                        failures.push(status);
                        continue;
                    }
                    for id in add {
                        oracle.insert((record, id), true);
                    }
                    for id in remove {
                        oracle.insert((record, id), false);
                    }
                }
                (oracle, failures, sent)
            })
        })
        .collect();

    let mut expected: HashSet<(Uuid, Uuid)> = HashSet::new();
    let mut total = 0;
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
    let stored: Vec<(Uuid, Uuid)> = relation.into_iter().chain(users).collect();
    let unique: HashSet<(Uuid, Uuid)> = stored.iter().copied().collect();
    assert_eq!(unique.len(), stored.len(), "duplicate link rows");
    assert_eq!(unique, expected, "the database differs from the acknowledged requests ({total} sent)");
    assert!(total > CLIENTS * 5, "too little load to mean anything: {total} requests");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(deadlocks(&app.pool).await, deadlocks_before, "PostgreSQL reported deadlocks");
    eprintln!("{total} relation changes by {CLIENTS} clients in {seconds} s, oracle matched");
}

async fn futures_all<F, Fut>(n: usize, make: F) -> Vec<Uuid>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Uuid>,
{
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        ids.push(make().await);
    }
    ids
}

async fn deadlocks(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("select deadlocks from pg_stat_database where datname = current_database()")
        .fetch_one(pool)
        .await
        .unwrap()
}
