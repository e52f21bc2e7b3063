//! The coalescing sender of cross-process wake-ups.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::Feed;
use crate::db;

/// At most one notification per this interval while writes happen: every notification is a
/// tiny commit that takes PostgreSQL's cluster-wide notify lock.
const COALESCE: Duration = Duration::from_millis(5);

/// A notification's payload: who sent it (a process ignores its own) and the organizations
/// whose feed moved (`*`: all).
pub(super) fn payload(sender: &str, orgs: &str) -> String {
    format!("{sender}|{orgs}")
}

/// From a process without a feed of its own (the command line), after its write committed:
/// wakes the organization's long polls in every server process at once. Failing only delays
/// them until their next wake-up, so it is logged, not returned.
pub async fn announce(pool: &PgPool, organization_id: Uuid) {
    if let Err(e) = db::events::notify(pool, &payload("cli", &organization_id.to_string())).await {
        tracing::warn!(error = %e, "feed notification not sent");
    }
}

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
