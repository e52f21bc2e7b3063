//! The HTTP side of change attribution and feed wake-ups.
//!
//! Every write returns only after its transaction ended, so a successful response to a
//! non-GET request means its events (if any) are committed: one layer then wakes the feed
//! readers of the caller's organization, for every endpoint, present and future. The
//! organization is learnt from the `Caller` extractor through a cell this layer puts into
//! the request.

use std::sync::{Arc, OnceLock};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use uuid::Uuid;

use crate::domain::event::ChangeContext;
use crate::feed::Feed;

/// Longest `x-request-id` or `Idempotency-Key` copied into events.
const MAX_HEADER_CHARS: usize = 255;

#[derive(Clone, Default)]
struct CallerOrg(Arc<OnceLock<Uuid>>);

/// Wakes the caller's feed readers after a successful write.
pub async fn after_write(State(feed): State<Arc<Feed>>, mut request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let org = CallerOrg::default();
    request.extensions_mut().insert(org.clone());
    let response = next.run(request).await;
    if response.status().is_success()
        && let Some(organization_id) = org.0.get()
    {
        feed.committed(*organization_id);
    }
    response
}

/// Called by the `Caller` extractor once the token is known.
pub fn caller_seen(parts: &Parts, organization_id: Uuid) {
    if let Some(org) = parts.extensions.get::<CallerOrg>() {
        let _ = org.0.set(organization_id);
    }
}

/// The attribution of this request's changes: the token, the request id, the Idempotency-Key.
pub fn change_context(parts: &Parts, token_id: Uuid, token_name: Option<String>) -> ChangeContext {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= MAX_HEADER_CHARS)
            .map(str::to_owned)
    };
    ChangeContext::token(token_id, token_name, header("x-request-id"), header("idempotency-key"))
}
