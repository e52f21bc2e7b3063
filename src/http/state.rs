//! What every handler can reach.

use sqlx::PgPool;

/// Shared, cheaply clonable application state.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub pool: PgPool,
}

impl AppState {
    /// State over a connected pool.
    pub fn new(pool: PgPool) -> AppState {
        AppState { pool }
    }
}
