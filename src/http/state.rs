//! What every handler can reach.

use std::num::NonZeroU32;
use std::sync::Arc;

use sqlx::PgPool;

use super::rate_limit::TokenRateLimit;
use crate::cache::{self, Cache};

/// Shared, cheaply clonable application state.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub pool: PgPool,
    /// Schemas and tokens, kept fresh by database notifications.
    pub cache: Arc<Cache>,
    /// Per-token request quota.
    pub rate_limit: Arc<TokenRateLimit>,
}

impl AppState {
    /// State over a connected pool, without a rate limit; starts listening for cache
    /// invalidations (the listener stops when the pool is closed) and installs the metrics
    /// recorder.
    pub fn new(pool: PgPool) -> AppState {
        super::metrics::handle();
        let cache = Cache::new();
        cache::spawn_listener(cache.clone(), pool.clone());
        AppState { pool, cache, rate_limit: Arc::new(TokenRateLimit::off()) }
    }

    /// Limits every token to `per_second` requests per second (bursts of twice that).
    pub fn with_rate_limit(mut self, per_second: Option<NonZeroU32>) -> AppState {
        self.rate_limit = Arc::new(per_second.map_or_else(TokenRateLimit::off, TokenRateLimit::per_second));
        self
    }
}
