//! The change feed's guarantees: commit order without gaps (a late committer never slips
//! behind a cursor), paging, sync from now, long polls woken by commits.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use crm_api::db;
use crm_api::db::events::NewEvent;
use crm_api::domain::event::{ChangeContext, EventType};
use crm_api::feed::FeedSettings;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::helpers::{TestApp, TestOrg, spawn_app, types};

async fn object(app: &TestApp, org: &TestOrg, slug: &str) {
    app.object(org, slug).await;
}

fn slugs(events: &[serde_json::Value]) -> Vec<&str> {
    events.iter().map(|e| e["objectSlug"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_transaction_committing_late_is_delivered_after_the_cursor_not_behind_it() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    // After the organization's own creation events.
    let start = app.head_cursor(&org).await;
    // A writer takes its sequence number and stays open while others commit.
    let mut late = PgConnection::connect(&app.database_url).await.unwrap();
    let mut tx = late.begin().await.unwrap();
    let event = NewEvent {
        id: Uuid::new_v4(),
        kind: EventType::ObjectCreated,
        aggregate_id: Uuid::new_v4(),
        object_slug: "late".into(),
        related_object_slug: None,
        record: None,
        data: json!({"object": {"slug": "late"}}),
    };
    db::events::append(&mut tx, org.id, &ChangeContext::cli("test"), &[event]).await.unwrap();
    object(&app, &org, "first").await;
    object(&app, &org, "second").await;
    // The reader advances past everything committed, one event per page.
    let (seen, cursor) = app.all_changes(&org, &start, 1).await;
    assert_eq!(slugs(&seen), ["first", "second"]);
    assert!(app.changes(&org, &format!("after={cursor}")).await.events.is_empty());
    tx.commit().await.unwrap();
    object(&app, &org, "third").await;
    let (after, _) = app.all_changes(&org, &cursor, 1).await;
    assert_eq!(slugs(&after), ["late", "third"]);
    // A reader starting over gets them in one batch (all committed before it read), once
    // each, in sequence order: the order of any one record's versions.
    let (all, _) = app.all_changes(&org, &start, 2).await;
    assert_eq!(slugs(&all), ["late", "first", "second", "third"]);
}

#[tokio::test]
async fn paging_returns_every_event_once_in_order() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let start = app.head_cursor(&org).await;
    for i in 0..7 {
        object(&app, &org, &format!("object{i}")).await;
    }
    let first = app.changes(&org, &format!("after={start}&count=3")).await;
    assert_eq!((first.events.len(), first.has_more), (3, true));
    let (rest, cursor) = app.all_changes(&org, &first.next, 3).await;
    let all: Vec<_> = first.events.iter().chain(&rest).cloned().collect();
    let expected: Vec<String> = (0..7).map(|i| format!("object{i}")).collect();
    assert_eq!(slugs(&all), expected);
    let last = app.changes(&org, &format!("after={cursor}")).await;
    assert!(last.events.is_empty() && !last.has_more);
    assert_eq!(app.changes(&org, &format!("after={}", last.next)).await.events.len(), 0);
}

#[tokio::test]
async fn sync_from_now_delivers_exactly_what_commits_after_the_head_cursor() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    object(&app, &org, "before").await;
    let head = app.head_cursor(&org).await;
    object(&app, &org, "after").await;
    let (events, _) = app.all_changes(&org, &head, 100).await;
    assert_eq!(slugs(&events), ["after"]);
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_a_change_commits() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let head = app.head_cursor(&org).await;
    let (query, started) = (format!("after={head}&wait=20"), Instant::now());
    let (page, _) = tokio::join!(app.changes(&org, &query), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        object(&app, &org, "woken").await;
    });
    assert_eq!(slugs(&page.events), ["woken"]);
    assert!(started.elapsed() < Duration::from_secs(10), "not woken: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_long_poll_is_woken_by_a_commit_in_another_server_process() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let other = app.second_server().await;
    let head = app.head_cursor(&org).await;
    let (query, started) = (format!("after={head}&wait=20"), Instant::now());
    let (page, _) = tokio::join!(other.changes(&org, &query), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        object(&app, &org, "elsewhere").await;
    });
    assert_eq!(slugs(&page.events), ["elsewhere"]);
    assert!(started.elapsed() < Duration::from_secs(10), "not woken: {:?}", started.elapsed());
}

#[tokio::test]
async fn waiting_readers_hold_no_database_connection() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let head = app.head_cursor(&org).await;
    // More waiters than the pool's 10 connections; a write must still get one at once.
    let query = format!("after={head}&wait=20");
    let waiters = (0..25).map(|_| app.changes(&org, &query));
    let (pages, _) = tokio::join!(futures_util::future::join_all(waiters), async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        object(&app, &org, "shared").await;
    });
    assert!(pages.iter().all(|p| slugs(&p.events) == ["shared"]));
}

#[tokio::test]
async fn waiters_beyond_the_limit_are_told_to_retry() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let limited = app.with_feed(FeedSettings { max_waiters: 1, ..FeedSettings::default() });
    let head = app.head_cursor(&org).await;
    let path = format!("/v2/changes?after={head}&wait=20");
    let (first, second) = tokio::join!(limited.get(&path, &org.token), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let busy = limited.get(&path, &org.token).await;
        object(&app, &org, "release").await;
        busy
    });
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!((second.status, second.code()), (StatusCode::SERVICE_UNAVAILABLE, "too_many_waiters"));
    assert!(second.headers.contains_key("retry-after"));
    // Without waiting there is no limit.
    assert_eq!(limited.get(&format!("/v2/changes?after={head}"), &org.token).await.status, StatusCode::OK);
    assert_eq!(types(&first.body["collection"].as_array().unwrap().clone()), ["crm.object.created"]);
}

#[tokio::test]
async fn a_page_stops_before_its_byte_limit_and_the_next_page_goes_on() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let head = app.head_cursor(&org).await;
    let names: Vec<String> = (0..12).map(|n| format!("object{n}")).collect();
    for name in &names {
        object(&app, &org, name).await;
    }
    let small = app.with_feed(FeedSettings { page_bytes: 1500, ..FeedSettings::default() });
    let first = small.changes(&org, &format!("after={head}&count=100")).await;
    assert!(first.has_more && (2..12).contains(&first.events.len()), "{} events", first.events.len());
    // Stored text is a little larger than serde's compact form, so this undercounts: every
    // event but the last was taken while the page was below the limit.
    let sizes: Vec<usize> = first.events.iter().map(|e| e.to_string().len()).collect();
    assert!(sizes[..sizes.len() - 1].iter().sum::<usize>() < 1500, "{sizes:?}");
    let (rest, _) = small.all_changes(&org, &first.next, 100).await;
    let all: Vec<Value> = first.events.into_iter().chain(rest).collect();
    assert_eq!(slugs(&all), names.iter().map(String::as_str).collect::<Vec<_>>());
    // An event larger than the limit still goes out, alone on its page.
    let tiny = app.with_feed(FeedSettings { page_bytes: 1, ..FeedSettings::default() });
    let one = tiny.changes(&org, &format!("after={head}&count=100")).await;
    assert_eq!((slugs(&one.events), one.has_more), (vec!["object0"], true));
}
