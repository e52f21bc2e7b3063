//! The HTTP client deliveries go through: rustls with the standard (webpki) roots, a 10 s limit
//! per request, no redirects, no proxies, at most 1 KiB of each answer kept, and a resolver that
//! connects only to addresses it has checked, so a host that resolves to an internal address
//! (at creation or later, by DNS rebinding) is never reached.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

use crate::domain::webhook::{CallbackUrl, is_forbidden};
use crate::domain::webhook_retry::Verdict;

/// Longest a delivery may take, answer included.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of a receiver's answer that are kept.
pub const MAX_KEPT_BODY: usize = 1024;

/// Why a callback's host cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AddressError {
    #[error("the host '{0}' does not resolve")]
    NotFound(String),
    #[error("the host '{0}' resolves to a loopback, private, link-local or otherwise internal address")]
    Forbidden(String),
}

/// What one request to a receiver produced.
#[derive(Debug, Clone)]
pub struct Response {
    pub verdict: Verdict,
    pub status_code: Option<u16>,
    /// Why there is no 2xx, in one line (never the receiver's body).
    pub error: Option<String>,
    pub latency: Duration,
    /// The first bytes of the answer, at most [`MAX_KEPT_BODY`].
    pub body: Option<String>,
}

/// Sends deliveries; cheap to clone (one connection pool).
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    /// A client; with `allow_private`, internal addresses are allowed (tests, on-premises).
    pub fn new(allow_private: bool) -> Sender {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .no_proxy()
            .user_agent(concat!("crm-api-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .build()
            .expect("the TLS backend initializes");
        Sender { client, allow_private }
    }

    /// Checks that `url`'s host resolves, to allowed addresses only (at creation and update).
    pub async fn check(&self, url: &CallbackUrl) -> Result<(), AddressError> {
        let host = url.url().host_str().unwrap_or_default().to_owned();
        let addresses = match url.ip_literal() {
            Some(ip) => vec![ip],
            None => resolve(&host).await?.into_iter().map(|a| a.ip()).collect(),
        };
        if !self.allow_private && addresses.iter().any(|ip| is_forbidden(*ip)) {
            return Err(AddressError::Forbidden(host));
        }
        Ok(())
    }

    /// POSTs `body` with `headers` to `url` and reads at most [`MAX_KEPT_BODY`] of the answer.
    pub async fn post(&self, url: &CallbackUrl, headers: HeaderMap, body: Vec<u8>) -> Response {
        let start = Instant::now();
        // A literal address bypasses the resolver, so it is checked here.
        if let Some(ip) = url.ip_literal().filter(|ip| !self.allow_private && is_forbidden(*ip)) {
            return failure(Verdict::Disable, AddressError::Forbidden(ip.to_string()).to_string(), start);
        }
        let request = self.client.post(url.url().clone()).headers(headers).header(CONTENT_TYPE, json()).body(body);
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        let mut response = match tokio::time::timeout_at(deadline, request.send()).await {
            Ok(Ok(response)) => response,
            Ok(Err(err)) => return classify(&err, start),
            Err(_) => return failure(Verdict::Retry, timed_out(), start),
        };
        let status = response.status().as_u16();
        let mut kept = Vec::new();
        while kept.len() < MAX_KEPT_BODY {
            match tokio::time::timeout_at(deadline, response.chunk()).await {
                Ok(Ok(Some(chunk))) => kept.extend_from_slice(&chunk[..chunk.len().min(MAX_KEPT_BODY - kept.len())]),
                _ => break,
            }
        }
        // Dropping the response here closes a connection whose answer was not read to its end.
        let verdict = Verdict::of_status(status);
        let error = (verdict != Verdict::Delivered).then(|| format!("the receiver answered {status}"));
        Response { verdict, status_code: Some(status), error, latency: start.elapsed(), body: Some(cut(&kept)) }
    }
}

fn json() -> HeaderValue {
    HeaderValue::from_static("application/json")
}

fn timed_out() -> String {
    format!("no answer within {} s", TIMEOUT.as_secs())
}

fn failure(verdict: Verdict, error: String, start: Instant) -> Response {
    Response { verdict, status_code: None, error: Some(error), latency: start.elapsed(), body: None }
}

/// A transport error: the resolver's refusals disable the subscription, the rest is retried.
fn classify(err: &reqwest::Error, start: Instant) -> Response {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        if let Some(refused) = current.downcast_ref::<AddressError>() {
            return failure(Verdict::Disable, refused.to_string(), start);
        }
        source = current.source();
    }
    let message = if err.is_timeout() {
        timed_out()
    } else if err.is_connect() {
        format!("cannot connect: {}", root_cause(err))
    } else {
        format!("the request failed: {}", root_cause(err))
    };
    failure(Verdict::Retry, message.chars().take(300).collect(), start)
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// The first [`MAX_KEPT_BODY`] bytes as text, cut at a character boundary.
fn cut(bytes: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    while text.len() > MAX_KEPT_BODY {
        text.pop();
    }
    text
}

async fn resolve(host: &str) -> Result<Vec<SocketAddr>, AddressError> {
    let lookup = tokio::time::timeout(TIMEOUT, tokio::net::lookup_host((host, 0))).await;
    match lookup {
        Ok(Ok(addresses)) => {
            let addresses: Vec<SocketAddr> = addresses.collect();
            if addresses.is_empty() { Err(AddressError::NotFound(host.to_owned())) } else { Ok(addresses) }
        }
        _ => Err(AddressError::NotFound(host.to_owned())),
    }
}

/// Resolves, then hands the connector only the addresses that passed the check: the address
/// connected to is the address checked.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let allowed: Vec<SocketAddr> =
                resolve(&host).await?.into_iter().filter(|a| allow_private || !is_forbidden(a.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(AddressError::Forbidden(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn kept_bodies_are_cut_at_a_character_boundary() {
        let text = "é".repeat(600);
        let kept = super::cut(&text.as_bytes()[..1023]);
        assert!(kept.len() <= 1024 && kept.chars().all(|c| c == 'é'));
    }
}
