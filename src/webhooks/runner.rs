//! The delivery engine of `serve`, on a thread of its own with its own runtime and its own
//! small pool. Delivering is one HTTP round trip after another; sharing the request runtime's
//! two worker threads and its pool, each hop waited behind dozens of request tasks, and under
//! load the engine fell behind the events. An OS thread that sleeps between hops is scheduled
//! at once when its answer arrives.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use super::Webhooks;
use crate::feed::Feed;

/// Database connections of the engine: its workers hold one only for a query or a commit.
pub const POOL_SIZE: u32 = 4;

/// The running engine thread.
pub struct Runner {
    abort: Option<oneshot::Sender<()>>,
    done: oneshot::Receiver<()>,
}

/// Starts the engine thread on a new pool to `database_url`.
pub fn start(database_url: String, webhooks: Webhooks, feed: Arc<Feed>) -> std::io::Result<Runner> {
    let (abort, aborted) = oneshot::channel::<()>();
    let (finished, done) = oneshot::channel::<()>();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::Builder::new().name("crm-webhooks".into()).spawn(move || {
        runtime.block_on(async move {
            let pool = match crate::db::connect(&database_url, POOL_SIZE).await {
                Ok(pool) => pool,
                Err(e) => return tracing::error!(error = %e, "the webhook engine cannot connect; no deliveries"),
            };
            tokio::select! {
                _ = super::engine::spawn(pool.clone(), webhooks, feed) => {}
                // Dropped or sent: stop now; the runtime's end cancels every worker.
                _ = aborted => {}
            }
            pool.close().await;
        });
        let _ = finished.send(());
    })?;
    Ok(Runner { abort: Some(abort), done })
}

impl Runner {
    /// Once the feed is closed: waits up to `grace` for workers to hand their subscriptions
    /// back after the delivery under way, then cuts the rest short (their events are sent
    /// again later).
    pub async fn stop(mut self, grace: Duration) {
        if tokio::time::timeout(grace, &mut self.done).await.is_err() {
            drop(self.abort.take());
            let _ = self.done.await;
        }
    }
}
