//! What every handler can reach.

use std::sync::Arc;

use sqlx::PgPool;

use crate::cache::{self, Cache};

/// Shared, cheaply clonable application state.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub pool: PgPool,
    /// Schemas and tokens, kept fresh by database notifications.
    pub cache: Arc<Cache>,
}

impl AppState {
    /// State over a connected pool; starts listening for cache invalidations (the listener
    /// stops when the pool is closed).
    pub fn new(pool: PgPool) -> AppState {
        let cache = Cache::new();
        cache::spawn_listener(cache.clone(), pool.clone());
        AppState { pool, cache }
    }
}
