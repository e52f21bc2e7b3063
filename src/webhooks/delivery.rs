//! One delivery: the Standard Webhooks headers, the `Token` header, the POST, and the attempt
//! it leaves in the log.

use chrono::Utc;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use uuid::Uuid;

use super::client::{Response, Sender};
use crate::db::webhook_deliveries::Attempt;
use crate::domain::webhook::CallbackUrl;
use crate::domain::webhook_retry::Verdict;
use crate::domain::webhook_signature::SigningSecret;

/// Where and how to deliver one subscription's events.
#[derive(Debug, Clone)]
pub struct Destination {
    pub url: CallbackUrl,
    pub secret: SigningSecret,
    pub token: Option<String>,
}

/// One event to deliver: its id (the `webhook-id`), type and body (the event as in the feed).
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub body: &'a [u8],
}

/// Signs and sends `event` to `destination`.
pub async fn send(sender: &Sender, destination: &Destination, event: &Outgoing<'_>) -> Response {
    let id = event.event_id.to_string();
    let timestamp = Utc::now().timestamp();
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    put("webhook-id", &id);
    put("webhook-timestamp", &timestamp.to_string());
    put("webhook-signature", &destination.secret.sign(&id, timestamp, event.body));
    if let Some(token) = &destination.token {
        put("token", token);
    }
    let response = sender.post(&destination.url, headers, event.body.to_vec()).await;
    record_metrics(&response);
    response
}

/// The delivery latency histogram (its buckets are set in `http::metrics`).
pub const LATENCY_METRIC: &str = "webhook_delivery_duration_seconds";

fn record_metrics(response: &Response) {
    let outcome = match response.verdict {
        Verdict::Delivered => "delivered",
        Verdict::Retry => "failed",
        Verdict::Disable => "disabled",
    };
    metrics::counter!("webhook_deliveries_total", "outcome" => outcome).increment(1);
    metrics::histogram!(LATENCY_METRIC).record(response.latency.as_secs_f64());
}

/// The log entry of one attempt; `next_retry_at` is set by the caller when it schedules one.
pub fn attempt(event: &Outgoing<'_>, number: i32, response: &Response, outcome: &str) -> Attempt {
    Attempt {
        event_id: event.event_id,
        event_type: event.event_type.to_owned(),
        attempt: number,
        attempted_at: Utc::now() - chrono::Duration::from_std(response.latency).unwrap_or_default(),
        outcome: outcome.to_owned(),
        status_code: response.status_code.map(i32::from),
        error: response.error.clone(),
        latency_ms: i32::try_from(response.latency.as_millis()).unwrap_or(i32::MAX),
        response_body: response.body.clone(),
        next_retry_at: None,
    }
}
