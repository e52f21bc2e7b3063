//! What every handler can reach.

use std::num::NonZeroU32;
use std::sync::Arc;

use sqlx::PgPool;

use super::auth_failures::AuthFailureLimit;
use super::rate_limit::TokenRateLimit;
use super::rendered_docs::RenderedDocs;
use crate::cache::{self, Cache};
use crate::feed::{self, Feed, FeedSettings};
use crate::webhooks::{Settings, Webhooks};

/// Shared, cheaply clonable application state.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub pool: PgPool,
    /// Schemas and tokens, kept fresh by database notifications.
    pub cache: Arc<Cache>,
    /// Per-token request quota.
    pub rate_limit: Arc<TokenRateLimit>,
    /// Per-address quota of failed authentications.
    pub auth_failures: Arc<AuthFailureLimit>,
    /// Rendered workspace documents.
    pub docs: Arc<RenderedDocs>,
    /// Webhook settings and the client deliveries go through.
    pub webhooks: Arc<Webhooks>,
    /// Wake-ups of change-feed readers, and the feed's limits.
    pub feed: Arc<Feed>,
}

impl AppState {
    /// State over a connected pool, without a rate limit; starts listening for cache
    /// invalidations (the listener stops when the pool is closed) and installs the metrics
    /// recorder.
    pub fn new(pool: PgPool) -> AppState {
        AppState::with_feed(pool, FeedSettings::default())
    }

    /// Like [`AppState::new`], with the change feed's limits; also starts the task that tells
    /// other processes about this one's commits.
    pub fn with_feed(pool: PgPool, settings: FeedSettings) -> AppState {
        super::metrics::handle();
        let cache = Cache::new();
        let feed = Feed::new(settings);
        cache::spawn_listener(cache.clone(), feed.clone(), pool.clone());
        feed::spawn_notifier(feed.clone(), pool.clone());
        let (rate_limit, auth_failures) = (Arc::new(TokenRateLimit::off()), Arc::new(AuthFailureLimit::off()));
        let webhooks = Arc::new(Webhooks::new(Settings::default()));
        let docs = Arc::new(RenderedDocs::new());
        AppState { pool, cache, rate_limit, auth_failures, docs, webhooks, feed }
    }

    /// Limits every token to `per_second` requests per second (bursts of twice that).
    pub fn with_rate_limit(mut self, per_second: Option<NonZeroU32>) -> AppState {
        self.rate_limit = Arc::new(per_second.map_or_else(TokenRateLimit::off, TokenRateLimit::per_second));
        self
    }

    /// Limits every client address to `per_second` failed authentications per second (bursts
    /// of ten times that); past it, its requests needing a token are 429 until it waits.
    pub fn with_auth_failure_limit(mut self, per_second: Option<NonZeroU32>) -> AppState {
        self.auth_failures = Arc::new(per_second.map_or_else(AuthFailureLimit::off, AuthFailureLimit::per_second));
        self
    }

    /// Uses `settings` for webhook callbacks and deliveries.
    pub fn with_webhooks(mut self, settings: Settings) -> AppState {
        self.webhooks = Arc::new(Webhooks::new(settings));
        self
    }
}
