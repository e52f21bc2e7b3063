//! Webhook delivery: the guarded HTTP client, signing of one delivery, and the engine whose
//! workers (in every server process) deliver the change feed to each subscription.

pub mod backlog;
pub mod client;
pub mod delivery;
pub mod engine;
pub mod feed;
pub mod runner;

use std::time::Duration;

use crate::domain::webhook_retry::RetryPolicy;

/// How this process treats callbacks and deliveries (from `CRM_WEBHOOK_*`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `CRM_WEBHOOK_ALLOW_HTTP`: accept `http://` callback URLs.
    pub allow_http: bool,
    /// `CRM_WEBHOOK_ALLOW_PRIVATE`: allow loopback, private and link-local addresses.
    pub allow_private: bool,
    /// Backoff and when to give up.
    pub retry: RetryPolicy,
    /// `CRM_WEBHOOK_CONCURRENCY`: subscriptions this process delivers to at once.
    pub concurrency: usize,
    /// How long a worker's claim on a subscription lasts without renewal; after a crash, another
    /// worker takes the subscription over this long after the last renewal.
    pub lease: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            allow_http: false,
            allow_private: false,
            retry: RetryPolicy::default(),
            concurrency: 32,
            lease: Duration::from_secs(15),
        }
    }
}

/// What handlers and workers share: the settings and one client (one connection pool).
#[derive(Clone)]
pub struct Webhooks {
    pub settings: Settings,
    pub sender: client::Sender,
}

impl Webhooks {
    /// The shared state for `settings`.
    pub fn new(settings: Settings) -> Webhooks {
        let sender = client::Sender::new(settings.allow_private);
        Webhooks { settings, sender }
    }
}
