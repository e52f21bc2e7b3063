//! The subscription endpoints, the test delivery and what a receiver can and cannot do to us.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use crm_api::domain::scope::Scope;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestOrg, spawn_app, spawn_app_with, webhook_test_settings};
use crate::receiver::{Answer, Receiver};

async fn app() -> TestApp {
    spawn_app_with(|state| state.with_webhooks(webhook_test_settings())).await
}

fn subscription(url: &str) -> Value {
    json!({"callbackUrl": url, "events": ["crm.*"], "scope": "organization", "token": "my-secret-token-123",
        "name": "ERP sync"})
}

/// Creates a subscription to `url`; returns its uuid and secret.
pub async fn subscribe(app: &TestApp, org: &TestOrg, url: &str) -> (String, String) {
    let created = app.post("/v2/webhooks", &org.token, subscription(url)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let resource = &created.body["resource"];
    (resource["uuid"].as_str().unwrap().to_owned(), resource["secret"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn create_shows_the_secret_once_in_zeegs_resource_shape() {
    let app = app().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start().await;
    let created = app.post("/v2/webhooks", &org.token, subscription(&receiver.url)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let resource = &created.body["resource"];
    assert!(resource["secret"].as_str().unwrap().starts_with("whsec_"));
    for (key, expected) in [("scope", json!("organization")), ("status", json!("active")), ("apiVersion", json!("v2"))]
    {
        assert_eq!(resource[key], expected, "{key}");
    }
    assert_eq!(resource["organization"], json!(org.id));
    assert_eq!(resource["creator"]["type"], "token");
    assert_eq!(resource["events"], json!(["crm.*"]));
    let uuid = resource["uuid"].as_str().unwrap();
    let got = app.get(&format!("/v2/webhooks/{uuid}"), &org.token).await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(got.body["resource"].get("secret").is_none(), "{}", got.body);
    let list = app.get("/v2/webhooks", &org.token).await;
    assert_eq!(list.body["pagination"]["total"], 1);
    assert_eq!(list.body["collection"][0]["uuid"], uuid);
}

#[tokio::test]
async fn invalid_bodies_list_every_problem_and_store_nothing() {
    let app = app().await;
    let org = app.org("acme").await;
    let body = json!({"callbackUrl": "ftp://example.com/x", "events": ["crm.*"], "scope": "organization",
        "token": "short", "name": "x".repeat(256)});
    let response = app.post("/v2/webhooks", &org.token, body).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", response.body);
    assert_eq!(response.pointers(), ["/callbackUrl", "/token", "/name"]);
    for (body, pointer) in [
        (
            json!({"callbackUrl": "https://example.com", "events": ["invitee.scheduled"], "scope": "organization"}),
            "/events/0",
        ),
        (json!({"callbackUrl": "https://example.com", "events": ["crm.*"], "scope": "user"}), "/scope"),
        (json!({"callbackUrl": "https://example.com", "events": [], "scope": "organization"}), "/events"),
    ] {
        let response = app.post("/v2/webhooks", &org.token, body).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", response.body);
        assert_eq!(response.pointers(), [pointer], "{}", response.body);
    }
    assert_eq!(app.get("/v2/webhooks", &org.token).await.body["pagination"]["total"], 0);
}

#[tokio::test]
async fn internal_and_plain_http_callbacks_are_refused_by_default() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    for (url, code) in [
        ("http://example.com/hook", "invalid_value"),
        ("https://127.0.0.1/hook", "forbidden_address"),
        ("https://169.254.169.254/latest/meta-data", "forbidden_address"),
        ("https://[::1]:8443/hook", "forbidden_address"),
        ("https://10.0.0.7/hook", "forbidden_address"),
        ("https://localhost:9000/hook", "forbidden_address"),
        ("https://does-not-exist.invalid/hook", "unresolvable_host"),
    ] {
        let response = app.post("/v2/webhooks", &org.token, subscription(url)).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{url}: {}", response.body);
        assert_eq!(response.body["errors"][0]["code"], code, "{url}: {}", response.body);
    }
}

#[tokio::test]
async fn scopes_guard_reading_and_writing() {
    let app = app().await;
    let org = app.org("acme").await;
    let crm = app.token(org.id, &[Scope::CrmWrite]).await;
    let reader = app.token(org.id, &[Scope::WebhooksRead]).await;
    let receiver = Receiver::start().await;
    assert_eq!(app.post("/v2/webhooks", &crm, subscription(&receiver.url)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/v2/webhooks", &crm).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.post("/v2/webhooks", &reader, subscription(&receiver.url)).await.status, StatusCode::FORBIDDEN);
    let (uuid, _) = subscribe(&app, &org, &receiver.url).await;
    assert_eq!(app.get(&format!("/v2/webhooks/{uuid}"), &reader).await.status, StatusCode::OK);
    assert_eq!(app.delete(&format!("/v2/webhooks/{uuid}"), &reader).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn another_organizations_subscription_is_not_found() {
    let app = app().await;
    let (acme, other) = (app.org("acme").await, app.org("other").await);
    let receiver = Receiver::start().await;
    let (uuid, _) = subscribe(&app, &acme, &receiver.url).await;
    for path in [format!("/v2/webhooks/{uuid}"), format!("/v2/webhooks/{uuid}/deliveries")] {
        assert_eq!(app.get(&path, &other.token).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        app.post(&format!("/v2/webhooks/{uuid}/test"), &other.token, json!({})).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.delete(&format!("/v2/webhooks/{uuid}"), &other.token).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/v2/webhooks/not-a-uuid", &acme.token).await.status, StatusCode::NOT_FOUND);
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn patch_changes_present_fields_and_delete_removes() {
    let app = app().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start().await;
    let (uuid, _) = subscribe(&app, &org, &receiver.url).await;
    let path = format!("/v2/webhooks/{uuid}");
    let patched = app
        .patch(&path, &org.token, json!({"name": null, "events": ["crm.record.created"], "status": "disabled"}))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let resource = &patched.body["resource"];
    assert_eq!((resource["name"].clone(), resource["status"].clone()), (Value::Null, json!("disabled")));
    assert_eq!(resource["events"], json!(["crm.record.created"]));
    assert_eq!(resource["description"], Value::Null);
    let enabled = app.patch(&path, &org.token, json!({"status": "active"})).await;
    assert_eq!(
        (enabled.body["resource"]["status"].clone(), enabled.body["resource"]["disabledReason"].clone()),
        (json!("active"), Value::Null)
    );
    let bad = app.patch(&path, &org.token, json!({"callbackUrl": "gopher://x", "token": "a b c d e f g h"})).await;
    assert_eq!(bad.pointers(), ["/callbackUrl", "/token"]);
    assert_eq!(app.delete(&path, &org.token).await.status, StatusCode::OK);
    assert_eq!(app.get(&path, &org.token).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn test_delivery_is_signed_for_any_standard_webhooks_verifier() {
    let app = app().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start().await;
    let (uuid, secret) = subscribe(&app, &org, &receiver.url).await;
    let tested = app.post(&format!("/v2/webhooks/{uuid}/test"), &org.token, json!({})).await;
    assert_eq!(tested.status, StatusCode::OK, "{}", tested.body);
    assert_eq!(tested.body["testResult"], json!({"delivered": true, "statusCode": 200, "error": null}));
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let delivery = &received[0];
    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
    verifier.verify(&delivery.body, &delivery.headers).expect("a valid Standard Webhooks signature");
    let tampered = [&delivery.body[..], b" "].concat();
    assert!(verifier.verify(&tampered, &delivery.headers).is_err());
    assert_eq!(delivery.headers["token"], "my-secret-token-123");
    assert_eq!(delivery.headers["webhook-id"].to_str().unwrap(), delivery.json()["id"].as_str().unwrap());
    assert_eq!(delivery.json()["type"], "webhook.test");
    let log = app.get(&format!("/v2/webhooks/{uuid}/deliveries"), &org.token).await;
    assert_eq!(log.body["collection"][0]["outcome"], "delivered", "{}", log.body);
    assert_eq!(log.body["collection"][0]["statusCode"], 200);
    assert_eq!(log.body["collection"][0]["responseBody"], "thanks");
}

async fn test_result(app: &TestApp, org: &TestOrg, uuid: &str) -> Value {
    let tested = app.post(&format!("/v2/webhooks/{uuid}/test"), &org.token, json!({})).await;
    assert_eq!(tested.status, StatusCode::OK, "{}", tested.body);
    tested.body["testResult"].clone()
}

#[tokio::test]
async fn failures_are_reported_and_redirects_not_followed() {
    let app = app().await;
    let org = app.org("acme").await;
    let (receiver, elsewhere) = (Receiver::start().await, Receiver::start().await);
    let (uuid, _) = subscribe(&app, &org, &receiver.url).await;
    receiver.answer(Answer::Status(503));
    let result = test_result(&app, &org, &uuid).await;
    assert_eq!((result["delivered"].clone(), result["statusCode"].clone()), (json!(false), json!(503)));
    receiver.answer(Answer::Redirect(elsewhere.url.clone()));
    let result = test_result(&app, &org, &uuid).await;
    assert_eq!((result["delivered"].clone(), result["statusCode"].clone()), (json!(false), json!(307)));
    assert!(elsewhere.received().is_empty(), "the redirect was followed");
}

#[tokio::test]
async fn huge_and_endless_answers_are_cut_at_one_kib() {
    let app = app().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start().await;
    let (uuid, _) = subscribe(&app, &org, &receiver.url).await;
    for answer in [Answer::Huge, Answer::Endless] {
        receiver.answer(answer);
        let started = Instant::now();
        assert_eq!(test_result(&app, &org, &uuid).await["delivered"], true);
        assert!(started.elapsed() < Duration::from_secs(5), "reading the answer took {:?}", started.elapsed());
    }
    let log = app.get(&format!("/v2/webhooks/{uuid}/deliveries"), &org.token).await;
    for attempt in log.body["collection"].as_array().unwrap() {
        assert_eq!(attempt["responseBody"].as_str().unwrap().len(), 1024);
    }
}

#[tokio::test]
async fn a_slow_receiver_times_out_after_ten_seconds() {
    let app = app().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start().await;
    let (uuid, _) = subscribe(&app, &org, &receiver.url).await;
    receiver.answer(Answer::Slow(Duration::from_secs(30)));
    let started = Instant::now();
    let result = test_result(&app, &org, &uuid).await;
    assert_eq!(result["delivered"], false);
    assert!(result["error"].as_str().unwrap().contains("10 s"), "{result}");
    assert!(started.elapsed() < Duration::from_secs(15));
}

/// A callback that passed the checks where private addresses were allowed is refused at
/// delivery by a server that does not allow them, for a literal address and for a host name
/// that resolves to one: the resolved address is checked, not only the URL.
#[tokio::test]
async fn internal_addresses_are_refused_again_at_delivery() {
    let app = app().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start().await;
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let strict = app.with_webhook_settings(crm_api::webhooks::Settings { allow_http: true, ..Default::default() });
    for url in [receiver.url.clone(), by_name] {
        let (uuid, _) = subscribe(&app, &org, &url).await;
        let result = test_result(&strict, &org, &uuid).await;
        assert_eq!(result["delivered"], false, "{url}");
        assert!(result["error"].as_str().unwrap().contains("internal"), "{url}: {result}");
    }
    assert!(receiver.received().is_empty());
}

/// `n` delivered attempts in the log of `subscription`, written directly.
async fn attempts(app: &TestApp, org: &TestOrg, subscription: uuid::Uuid, n: i32) {
    sqlx::query(
        "insert into webhook_deliveries (organization_id, subscription_id, event_id, event_type, attempt, outcome, latency_ms)
         select $1, $2, gen_random_uuid(), 'webhook.test', 1, 'delivered', 0 from generate_series(1, $3)",
    )
    .bind(org.id)
    .bind(subscription)
    .bind(n)
    .execute(&app.pool)
    .await
    .unwrap();
}

/// The attempts log's background prune finds each subscription's cut-off once, whatever the
/// statistics say: on a table autovacuum had not analyzed yet, the planner once filtered every
/// attempt by the cut-off's subquery, run again for each attempt (a backlog's 59,000 attempts
/// kept one prune busy for minutes, blocking the subscription's deletion).
#[tokio::test]
async fn pruning_the_attempts_log_reads_each_attempt_once_even_without_statistics() {
    let app = app().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start().await;
    let (uuid, _) = subscribe(&app, &org, &receiver.url).await;
    let (other, _) = subscribe(&app, &org, &receiver.url).await;
    let (id, other): (uuid::Uuid, uuid::Uuid) = (uuid.parse().unwrap(), other.parse().unwrap());
    // No analyze or vacuum behind the test's back: the statistics stay those of an empty table,
    // and the attempts' pages are not all-visible (index-only scans still fetch them, so the
    // count below sees every attempt read).
    sqlx::query("alter table webhook_deliveries set (autovacuum_enabled = off)").execute(&app.pool).await.unwrap();
    for (subscription, n) in [(id, 12_000), (other, 500)] {
        attempts(&app, &org, subscription, n).await;
    }
    let mut tx = app.pool.begin().await.unwrap();
    // The bad plan reads about 144 million attempts: fail instead of waiting for it.
    sqlx::query("set local statement_timeout = '20s'").execute(&mut *tx).await.unwrap();
    crm_api::db::webhook_deliveries::prune(&mut *tx).await.unwrap();
    let (fetched, scanned): (i64, i64) = sqlx::query_as(
        "select coalesce(idx_tup_fetch, 0), coalesce(seq_tup_read, 0) from pg_stat_xact_user_tables
         where relname = 'webhook_deliveries'",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(fetched + scanned < 40_000, "pruning 12,000 attempts read {fetched} by index and {scanned} in scans");
    for (subscription, kept) in [(id, 10_000), (other, 500)] {
        let left: i64 = sqlx::query_scalar("select count(*) from webhook_deliveries where subscription_id = $1")
            .bind(subscription)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(left, kept);
    }
}

#[tokio::test]
async fn repeated_tests_keep_the_attempts_log_bounded() {
    let app = app().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start().await;
    let (uuid, _) = subscribe(&app, &org, &receiver.url).await;
    attempts(&app, &org, uuid.parse().unwrap(), 10_005).await;
    assert_eq!(test_result(&app, &org, &uuid).await["delivered"], true);
    let log = app.get(&format!("/v2/webhooks/{uuid}/deliveries"), &org.token).await;
    assert_eq!(log.body["pagination"]["total"], 10_000, "{}", log.body["pagination"]);
    assert_eq!(log.body["collection"][0]["responseBody"], "thanks", "the newest attempt is kept");
}
