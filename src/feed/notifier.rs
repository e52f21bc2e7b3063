//! The coalescing sender of cross-process wake-ups.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinHandle;

use super::Feed;
use crate::db;

/// At most one notification per this interval while writes happen: every notification is a
/// tiny commit that takes PostgreSQL's cluster-wide notify lock.
const COALESCE: Duration = Duration::from_millis(5);

/// Sends the queued organizations of `feed` to other processes until the pool closes.
pub fn spawn_notifier(feed: Arc<Feed>, pool: PgPool) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            feed.pending_changed.notified().await;
            if pool.is_closed() {
                return;
            }
            if let Some(payload) = feed.take_pending()
                && let Err(e) = db::events::notify(&pool, &payload).await
            {
                // Other processes' readers then wake at their timeout or their next local write.
                tracing::warn!(error = %e, "feed notification not sent");
            }
            tokio::time::sleep(COALESCE).await;
        }
    })
}
