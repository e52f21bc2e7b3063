//! The test delivery of `POST /v2/webhooks/{uuid}/test`: one signed `webhook.test` event in the
//! feed's envelope, sent through the same client and signing as every delivery.

use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use super::error::ApiError;
use super::state::AppState;
use super::timestamp;
use super::webhook_dto::TestResult;
use super::webhook_input::not_found;
use crate::db;
use crate::domain::webhook::CallbackUrl;
use crate::domain::webhook_retry::Verdict;
use crate::domain::webhook_signature::SigningSecret;
use crate::webhooks::delivery::{self, Destination, Outgoing};

/// The event type of test deliveries.
pub const TEST_EVENT: &str = "webhook.test";

/// Sends the test event to subscription `id` and logs the attempt.
pub async fn run(state: &AppState, org: Uuid, token_id: Uuid, id: Uuid) -> Result<TestResult, ApiError> {
    let target = db::webhooks::target(&state.pool, org, id).await?.ok_or_else(|| not_found(id))?;
    // Stored URLs passed validation when they were written.
    let url = CallbackUrl::parse(&target.callback_url, true).map_err(ApiError::Internal)?;
    let secret = SigningSecret::parse(&target.secret).ok_or_else(|| ApiError::Internal("unreadable secret".into()))?;
    let destination = Destination { url, secret, token: target.token };
    let event_id = Uuid::new_v4();
    let body = json!({
        "id": event_id,
        "type": TEST_EVENT,
        "occurredAt": timestamp::format(&Utc::now()),
        "objectSlug": null,
        "recordId": null,
        "recordVersion": null,
        "actor": {"type": "token", "id": token_id, "name": null},
        "requestId": null,
        "idempotencyKey": null,
        "data": {"webhookUuid": id},
    })
    .to_string();
    let outgoing = Outgoing { event_id, event_type: TEST_EVENT, body: body.as_bytes() };
    let response = delivery::send(&state.webhooks.sender, &destination, &outgoing).await;
    let delivered = response.verdict == Verdict::Delivered;
    let attempt = delivery::attempt(&outgoing, 1, &response, if delivered { "delivered" } else { "failed" });
    let mut conn = state.pool.acquire().await?;
    match db::webhook_deliveries::record(&mut conn, org, id, &[attempt]).await {
        // Deleted while the test ran.
        Err(e) if db::violates(&e, "webhook_deliveries_subscription_fkey") => return Err(not_found(id)),
        other => other?,
    }
    // Test deliveries are the client's to repeat: the log stays bounded with each one.
    db::webhook_deliveries::prune_subscription(&mut conn, id).await?;
    Ok(TestResult { delivered, status_code: response.status_code, error: response.error })
}
