//! The LISTEN side of cache invalidation and of cross-process feed wake-ups.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::Cache;
use crate::feed::Feed;

const CHANNEL: &str = "crm_cache";

/// Listens for change notifications until the pool closes, reconnecting after failures.
pub fn spawn_listener(cache: Arc<Cache>, feed: Arc<Feed>, pool: PgPool) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listen(&cache, &feed, &pool).await {
                Ok(()) => return,
                Err(err) => {
                    cache.set_live(false);
                    if pool.is_closed() {
                        return;
                    }
                    tracing::warn!(error = %err, "cache notifications interrupted; caches bypassed until reconnected");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    })
}

async fn listen(cache: &Cache, feed: &Feed, pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all([CHANNEL, crate::db::events::CHANNEL]).await?;
    // Whatever changed while we were not listening is unknown: start empty.
    cache.set_live(true);
    feed.wake_all();
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) if notification.channel() == CHANNEL => apply(cache, notification.payload()),
            Ok(Some(notification)) => feed.remote(notification.payload()),
            // The connection was lost and re-established: notifications may have been missed.
            Ok(None) => {
                cache.clear();
                feed.wake_all();
            }
            Err(sqlx::Error::PoolClosed) => return Ok(()),
            Err(err) => return Err(err),
        }
    }
}

fn apply(cache: &Cache, payload: &str) {
    let parsed = payload.split_once(':').and_then(|(kind, id)| Some((kind, Uuid::try_parse(id).ok()?)));
    match parsed {
        Some(("org", id)) => cache.forget_organization(id),
        Some(("token", id)) => cache.forget_token(id),
        _ => cache.clear(),
    }
}
