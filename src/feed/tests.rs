use std::time::{Duration, Instant};

use super::*;

fn feed() -> Arc<Feed> {
    Feed::new(FeedSettings { max_waiters: 2, ..FeedSettings::default() })
}

#[tokio::test]
async fn a_commit_between_registering_and_waiting_is_not_missed() {
    let feed = feed();
    let org = Uuid::new_v4();
    let mut waiter = feed.register(org);
    feed.committed(org);
    let start = Instant::now();
    waiter.wait(Duration::from_secs(10)).await;
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn other_organizations_and_own_notifications_do_not_wake() {
    let feed = feed();
    let org = Uuid::new_v4();
    let mut waiter = feed.register(org);
    feed.committed(Uuid::new_v4());
    feed.remote(&format!("{}|{org}", feed.instance));
    let start = Instant::now();
    waiter.wait(Duration::from_millis(50)).await;
    assert!(start.elapsed() >= Duration::from_millis(50));
}

#[tokio::test]
async fn remote_notifications_wake_named_or_all_organizations() {
    let feed = feed();
    let org = Uuid::new_v4();
    for payload in [format!("{}|{org}", Uuid::new_v4()), format!("{}|*", Uuid::new_v4()), "garbage".into()] {
        let mut waiter = feed.register(org);
        feed.remote(&payload);
        let start = Instant::now();
        waiter.wait(Duration::from_secs(10)).await;
        assert!(start.elapsed() < Duration::from_secs(5), "{payload}");
    }
}

#[test]
fn pending_organizations_coalesce_into_one_payload() {
    let feed = feed();
    let org = Uuid::new_v4();
    feed.committed(org);
    feed.committed(org);
    assert_eq!(feed.take_pending(), Some(format!("{}|{org}", feed.instance)));
    assert_eq!(feed.take_pending(), None);
    for _ in 0..=MAX_NAMED {
        feed.committed(Uuid::new_v4());
    }
    assert_eq!(feed.take_pending(), Some(format!("{}|*", feed.instance)));
}

#[test]
fn waiters_are_bounded_and_registrations_forgotten() {
    let feed = feed();
    let permits = [feed.try_wait_permit(), feed.try_wait_permit()];
    assert!(permits.iter().all(Option::is_some));
    assert!(feed.try_wait_permit().is_none());
    drop(permits);
    assert!(feed.try_wait_permit().is_some());
    let org = Uuid::new_v4();
    let (a, b) = (feed.register(org), feed.register(org));
    drop(a);
    assert_eq!(feed.readers().len(), 1);
    drop(b);
    assert!(feed.readers().is_empty());
}

#[tokio::test]
async fn closing_releases_waiters() {
    let feed = feed();
    let mut waiter = feed.register(Uuid::new_v4());
    feed.close();
    let start = Instant::now();
    waiter.wait(Duration::from_secs(10)).await;
    assert!(start.elapsed() < Duration::from_secs(5));
}
