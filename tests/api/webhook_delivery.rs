//! The delivery engine against a real receiver: order, retries, disabling, isolation, and two
//! engines sharing one database.

use std::collections::HashSet;
use std::time::Duration;

use axum::http::StatusCode;
use crm_api::feed::{Feed, FeedSettings};
use crm_api::webhooks::{self, Settings, Webhooks};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, TestOrg, spawn_app_with, webhook_test_settings};
use crate::receiver::{Answer, Receiver};
use crate::webhooks::subscribe;

/// A running engine, as in a server process of its own: its own feed wake-ups, woken by the
/// database notifications that writes through the test router send.
struct Engine {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn start(pool: &sqlx::PgPool, settings: Settings) -> Engine {
    let feed = Feed::new(FeedSettings::default());
    crm_api::cache::spawn_listener(crm_api::cache::Cache::new(), feed.clone(), pool.clone());
    let task = webhooks::engine::spawn(pool.clone(), Webhooks::new(settings), feed);
    Engine { task }
}

async fn app() -> TestApp {
    spawn_app_with(|state| state.with_webhooks(webhook_test_settings())).await
}

/// Commits `n` changes of the organization, one transaction each; returns their event ids in
/// feed order.
async fn emit(app: &TestApp, org: &TestOrg, n: usize) -> Vec<Uuid> {
    let mut records = Vec::with_capacity(n);
    for _ in 0..n {
        records.push(app.record(org, "companies", json!({"name": "Acme"})).await);
    }
    let events: Vec<(Uuid, Option<Uuid>)> = sqlx::query_as(
        "select event_id, record_id from crm_events where organization_id = $1 and type = 'crm.record.created'",
    )
    .bind(org.id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    records.iter().map(|record| events.iter().find(|(_, r)| *r == Some(*record)).unwrap().0).collect()
}

fn ids_of(received: &[crate::receiver::Received]) -> Vec<Uuid> {
    received.iter().map(|r| r.json()["id"].as_str().unwrap().parse().unwrap()).collect()
}

async fn subscription(app: &TestApp, org: &TestOrg, uuid: &str) -> serde_json::Value {
    let response = app.get(&format!("/v2/webhooks/{uuid}"), &org.token).await;
    assert_eq!(response.status, StatusCode::OK);
    response.body["resource"].clone()
}

#[tokio::test]
async fn every_event_arrives_once_in_feed_order_and_signed() {
    let app = app().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start().await;
    let (uuid, secret) = subscribe(&app, &org, &receiver.url).await;
    let _engine = start(&app.pool, webhook_test_settings());
    let sent = emit(&app, &org, 30).await;
    let received = receiver.wait_for(30, Duration::from_secs(20)).await;
    assert_eq!(ids_of(&received), sent);
    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
    for delivery in &received {
        verifier.verify(&delivery.body, &delivery.headers).unwrap();
        assert_eq!(delivery.json()["type"], "crm.record.created");
    }
    let logged = || async {
        let log = app.get(&format!("/v2/webhooks/{uuid}/deliveries?count=100"), &org.token).await;
        log.body["pagination"]["total"] == 30
    };
    assert!(app.within_a_second(logged).await, "every delivery is logged");
}

#[tokio::test]
async fn a_receiver_that_was_down_gets_everything_in_order_once_back() {
    let app = app().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer::Status(503));
    let (uuid, _) = subscribe(&app, &org, &receiver.url).await;
    let _engine = start(&app.pool, webhook_test_settings());
    let sent = emit(&app, &org, 10).await;
    // Retried with backoff, always the first event: nothing overtakes it.
    let failed = receiver.wait_for(3, Duration::from_secs(20)).await;
    assert!(ids_of(&failed).iter().all(|id| *id == sent[0]), "an event overtook the failing one");
    let log = app.get(&format!("/v2/webhooks/{uuid}/deliveries"), &org.token).await;
    let first = &log.body["collection"][0];
    assert_eq!((first["outcome"].clone(), first["statusCode"].clone()), (json!("failed"), json!(503)));
    assert!(first["nextRetryAt"].is_string(), "{first}");
    receiver.answer(Answer::Ok);
    let before = receiver.received().len();
    let all = receiver.wait_for(before + 10, Duration::from_secs(20)).await;
    let delivered: Vec<Uuid> = ids_of(&all[before - 1..]).into_iter().collect();
    let mut distinct = Vec::new();
    for id in delivered {
        if distinct.last() != Some(&id) {
            distinct.push(id);
        }
    }
    assert_eq!(distinct, sent);
    assert_eq!(subscription(&app, &org, &uuid).await["status"], "active");
}

#[tokio::test]
async fn gone_receivers_disable_the_subscription_at_once_and_patch_resumes_it() {
    let app = app().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer::Status(410));
    let (uuid, _) = subscribe(&app, &org, &receiver.url).await;
    let _engine = start(&app.pool, webhook_test_settings());
    let sent = emit(&app, &org, 3).await;
    receiver.wait_for(1, Duration::from_secs(20)).await;
    let disabled = app.within_a_second(|| async { subscription(&app, &org, &uuid).await["status"] == "disabled" });
    assert!(disabled.await);
    let resource = subscription(&app, &org, &uuid).await;
    assert!(resource["disabledReason"].as_str().unwrap().contains("410"), "{resource}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "a disabled subscription was delivered to");
    receiver.answer(Answer::Ok);
    app.patch(&format!("/v2/webhooks/{uuid}"), &org.token, json!({"status": "active"})).await;
    let all = receiver.wait_for(4, Duration::from_secs(20)).await;
    assert_eq!(ids_of(&all[1..]), sent, "resumed with the event that failed");
}

#[tokio::test]
async fn failing_for_the_whole_retry_period_disables() {
    let app = app().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer::Status(500));
    let (uuid, _) = subscribe(&app, &org, &receiver.url).await;
    let mut settings = webhook_test_settings();
    settings.retry.give_up_after = Duration::from_millis(500);
    let _engine = start(&app.pool, settings);
    emit(&app, &org, 1).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while subscription(&app, &org, &uuid).await["status"] != "disabled" {
        if tokio::time::Instant::now() > deadline {
            let log = app.get(&format!("/v2/webhooks/{uuid}/deliveries"), &org.token).await;
            let state: Vec<(i32, Option<chrono::DateTime<chrono::Utc>>, chrono::DateTime<chrono::Utc>)> =
                sqlx::query_as("select failed_attempts, failing_since, next_attempt_at from webhook_subscriptions")
                    .fetch_all(&app.pool)
                    .await
                    .unwrap();
            panic!("never disabled: {} {state:?}", log.body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(receiver.received().len() >= 2, "retried before giving up");
}

#[tokio::test]
async fn a_slow_receiver_does_not_delay_other_subscriptions() {
    let app = app().await;
    let org = app.org("acme").await;
    let (slow, fast) = (Receiver::start().await, Receiver::start().await);
    slow.answer(Answer::Slow(Duration::from_secs(30)));
    subscribe(&app, &org, &slow.url).await;
    subscribe(&app, &org, &fast.url).await;
    let _engine = start(&app.pool, webhook_test_settings());
    let sent = emit(&app, &org, 5).await;
    let received = fast.wait_for(5, Duration::from_secs(5)).await;
    assert_eq!(ids_of(&received), sent);
    assert!(slow.received().len() <= 1, "the slow receiver holds its own first event only");
}

#[tokio::test]
async fn two_engines_on_one_database_deliver_each_event_once() {
    let app = app().await;
    let org = app.org("acme").await;
    let receivers = [Receiver::start().await, Receiver::start().await, Receiver::start().await];
    for receiver in &receivers {
        subscribe(&app, &org, &receiver.url).await;
    }
    let other_pool = crm_api::db::connect(&app.database_url, 5).await.unwrap();
    let _engines = [start(&app.pool, webhook_test_settings()), start(&other_pool, webhook_test_settings())];
    let sent = emit(&app, &org, 40).await;
    for receiver in &receivers {
        let received = receiver.wait_for(40, Duration::from_secs(20)).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let ids = ids_of(&receiver.received());
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "an event was delivered twice");
        assert_eq!(ids_of(&received), sent);
    }
}

#[tokio::test]
async fn metrics_show_outcomes_and_each_subscriptions_backlog() {
    let app = app().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer::Status(503));
    let (uuid, _) = subscribe(&app, &org, &receiver.url).await;
    emit(&app, &org, 3).await;
    // The backlog is sampled when the engine starts; the failing receiver keeps all 3 queued.
    let _engine = start(&app.pool, webhook_test_settings());
    receiver.wait_for(1, Duration::from_secs(20)).await;
    let depth = format!(r#"webhook_queue_depth{{subscription="{uuid}"}} 3"#);
    let sampled = || async { crate::operations::metrics_text(&app).await.contains(&depth) };
    assert!(app.within_a_second(sampled).await, "{}", crate::operations::metrics_text(&app).await);
    let text = crate::operations::metrics_text(&app).await;
    assert!(text.contains(r#"webhook_deliveries_total{outcome="failed"}"#), "{text}");
    assert!(text.contains("webhook_delivery_duration_seconds_bucket"), "{text}");
    let age = text
        .lines()
        .find(|l| l.starts_with(&format!(r#"webhook_oldest_undelivered_seconds{{subscription="{uuid}"}}"#)))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .expect("the age of the oldest undelivered event");
    assert!(age > 0.0, "{text}");
}

#[tokio::test]
async fn a_subscription_whose_cursor_outlived_retention_is_disabled_and_resumes_from_now() {
    let app = app().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start().await;
    let (uuid, _) = subscribe(&app, &org, &receiver.url).await;
    // As after a month disabled: the stored cursor is older than the 30 days of retention.
    let stored: String =
        sqlx::query_scalar("select cursor from webhook_subscriptions").fetch_one(&app.pool).await.unwrap();
    let mut cursor = crm_api::domain::cursor::Cursor::decode(&stored).unwrap();
    cursor.issued_at -= 31 * 86_400;
    sqlx::query("update webhook_subscriptions set cursor = $1").bind(cursor.encode()).execute(&app.pool).await.unwrap();
    emit(&app, &org, 2).await;
    let _engine = start(&app.pool, webhook_test_settings());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while subscription(&app, &org, &uuid).await["status"] != "disabled" {
        assert!(tokio::time::Instant::now() < deadline, "never disabled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resource = subscription(&app, &org, &uuid).await;
    assert!(resource["disabledReason"].as_str().unwrap().contains("retention"), "{resource}");
    assert!(receiver.received().is_empty(), "delivered from an expired cursor");

    let response = app.patch(&format!("/v2/webhooks/{uuid}"), &org.token, json!({"status": "active"})).await;
    assert_eq!(response.status, StatusCode::OK);
    let restarted: String =
        sqlx::query_scalar("select cursor from webhook_subscriptions").fetch_one(&app.pool).await.unwrap();
    let restarted = crm_api::domain::cursor::Cursor::decode(&restarted).unwrap();
    assert!(restarted.issued_at >= chrono::Utc::now().timestamp() - 60, "the cursor was not restarted");
    let after = emit(&app, &org, 1).await;
    let received = receiver.wait_for(1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ids_of(&receiver.received()), after, "resumed from the head: {received:?}");
    assert_eq!(subscription(&app, &org, &uuid).await["status"], "active");
}
