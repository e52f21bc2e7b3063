//! Shutdown under load, through the real binary on its bundled database.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{DataDir, Exchange, free_port, json, ok, request, serve, terminate, wait_ready};

const ORDERS: usize = 32;
const PER_ORDER: usize = 20;

/// SIGTERM while relation changes are in flight: every request either completes (200) or is
/// refused/closed before it was read; the server exits 0; and no change is half applied: each
/// order afterwards holds all of its products or none, and every 200 means all of them.
#[test]
fn sigterm_finishes_in_flight_requests_and_cuts_no_transaction() {
    let dir = DataDir::new("cli");
    let port = free_port();
    let server = serve(&dir.0, port);
    wait_ready(port, Duration::from_secs(30));
    ok(&dir.0, &["org", "create", "shop"]);
    let token = ok(&dir.0, &["token", "create", "--org", "shop", "--scope", "crm:write"]);
    let body = |v: serde_json::Value| v.to_string();
    json(
        port,
        "POST",
        "/v2/crm/objects",
        &token,
        Some(&body(json!({"slug": "products", "singularName": "P", "pluralName": "Ps"}))),
    );
    json(
        port,
        "POST",
        "/v2/crm/objects",
        &token,
        Some(&body(json!({"slug": "orders", "singularName": "O", "pluralName": "Os"}))),
    );
    let relation = json!({"label": "Products", "type": "relation", "relationType": "many_to_many",
        "relatedObjectSlug": "products", "relatedObjectLabel": "Orders"});
    json(port, "POST", "/v2/crm/objects/orders/attributes", &token, Some(&body(relation)));
    let create = |slug: &str| {
        json(port, "POST", &format!("/v2/crm/{slug}"), &token, Some("{}"))["record"]["id"].as_str().unwrap().to_owned()
    };
    let orders: Vec<String> = (0..ORDERS).map(|_| create("orders")).collect();
    let products: Vec<Vec<String>> =
        (0..ORDERS).map(|_| (0..PER_ORDER).map(|_| create("products")).collect()).collect();

    let workers: Vec<_> = orders
        .iter()
        .zip(&products)
        .map(|(order, ids)| {
            let path = format!("/v2/crm/orders/{order}/relation");
            let payload = json!({"attributeSlug": "products", "add": ids}).to_string();
            let token = token.clone();
            std::thread::spawn(move || request(port, "PATCH", &path, Some(&token), Some(&payload)))
        })
        .collect();
    // Early enough that most requests are still being processed (some not yet accepted).
    std::thread::sleep(Duration::from_millis(2));
    terminate(server);
    let outcomes: Vec<Exchange> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let answered = outcomes.iter().filter(|o| matches!(o, Exchange::Response(200, _))).count();
    eprintln!("during shutdown: {answered} answered 200, {} refused or closed", outcomes.len() - answered);
    for outcome in &outcomes {
        match outcome {
            Exchange::Response(200, _) | Exchange::Refused | Exchange::Closed => {}
            other => panic!("unexpected outcome during shutdown: {other:?}"),
        }
    }

    // Back up: every order has all of its products or none.
    let server = serve(&dir.0, port);
    wait_ready(port, Duration::from_secs(30));
    for (i, order) in orders.iter().enumerate() {
        let record = json(port, "GET", &format!("/v2/crm/orders/{order}"), &token, None);
        let linked = record["record"]["attributes"]["products"].as_array().unwrap().len();
        assert!(linked == 0 || linked == PER_ORDER, "order {i} is half applied: {linked} links");
        if matches!(outcomes[i], Exchange::Response(200, _)) {
            assert_eq!(linked, PER_ORDER, "order {i} was acknowledged but not stored");
        }
    }
    terminate(server);
}

/// `CRM_LOG_FORMAT=json`: one JSON line per finished request with its request id, route, status,
/// latency and organization, and never the token.
#[test]
fn json_logs_have_one_line_per_request_and_never_a_token() {
    use std::process::{Command, Stdio};
    let dir = DataDir::new("cli");
    let port = free_port();
    let log_path = dir_file(&dir, "server.log");
    let server = Command::new(support::BIN)
        .arg("serve")
        .env("CRM_DATA_DIR", &dir.0)
        .env("CRM_BIND", format!("127.0.0.1:{port}"))
        .env("CRM_LOG_FORMAT", "json")
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    wait_ready(port, Duration::from_secs(30));
    let org = ok(&dir.0, &["org", "create", "shop"]);
    let token = ok(&dir.0, &["token", "create", "--org", "shop", "--scope", "users:read"]);
    assert!(matches!(request(port, "GET", "/v2/organizations/users", Some(&token), None), Exchange::Response(200, _)));
    terminate(server);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(!log.contains(&token[token.len() - 64..]), "the token leaked into the log");
    let line = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["span"]["route"] == "/v2/organizations/users")
        .expect("a JSON line for the request");
    assert_eq!(line["status"], 200);
    assert_eq!(line["span"]["organization_id"], org);
    assert!(
        line["latency"].is_string() && line["span"]["request_id"].as_str().is_some_and(|id| id.len() == 36),
        "{line}"
    );
}

fn dir_file(dir: &DataDir, name: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(&dir.0).unwrap();
    dir.0.join(name)
}
