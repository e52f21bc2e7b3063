//! Waking long-polling feed readers when events commit, within this process and across
//! processes on one database, without ever notifying inside a write transaction.
//!
//! After a write commits, `committed` wakes this process's readers of that organization at
//! once and queues the organization for the `notifier` task, which sends one coalesced
//! `pg_notify` per few milliseconds (`<instance>|<org>,<org>…`, or `<instance>|*`). Every
//! process's listener (`cache::listener`) hands those to `remote`; a process ignores its own.

mod notifier;
mod pruner;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use uuid::Uuid;

pub use notifier::{announce, spawn_notifier};
pub use pruner::spawn_pruner;

use crate::domain::cursor::Cursor;

/// Limits of the feed.
#[derive(Debug, Clone)]
pub struct FeedSettings {
    /// Events older than this are pruned; cursors older than this are expired (410).
    pub retention: Duration,
    /// Longest long poll actually held (a `wait` above it returns earlier, with no events).
    pub max_wait: Duration,
    /// Most requests long-polling at once in this process; more are answered 503.
    pub max_waiters: usize,
    /// Bytes of events a page stops at (it holds at least one event).
    pub page_bytes: usize,
}

/// A page of the feed stops before the event that would take it past this many bytes.
pub const PAGE_BYTES: usize = 2 * 1024 * 1024;

impl FeedSettings {
    /// Whether `cursor` is older than retention at `now` (Unix seconds): events after it may
    /// have been pruned. The one rule for the feed's 410 and for webhook subscriptions.
    pub fn expired(&self, cursor: &Cursor, now: i64) -> bool {
        let retention = i64::try_from(self.retention.as_secs()).unwrap_or(i64::MAX);
        cursor.issued_at < now.saturating_sub(retention)
    }
}

impl Default for FeedSettings {
    fn default() -> FeedSettings {
        FeedSettings {
            retention: Duration::from_secs(30 * 86_400),
            max_wait: Duration::from_secs(60),
            max_waiters: 1_000,
            page_bytes: PAGE_BYTES,
        }
    }
}

/// Wake-ups of this process's feed readers.
pub struct Feed {
    pub settings: FeedSettings,
    /// Tells `notifier`s apart: a process ignores the notifications it sent.
    instance: Uuid,
    readers: Mutex<HashMap<Uuid, watch::Sender<u64>>>,
    waiters: Arc<Semaphore>,
    /// Organizations whose feed moved since the last cross-process notification.
    pending: Mutex<HashSet<Uuid>>,
    pending_changed: Notify,
    closing: watch::Sender<bool>,
    /// Bumped on every wake-up of any organization: the webhook dispatcher waits on it.
    any: watch::Sender<u64>,
}

/// A reader registered for wake-ups of one organization. Register before reading, so a
/// commit between the read and the wait is not missed.
pub struct Waiter<'a> {
    feed: &'a Feed,
    organization_id: Uuid,
    moved: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
}

/// Most organizations one notification names; beyond it, it says "all".
const MAX_NAMED: usize = 150;

impl Feed {
    /// A feed with these limits; spawn `spawn_notifier` to reach other processes.
    pub fn new(settings: FeedSettings) -> Arc<Feed> {
        Arc::new(Feed {
            waiters: Arc::new(Semaphore::new(settings.max_waiters)),
            settings,
            instance: Uuid::new_v4(),
            readers: Mutex::default(),
            pending: Mutex::default(),
            pending_changed: Notify::new(),
            closing: watch::Sender::new(false),
            any: watch::Sender::new(0),
        })
    }

    fn readers(&self) -> MutexGuard<'_, HashMap<Uuid, watch::Sender<u64>>> {
        self.readers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A write of the organization committed: wake its readers here and, soon, elsewhere.
    pub fn committed(&self, organization_id: Uuid) {
        self.wake(organization_id);
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.insert(organization_id);
        drop(pending);
        self.pending_changed.notify_one();
    }

    fn wake(&self, organization_id: Uuid) {
        self.any.send_modify(|n| *n = n.wrapping_add(1));
        if let Some(sender) = self.readers().get(&organization_id) {
            sender.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Wakes every reader of this process (notifications may have been missed).
    pub fn wake_all(&self) {
        self.any.send_modify(|n| *n = n.wrapping_add(1));
        for sender in self.readers().values() {
            sender.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// A notification from the `crm_events` channel.
    pub fn remote(&self, payload: &str) {
        let Some((instance, orgs)) = payload.split_once('|') else { return self.wake_all() };
        if instance == self.instance.to_string() {
            return;
        }
        if orgs == "*" {
            return self.wake_all();
        }
        for org in orgs.split(',').filter_map(|o| Uuid::try_parse(o).ok()) {
            self.wake(org);
        }
    }

    /// A permit to long-poll, or `None` when `max_waiters` requests already wait.
    pub fn try_wait_permit(&self) -> Option<OwnedSemaphorePermit> {
        self.waiters.clone().try_acquire_owned().ok()
    }

    /// Registers for wake-ups of the organization's feed.
    pub fn register(&self, organization_id: Uuid) -> Waiter<'_> {
        let mut readers = self.readers();
        let sender = readers.entry(organization_id).or_insert_with(|| watch::Sender::new(0));
        let moved = sender.subscribe();
        drop(readers);
        Waiter { feed: self, organization_id, moved, closing: self.closing.subscribe() }
    }

    /// Wake-ups of every organization (changes on each `committed`, `remote` or `wake_all`).
    pub fn subscribe_all(&self) -> watch::Receiver<u64> {
        self.any.subscribe()
    }

    /// Wakes whoever waits on `subscribe_all` only (a webhook subscription became due).
    pub fn nudge(&self) {
        self.any.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The server is shutting down: waiting readers return at once.
    pub fn close(&self) {
        self.closing.send_replace(true);
        self.any.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Whether `close` was called.
    pub fn is_closing(&self) -> bool {
        *self.closing.borrow()
    }

    /// Takes the organizations to announce, as a notification payload (`None`: nothing new).
    fn take_pending(&self) -> Option<String> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.is_empty() {
            return None;
        }
        let orgs = if pending.len() > MAX_NAMED {
            "*".to_owned()
        } else {
            pending.iter().map(Uuid::to_string).collect::<Vec<_>>().join(",")
        };
        pending.clear();
        Some(notifier::payload(&self.instance.to_string(), &orgs))
    }
}

impl Waiter<'_> {
    /// Waits until the organization's feed moves (since registering), the server closes, or
    /// `timeout` passes. Holds nothing but this registration while waiting.
    pub async fn wait(&mut self, timeout: Duration) {
        if *self.closing.borrow() {
            return;
        }
        tokio::select! {
            _ = self.moved.changed() => {}
            _ = self.closing.changed() => {}
            _ = tokio::time::sleep(timeout) => {}
        }
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        let mut readers = self.feed.readers();
        // This waiter's receiver is the last one: forget the organization (bounded map).
        if readers.get(&self.organization_id).is_some_and(|s| s.receiver_count() <= 1) {
            readers.remove(&self.organization_id);
        }
    }
}

#[cfg(test)]
mod tests;
