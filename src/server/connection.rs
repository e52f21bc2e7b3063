//! One connection: served by hyper's HTTP/1 with our limits, then closed lingeringly.

use std::convert::Infallible;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tower::ServiceExt;

use super::{MAX_HEADER_BYTES, ServerLimits};

/// After our answer, how long and how much of the rest of a request we read and discard
/// before closing (nginx's lingering close). Closing with unread bytes makes the kernel
/// reset the connection, and a client still sending its body then never reads the answer.
const LINGER_TIME: Duration = Duration::from_secs(5);
const LINGER_BYTES: usize = 8 * 1024 * 1024;
/// Paths a connection over the cap may ask for.
const PROBES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Which kind of place a connection holds; released when it closes.
pub enum Slot {
    Regular(#[allow(dead_code)] OwnedSemaphorePermit),
    HealthOnly(#[allow(dead_code)] OwnedSemaphorePermit),
}

/// An accepted connection and what serving it needs.
pub struct Connection {
    pub router: Router,
    pub peer: SocketAddr,
    pub slot: Slot,
    pub limits: ServerLimits,
}

type Reply = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl Connection {
    /// Serves requests until the client closes, a timeout or error ends the connection, or
    /// shutdown begins (then the request in flight finishes first).
    pub async fn serve(self, stream: TcpStream, mut stopping: watch::Receiver<bool>) {
        let _ = stream.set_nodelay(true);
        let health_only = matches!(self.slot, Slot::HealthOnly(_));
        let (router, peer) = (self.router, self.peer);
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| -> Reply {
            request.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            Box::pin(async move {
                if health_only && !PROBES.contains(&request.uri().path()) {
                    return Ok(over_capacity());
                }
                router.oneshot(request.map(Body::new)).await
            })
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout)
            .max_header_size(MAX_HEADER_BYTES)
            .max_buf_size(64 * 1024)
            .keep_alive(!health_only);
        let mut conn = builder.serve_connection(TokioIo::new(stream), service);
        let mut stop_requested = *stopping.borrow();
        let finished = loop {
            if stop_requested {
                Pin::new(&mut conn).graceful_shutdown();
            }
            tokio::select! {
                result = poll_fn(|cx| conn.poll_without_shutdown(cx)) => break result,
                changed = stopping.changed(), if !stop_requested => stop_requested = changed.is_err() || *stopping.borrow(),
            }
        };
        // An error (a header timeout, a malformed request) already closed the exchange;
        // lingering would only give a slow client more time.
        if finished.is_ok() && !stop_requested {
            linger(conn.into_parts().io.into_inner()).await;
        }
        drop(self.slot);
    }
}

fn over_capacity() -> Response {
    let message = "The server is at its connection limit; retry shortly.".to_owned();
    let mut response =
        super::super::http::error::envelope(StatusCode::SERVICE_UNAVAILABLE, "over_capacity", message, Vec::new());
    response.headers_mut().insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
    response.into_response()
}

/// Half-closes, then reads and discards what the client still sends, within bounds.
async fn linger(mut stream: TcpStream) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut buffer = vec![0u8; 16 * 1024];
    let drain = async {
        let mut left = LINGER_BYTES;
        while left > 0 {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}
