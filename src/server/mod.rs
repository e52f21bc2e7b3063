//! The HTTP server: our own accept loop over hyper, because `axum::serve` has none of the
//! knobs that keep one client from exhausting the process: a header (and idle keep-alive)
//! timeout, a cap on open connections with room left for health checks, a lingering close so
//! an early answer (413, 408) reaches a client that is still sending, and accept errors that
//! back off instead of spinning.

mod connection;
mod fd_limit;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

pub use fd_limit::raise_fd_limit;

/// Connections accepted beyond the cap, which answer only `/healthz`, `/readyz` and
/// `/metrics` (anything else: 503), one request each; so probes get through while idle or slow
/// clients hold every regular connection.
pub const HEALTH_RESERVE: usize = 64;
/// Longest request head (request line and headers); beyond it, 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Connection limits (`CRM_HEADER_TIMEOUT_SECS`, `CRM_MAX_CONNECTIONS`).
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Time a connection may take to send a request's headers, counted from when it starts
    /// waiting for one: so it is also the idle keep-alive timeout.
    pub header_timeout: Duration,
    /// Open connections served normally; [`HEALTH_RESERVE`] more answer probes only.
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting and waits for
/// every open connection to finish its request.
pub async fn run(listener: TcpListener, router: Router, limits: ServerLimits, shutdown: impl Future<Output = ()>) {
    let regular = Arc::new(Semaphore::new(limits.max_connections));
    let reserve = Arc::new(Semaphore::new(HEALTH_RESERVE));
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors (or a connection reset before we took it):
                    // pause rather than spin; closing connections frees descriptors.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match regular.clone().try_acquire_owned() {
            Ok(permit) => connection::Slot::Regular(permit),
            Err(_) => match reserve.clone().try_acquire_owned() {
                Ok(permit) => connection::Slot::HealthOnly(permit),
                // Both full: close at once, so an attacker cannot hold descriptors unserved.
                Err(_) => continue,
            },
        };
        let connection = connection::Connection { router: router.clone(), peer, slot, limits };
        tokio::spawn(connection.serve(stream, stopping.clone()));
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a permit until it has finished: all returned means all done.
    let _ = regular.acquire_many(limits.max_connections as u32).await;
    let _ = reserve.acquire_many(HEALTH_RESERVE as u32).await;
}
