//! `kill -9` of the real server in the middle of webhook deliveries loses nothing.

mod support;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use support::{BIN, DataDir, alive, free_port, ok, postmaster_pid, terminate, wait_ready};

const RECORDS: usize = 60;

fn serve(dir: &std::path::Path, port: u16) -> Child {
    Command::new(BIN)
        .arg("serve")
        .env("CRM_DATA_DIR", dir)
        .env("CRM_BIND", format!("127.0.0.1:{port}"))
        .env("CRM_WEBHOOK_ALLOW_HTTP", "true")
        .env("CRM_WEBHOOK_ALLOW_PRIVATE", "true")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

type Log = Arc<Mutex<Vec<Value>>>;

/// A receiver that takes 20 ms per delivery, so the kill lands while deliveries are in flight.
async fn receiver() -> (String, Log) {
    let log: Log = Arc::default();
    async fn hook(State(log): State<Log>, body: Bytes) -> &'static str {
        tokio::time::sleep(Duration::from_millis(20)).await;
        log.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
        "ok"
    }
    let app = Router::new().route("/hook", axum::routing::post(hook)).with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, log)
}

fn record_ids(log: &Log) -> Vec<String> {
    let log = log.lock().unwrap();
    log.iter()
        .filter(|e| e["type"] == "crm.record.created")
        .map(|e| e["recordId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_deliveries_loses_nothing_and_keeps_the_order() {
    let dir = DataDir::new("cli");
    let port = free_port();
    let (url, log) = receiver().await;
    let server = serve(&dir.0, port);
    wait_ready(port, Duration::from_secs(30));
    ok(&dir.0, &["org", "create", "shop"]);
    let token = ok(&dir.0, &["token", "create", "--org", "shop", "--scope", "crm:write", "--scope", "webhooks:write"]);
    let call =
        |method: &str, path: &str, body: Value| support::json(port, method, path, &token, Some(&body.to_string()));
    let subscription = json!({"callbackUrl": url, "events": ["crm.record.created"], "scope": "organization"});
    call("POST", "/v2/webhooks", subscription);
    let created: Vec<String> = (0..RECORDS)
        .map(|_| call("POST", "/v2/crm/companies", json!({}))["record"]["id"].as_str().unwrap().to_owned())
        .collect();
    let started = Instant::now();
    while record_ids(&log).len() < RECORDS / 4 {
        assert!(started.elapsed() < Duration::from_secs(30), "deliveries did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let postgres = postmaster_pid(&dir.0).expect("the bundled cluster runs");
    kill(Pid::from_raw(server.id() as i32), Signal::SIGKILL).unwrap();
    let mut server = server;
    server.wait().unwrap();
    // The watchdog stops the killed server's PostgreSQL; restart once it has (as an operator
    // or a supervisor would), not while it is shutting down.
    let stopping = Instant::now();
    while alive(postgres) {
        assert!(stopping.elapsed() < Duration::from_secs(30), "postgres outlived the killed server");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before_restart = record_ids(&log).len();
    assert!(before_restart < RECORDS, "everything was delivered before the kill; nothing was tested");

    let server = serve(&dir.0, port);
    wait_ready(port, Duration::from_secs(30));
    let started = Instant::now();
    let mut first_seen: Vec<String> = Vec::new();
    while first_seen.len() < RECORDS {
        assert!(started.elapsed() < Duration::from_secs(60), "only {} of {RECORDS} delivered", first_seen.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
        first_seen.clear();
        for id in record_ids(&log) {
            if !first_seen.contains(&id) {
                first_seen.push(id);
            }
        }
    }
    assert_eq!(first_seen, created, "every event, in feed order");
    eprintln!("{before_restart} delivered before kill -9, {} deliveries in all", record_ids(&log).len());
    terminate(server);
}
