//! Deleting events past retention, in the background.

use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::db;

const EVERY: Duration = Duration::from_secs(60);
/// Rows per delete: small transactions that never hold much.
const BATCH: i64 = 1_000;

/// Prunes the events `retention` no longer covers (by transaction horizon: see `db::events::prune`)
/// every minute until the pool closes; across processes one prunes at a time (the others skip
/// that round).
pub fn spawn_pruner(pool: PgPool, retention: Duration) -> JoinHandle<()> {
    let seconds = i64::try_from(retention.as_secs()).unwrap_or(i64::MAX);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(EVERY);
        loop {
            every.tick().await;
            if pool.is_closed() {
                return;
            }
            match db::events::prune(&pool, seconds, BATCH).await {
                Ok(Some(0) | None) => {}
                Ok(Some(n)) => tracing::info!(pruned = n, "events past retention deleted"),
                Err(e) => tracing::warn!(error = %e, "pruning events failed"),
            }
        }
    })
}
