//! A database outage under a running server: fail fast with 503, recover without a restart.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crm_api::embedded_pg::{EmbeddedPg, Options};
use serde_json::json;
use support::{BIN, DataDir, Exchange, free_port, request, terminate, wait_ready};

fn options(dir: &DataDir) -> Options {
    Options {
        data_dir: dir.0.join("pg-data"),
        durable: false,
        remove_on_exit: false,
        max_connections: 100,
        tuning: None,
    }
}

fn cli(url: &str, args: &[&str]) -> String {
    let output = Command::new(BIN).args(args).env("DATABASE_URL", url).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn call(port: u16, method: &str, path: &str, token: &str, body: Option<&str>) -> (Exchange, Duration) {
    let start = Instant::now();
    (request(port, method, path, Some(token), body), start.elapsed())
}

#[tokio::test]
async fn requests_fail_fast_with_503_during_an_outage_and_recover_without_a_restart() {
    let dir = DataDir::new("cli");
    let pg = EmbeddedPg::ensure(&options(&dir)).await.unwrap();
    let url = pg.url();
    let port = free_port();
    let server = Command::new(BIN)
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("CRM_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(port, Duration::from_secs(30));
    cli(&url, &["org", "create", "shop"]);
    let token = cli(&url, &["token", "create", "--org", "shop", "--scope", "crm:write"]);
    let object = json!({"slug": "orders", "singularName": "O", "pluralName": "Os"}).to_string();
    assert!(matches!(call(port, "POST", "/v2/crm/objects", &token, Some(&object)).0, Exchange::Response(201, _)));
    let relation = json!({"label": "Parts", "type": "relation", "relationType": "many_to_many",
        "relatedObjectSlug": "orders", "relatedObjectLabel": "Used in"})
    .to_string();
    assert!(matches!(
        call(port, "POST", "/v2/crm/objects/orders/attributes", &token, Some(&relation)).0,
        Exchange::Response(201, _)
    ));
    let Exchange::Response(201, created) = call(port, "POST", "/v2/crm/orders", &token, Some("{}")).0 else { panic!() };
    let order =
        serde_json::from_str::<serde_json::Value>(&created).unwrap()["record"]["id"].as_str().unwrap().to_owned();
    let path = format!("/v2/crm/orders/{order}/relation");
    let change = json!({"attributeSlug": "parts", "add": [order]}).to_string();

    // Load while PostgreSQL goes down: every answer is a 200 or a 503, none takes long.
    let stop_load = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (stop, path, token, change) = (stop_load.clone(), path.clone(), token.clone(), change.clone());
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (outcome, took) = call(port, "PATCH", &path, &token, Some(&change));
                let status = match outcome {
                    Exchange::Response(status, _) => status,
                    other => panic!("during the outage: {other:?}"),
                };
                assert!(took <= Duration::from_millis(2500), "a request hung for {took:?}");
                seen.push(status);
            }
            seen
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    pg.stop().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_load.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = load.join().unwrap();
    assert!(seen.iter().all(|s| *s == 200 || *s == 503), "{seen:?}");
    assert!(seen.contains(&503), "the load never saw the outage: {seen:?}");
    for (method, path, body) in [
        ("GET", "/readyz", None),
        ("PATCH", path.as_str(), Some(change.as_str())),
        ("GET", path.trim_end_matches("/relation"), None),
    ] {
        let (outcome, took) = call(port, method, path, &token, body);
        assert!(took <= Duration::from_millis(2500), "{method} {path} took {took:?}");
        match outcome {
            Exchange::Response(503, body) => {
                let body: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(body["success"], false);
                assert!(!body.to_string().to_lowercase().contains("connection refused"), "{body}");
            }
            other => panic!("{method} {path} during the outage: {other:?}"),
        }
    }

    let pg = EmbeddedPg::ensure(&options(&dir)).await.unwrap();
    assert_eq!(pg.url(), url, "the cluster comes back on its recorded port");
    let back = Instant::now();
    let recovered = loop {
        if let Exchange::Response(200, _) = call(port, "PATCH", &path, &token, Some(&change)).0 {
            break back.elapsed();
        }
        assert!(back.elapsed() < Duration::from_secs(10), "the server did not recover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(recovered <= Duration::from_secs(2), "recovered after {recovered:?}");
    terminate(server);
    pg.stop().await;
}
