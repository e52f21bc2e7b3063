//! The delivery engine. Every server process runs one dispatcher; it leases due subscriptions
//! (see `db::webhook_leases`) up to its concurrency and runs one worker per leased subscription.
//! A worker delivers its subscription's events one at a time in feed order and moves the cursor
//! only after 2xx answers, so a process killed at any point loses nothing: its leases run out
//! and another worker delivers again from the last recorded cursor (at least once).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::Rng;
use sqlx::PgPool;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::Webhooks;
use super::delivery::{self, Destination, Outgoing};
use super::feed::{self, Page};
use crate::db::webhook_deliveries::Attempt;
use crate::db::webhook_leases::{self, Leased, Progress};
use crate::domain::webhook::{CallbackUrl, type_filter};
use crate::domain::webhook_retry::Verdict;
use crate::domain::webhook_signature::SigningSecret;
use crate::feed::Feed;

/// Events read per page.
const BATCH: u16 = 200;
/// How long a worker with nothing to deliver keeps its lease, waiting for new events, before
/// handing the subscription back (saves a lease round trip per event under steady load).
const LINGER: Duration = Duration::from_secs(2);
/// Wake-ups closer together than this are handled together.
const DEBOUNCE: Duration = Duration::from_millis(50);
/// Even without wake-ups, the dispatcher looks for work this often.
const SAFETY_TICK: Duration = Duration::from_secs(30);

/// Why a subscription whose cursor outlived the feed's retention is disabled.
const EXPIRED: &str = "its place in the change feed is older than the event retention period \
    (CRM_EVENT_RETENTION_DAYS), so events after it may have been pruned before they were delivered; \
    re-enabling it resumes from the newest events, so re-read what you sync";

/// What every worker of this process shares.
struct Engine {
    pool: PgPool,
    webhooks: Webhooks,
    owner: Uuid,
    /// Wake-ups when events commit, here or in another process.
    feed: Arc<Feed>,
    /// Signalled when a worker finishes, so its slot is used again at once.
    freed: Notify,
}

/// Starts the dispatcher and the pruner of the attempts log. Aborting the returned task stops
/// both and every worker (they are owned by the dispatcher's `JoinSet`); deliveries cut short
/// are not recorded and are made again from the stored cursor (at least once).
pub fn spawn(pool: PgPool, webhooks: Webhooks, feed: Arc<Feed>) -> tokio::task::JoinHandle<()> {
    let engine = Arc::new(Engine { pool, webhooks, owner: Uuid::new_v4(), feed, freed: Notify::new() });
    tokio::spawn(async move {
        // The pruner stops with the dispatcher, which stops when the feed closes.
        tokio::select! {
            _ = dispatch(engine.clone()) => {}
            _ = prune(engine.clone()) => {}
            _ = super::backlog::run(engine.pool.clone()) => {}
        }
    })
}

/// Keeps the attempts log bounded, once a minute.
async fn prune(engine: Arc<Engine>) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    while !engine.pool.is_closed() {
        every.tick().await;
        if let Err(e) = crate::db::webhook_deliveries::prune(&engine.pool).await {
            tracing::warn!(error = %e, "pruning webhook deliveries failed");
        }
    }
}

async fn dispatch(engine: Arc<Engine>) {
    let slots = Arc::new(Semaphore::new(engine.webhooks.settings.concurrency));
    let mut wake = engine.feed.subscribe_all();
    let mut workers = JoinSet::new();
    while !engine.pool.is_closed() && !engine.feed.is_closing() {
        // Read before claiming: a retry falling due between the two is claimed, one due later
        // is in `until` (read after claiming, one due in between would be in neither).
        let until = next_due(&engine).await;
        let free = slots.available_permits();
        if free > 0 {
            let lease = engine.webhooks.settings.lease;
            match webhook_leases::claim(&engine.pool, engine.owner, free as i64, lease).await {
                Ok(leased) => {
                    for subscription in leased {
                        let Ok(permit) = slots.clone().try_acquire_owned() else { break };
                        workers.spawn(work(engine.clone(), subscription, permit));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "leasing webhook subscriptions failed"),
            }
        }
        tokio::select! {
            _ = woken(&mut wake) => {}
            _ = engine.freed.notified() => {}
            _ = tokio::time::sleep_until(until) => {}
        }
        tokio::time::sleep(DEBOUNCE).await;
        // Reap finished workers, so the set holds only running ones.
        while workers.try_join_next().is_some() {}
    }
    // Closing: workers hand their subscriptions back after the delivery under way.
    while workers.join_next().await.is_some() {}
}

/// Resolves at the next wake-up; never, once nothing can send one.
async fn woken(wake: &mut watch::Receiver<u64>) {
    if wake.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn next_due(engine: &Engine) -> tokio::time::Instant {
    let fallback = tokio::time::Instant::now() + SAFETY_TICK;
    match webhook_leases::next_due(&engine.pool).await {
        Ok(Some(at)) => {
            let wait = (at - Utc::now()).to_std().unwrap_or_default();
            fallback.min(tokio::time::Instant::now() + wait)
        }
        _ => fallback,
    }
}

/// Runs one leased subscription until it has nothing left, fails, or loses its lease.
async fn work(engine: Arc<Engine>, mut leased: Leased, permit: OwnedSemaphorePermit) {
    let id = leased.subscription_id;
    let destination = match destination(&leased, engine.webhooks.settings.allow_http) {
        Ok(destination) => destination,
        Err(reason) => {
            let progress = Progress::Disabled { cursor: leased.cursor.clone(), reason };
            let _ = commit(&engine, &leased, &[], &progress).await;
            return;
        }
    };
    // Registered before the first read, so a commit between a read and the wait is not missed.
    let mut waiter = engine.feed.register(leased.organization_id);
    let mut idle_since: Option<Instant> = None;
    while !engine.feed.is_closing() {
        if feed::expired(&leased.cursor, &engine.feed.settings) {
            // Delivering on would skip whatever the pruner took, without a trace.
            tracing::warn!(subscription = %id, "disabling a webhook subscription whose cursor outlived retention");
            let progress = Progress::Disabled { cursor: leased.cursor.clone(), reason: EXPIRED.to_owned() };
            let _ = commit(&engine, &leased, &[], &progress).await;
            drop(permit);
            engine.freed.notify_one();
            return;
        }
        let page = match read(&engine, &leased).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(subscription = %id, error = %e, "reading the feed for a webhook failed");
                break;
            }
        };
        if page.events.is_empty() {
            leased.cursor = page.next();
            let idle = *idle_since.get_or_insert_with(Instant::now);
            let Some(left) = LINGER.checked_sub(idle.elapsed()) else { break };
            waiter.wait(left).await;
            continue;
        }
        idle_since = None;
        match deliver_page(&engine, &mut leased, &destination, &page).await {
            Some(true) => continue,
            _ => {
                drop(permit);
                engine.freed.notify_one();
                return;
            }
        }
    }
    let _ = webhook_leases::release(&engine.pool, id, engine.owner, &leased.cursor).await;
    drop(permit);
    engine.freed.notify_one();
}

fn destination(leased: &Leased, allow_http: bool) -> Result<Destination, String> {
    let url = CallbackUrl::parse(&leased.callback_url, allow_http).map_err(|e| format!("the callback URL {e}"))?;
    let secret = SigningSecret::parse(&leased.secret).ok_or("the signing secret is unreadable")?;
    Ok(Destination { url, secret, token: leased.token.clone() })
}

async fn read(engine: &Engine, leased: &Leased) -> Result<Page, feed::ReadError> {
    let types = type_filter(&leased.events);
    feed::read(&engine.pool, leased.organization_id, &leased.cursor, types.as_deref(), BATCH).await
}

/// Delivers a page in order; `Some(true)` when all of it was delivered (or, when the server is
/// closing, the part delivered so far) and the lease is kept, otherwise the subscription was
/// left (failed, disabled, or the lease was lost).
async fn deliver_page(engine: &Engine, leased: &mut Leased, destination: &Destination, page: &Page) -> Option<bool> {
    let mut attempts: Vec<Attempt> = Vec::with_capacity(page.events.len());
    let mut renewed = Instant::now();
    for (i, event) in page.events.iter().enumerate() {
        if engine.feed.is_closing() {
            let cursor = position(engine, leased, page, i).await?;
            return Some(advance(engine, leased, &attempts, cursor).await);
        }
        let outgoing =
            Outgoing { event_id: event.event_id, event_type: &event.event_type, body: event.body.as_bytes() };
        let number = if i == 0 { leased.failed_attempts + 1 } else { 1 };
        let response = delivery::send(&engine.webhooks.sender, destination, &outgoing).await;
        if response.verdict != Verdict::Delivered {
            let cursor = position(engine, leased, page, i).await?;
            let (attempt, progress) = setback(engine, leased, cursor, &outgoing, number, &response);
            attempts.push(attempt);
            commit(engine, leased, &attempts, &progress).await;
            return None;
        }
        attempts.push(delivery::attempt(&outgoing, number, &response, "delivered"));
        if renewed.elapsed() > engine.webhooks.settings.lease / 3 {
            renewed = Instant::now();
            if !renew(engine, leased).await {
                return None;
            }
        }
    }
    Some(advance(engine, leased, &attempts, page.next()).await)
}

/// Records the delivered `attempts` with the cursor after them; whether the lease is kept.
async fn advance(engine: &Engine, leased: &mut Leased, attempts: &[Attempt], cursor: String) -> bool {
    let kept = commit(engine, leased, attempts, &Progress::Advanced { cursor: cursor.clone() }).await;
    leased.cursor = cursor;
    leased.failed_attempts = 0;
    leased.failing_since = None;
    kept
}

/// Extends the lease during a long page; whether it is still held.
async fn renew(engine: &Engine, leased: &Leased) -> bool {
    let settings = &engine.webhooks.settings;
    webhook_leases::renew(&engine.pool, leased.subscription_id, engine.owner, settings.lease).await.unwrap_or(false)
}

/// The cursor after the first `delivered` events of `page`; `None` (the lease then runs out
/// and the page is delivered again) if the feed cannot be read.
async fn position(engine: &Engine, leased: &Leased, page: &Page, delivered: usize) -> Option<String> {
    let types = type_filter(&leased.events);
    match page.cursor_after(&engine.pool, leased.organization_id, types.as_deref(), delivered).await {
        Ok(cursor) => Some(cursor),
        Err(e) => {
            tracing::warn!(subscription = %leased.subscription_id, error = %e, "positioning a webhook cursor failed");
            None
        }
    }
}

/// The attempt and the progress after a failed delivery: retry later, or disable.
fn setback(
    engine: &Engine,
    leased: &Leased,
    cursor: String,
    event: &Outgoing<'_>,
    number: i32,
    response: &super::client::Response,
) -> (Attempt, Progress) {
    let reason = response.error.clone().unwrap_or_else(|| "the delivery failed".into());
    let now = Utc::now();
    let failing_since = if number == 1 { now } else { leased.failing_since.unwrap_or(now) };
    let policy = engine.webhooks.settings.retry;
    let failing_for = (now - failing_since).to_std().unwrap_or_default();
    if response.verdict == Verdict::Disable || policy.gives_up(failing_for) {
        let attempt = delivery::attempt(event, number, response, "disabled");
        let reason = if response.verdict == Verdict::Disable {
            reason
        } else {
            format!("{reason}; deliveries failed for {} hours", failing_for.as_secs() / 3600)
        };
        return (attempt, Progress::Disabled { cursor, reason });
    }
    let delay = policy.delay(number as u32, rand::rng().random::<f64>());
    let retry_at = now + chrono::Duration::from_std(delay).unwrap_or_default();
    let mut attempt = delivery::attempt(event, number, response, "failed");
    attempt.next_retry_at = Some(retry_at);
    (attempt, Progress::Failed { cursor, failed_attempts: number, failing_since, retry_at })
}

async fn commit(engine: &Engine, leased: &Leased, attempts: &[Attempt], progress: &Progress) -> bool {
    let lease = (leased, engine.owner, engine.webhooks.settings.lease);
    match webhook_leases::commit(&engine.pool, lease, attempts, progress).await {
        Ok(kept) => kept,
        Err(e) => {
            // Not recorded: the lease runs out and these events are delivered again.
            tracing::warn!(subscription = %leased.subscription_id, error = %e, "recording webhook progress failed");
            false
        }
    }
}
