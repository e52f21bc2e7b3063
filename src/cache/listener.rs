//! The LISTEN side of cache invalidation.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::Cache;

const CHANNEL: &str = "crm_cache";

/// Listens for change notifications until the pool closes, reconnecting after failures.
pub fn spawn_listener(cache: Arc<Cache>, pool: PgPool) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listen(&cache, &pool).await {
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

async fn listen(cache: &Cache, pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    // Whatever changed while we were not listening is unknown: start empty.
    cache.set_live(true);
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => apply(cache, notification.payload()),
            // The connection was lost and re-established: notifications may have been missed.
            Ok(None) => cache.clear(),
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
