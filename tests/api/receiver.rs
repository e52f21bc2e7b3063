//! A real HTTP receiver of webhooks on 127.0.0.1, whose answers a test can change.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;

/// How the receiver answers.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 with a short body.
    Ok,
    /// This status, short body.
    Status(u16),
    /// 200 after this long.
    Slow(Duration),
    /// 200 with a 4 MiB body.
    Huge,
    /// 200 with a body that never ends.
    Endless,
    /// 307 to this location.
    Redirect(String),
}

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Inner {
    answer: Mutex<Option<Answer>>,
    received: Mutex<Vec<Received>>,
    arrived: Notify,
}

/// The running receiver; it stops with the test's runtime.
#[derive(Clone)]
pub struct Receiver {
    /// `http://127.0.0.1:<port>/hook`.
    pub url: String,
    inner: Arc<Inner>,
}

impl Receiver {
    /// Starts a receiver answering 200.
    pub async fn start() -> Receiver {
        let inner = Arc::new(Inner::default());
        let app = Router::new().route("/hook", axum::routing::post(hook)).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, inner }
    }

    /// Answers every later request with `answer`.
    pub fn answer(&self, answer: Answer) {
        *self.inner.answer.lock().unwrap() = Some(answer);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived (at most `within`), then returns all of them.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let arrived = self.inner.arrived.notified();
            let received = self.received();
            if received.len() >= n || tokio::time::Instant::now() >= deadline {
                return received;
            }
            let _ = tokio::time::timeout_at(deadline, arrived).await;
        }
    }
}

async fn hook(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    inner.received.lock().unwrap().push(Received { headers, body });
    inner.arrived.notify_waiters();
    let answer = inner.answer.lock().unwrap().clone().unwrap_or(Answer::Ok);
    match answer {
        Answer::Ok => (StatusCode::OK, "thanks").into_response(),
        Answer::Status(status) => (StatusCode::from_u16(status).unwrap(), "not now").into_response(),
        Answer::Slow(wait) => {
            tokio::time::sleep(wait).await;
            (StatusCode::OK, "late").into_response()
        }
        Answer::Huge => (StatusCode::OK, "x".repeat(4 << 20)).into_response(),
        Answer::Endless => {
            let chunk = Bytes::from(vec![b'y'; 64 * 1024]);
            let stream = futures_util::stream::repeat_with(move || Ok::<_, Infallible>(chunk.clone()));
            (StatusCode::OK, Body::from_stream(stream)).into_response()
        }
        Answer::Redirect(to) => (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response(),
    }
}
