//! `/v2/webhooks`: Zeeg's subscription API for CRM events, the test delivery and the attempts log.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use uuid::Uuid;

use super::auth::{Caller, WebhooksRead, WebhooksWrite};
use super::error::{ApiError, ErrorBody};
use super::extract::Json;
use super::pagination::{CountQuery, Pagination, page_request};
use super::records::MessageEnvelope;
use super::state::AppState;
use super::webhook_dto::{
    CreateWebhook, DeliveryDto, DeliveryList, TestEnvelope, UpdateWebhook, WebhookDto, WebhookEnvelope, WebhookList,
};
use super::webhook_input;
use crate::db;
use crate::domain::pagination::PageInfo;
use crate::domain::webhook_signature::SigningSecret;
use crate::webhooks::feed;

const PATH: &str = "/v2/webhooks";

/// Create a webhook subscription
///
/// Subscribes `callbackUrl` to CRM events of the token's organization, delivered from now on in
/// feed order, signed per Standard Webhooks with the `secret` returned here, only this once.
/// Requires `webhooks:write`.
#[utoipa::path(post, path = "/v2/webhooks", tag = "webhooks",
    request_body = CreateWebhook,
    security(("bearer" = ["webhooks:write"])),
    responses(
        (status = 201, description = "Created; `resource.secret` is shown only now.", body = WebhookEnvelope),
        (status = 400, description = "Invalid body, a refused URL or an unresolvable host; every problem listed.", body = ErrorBody),
        (status = 409, description = "The organization already has 100 subscriptions.", body = ErrorBody),
    ))]
pub async fn create_webhook(
    caller: Caller<WebhooksWrite>,
    State(state): State<AppState>,
    Json(body): Json<CreateWebhook>,
) -> Result<(StatusCode, axum::Json<WebhookEnvelope>), ApiError> {
    let input = webhook_input::create(&body, &state.webhooks.settings)?;
    webhook_input::check_address(&state, &input.url).await?;
    let (_, secret) = SigningSecret::generate();
    let cursor = feed::head(&state.pool).await?;
    let new = db::webhooks::NewSubscription {
        name: body.name.as_deref(),
        description: body.description.as_deref(),
        callback_url: input.url.as_str(),
        events: &input.events,
        token: body.token.as_deref(),
        secret: &secret,
        creator_token_id: caller.token_id,
        cursor: &cursor,
    };
    let org = caller.organization_id;
    let id = db::webhooks::create(&state.pool, org, &new).await?.ok_or_else(|| ApiError::Conflict {
        code: "limit_reached",
        message: "This organization already has 100 webhook subscriptions; delete one first.".into(),
        errors: vec![],
    })?;
    let mut resource = find(&state, org, id).await?;
    resource.secret = Some(secret);
    Ok((StatusCode::CREATED, axum::Json(WebhookEnvelope { success: true, status: 201, resource })))
}

/// List webhook subscriptions
///
/// The organization's subscriptions, oldest first. Requires `webhooks:read`.
#[utoipa::path(get, path = "/v2/webhooks", tag = "webhooks",
    params(CountQuery),
    security(("bearer" = ["webhooks:read"])),
    responses(
        (status = 200, description = "One page of subscriptions.", body = WebhookList),
        (status = 400, description = "`count` or `page` out of range.", body = ErrorBody),
    ))]
pub async fn list_webhooks(
    caller: Caller<WebhooksRead>,
    State(state): State<AppState>,
    Query(query): Query<CountQuery>,
) -> Result<axum::Json<WebhookList>, ApiError> {
    let request = page_request("count", query.count.as_deref(), query.page.as_deref())?;
    let org = caller.organization_id;
    let (page, total) = db::webhooks::list(&state.pool, org, request.size().into(), request.offset()).await?;
    let info = PageInfo::new(request, total, page.len());
    Ok(axum::Json(WebhookList {
        success: true,
        status: 200,
        collection: page.into_iter().map(|s| WebhookDto::new(org, s)).collect(),
        pagination: Pagination::new(info, request, PATH, "count"),
    }))
}

/// Get a webhook subscription
///
/// Requires `webhooks:read`.
#[utoipa::path(get, path = "/v2/webhooks/{uuid}", tag = "webhooks",
    params(("uuid" = Uuid, Path, description = "Subscription id.")),
    security(("bearer" = ["webhooks:read"])),
    responses(
        (status = 200, description = "The subscription.", body = WebhookEnvelope),
        (status = 404, description = "No such subscription in this organization.", body = ErrorBody),
    ))]
pub async fn get_webhook(
    caller: Caller<WebhooksRead>,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<axum::Json<WebhookEnvelope>, ApiError> {
    let resource = find(&state, caller.organization_id, webhook_input::id(&raw)?).await?;
    Ok(axum::Json(WebhookEnvelope { success: true, status: 200, resource }))
}

/// Update a webhook subscription
///
/// Changes the fields present. `{"status": "active"}` re-enables a disabled subscription:
/// delivery resumes with the event it stopped at, retried at once. When that place in the feed
/// is older than the event retention period (`CRM_EVENT_RETENTION_DAYS`), events after it may
/// have been pruned: delivery then resumes from the newest events, as for a new subscription,
/// and the receiver re-reads what it syncs.
/// Requires `webhooks:write`.
#[utoipa::path(patch, path = "/v2/webhooks/{uuid}", tag = "webhooks",
    params(("uuid" = Uuid, Path, description = "Subscription id.")),
    request_body = UpdateWebhook,
    security(("bearer" = ["webhooks:write"])),
    responses(
        (status = 200, description = "The subscription after the change.", body = WebhookEnvelope),
        (status = 400, description = "Invalid body or a refused URL; every problem listed.", body = ErrorBody),
        (status = 404, description = "No such subscription in this organization.", body = ErrorBody),
    ))]
pub async fn update_webhook(
    caller: Caller<WebhooksWrite>,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Json(body): Json<UpdateWebhook>,
) -> Result<axum::Json<WebhookEnvelope>, ApiError> {
    let id = webhook_input::id(&raw)?;
    let mut patch = webhook_input::update(body, &state.webhooks.settings)?;
    if let Some(url) = &patch.callback_url {
        let url = crate::domain::webhook::CallbackUrl::parse(url, true).map_err(ApiError::Internal)?;
        webhook_input::check_address(&state, &url).await?;
    }
    if patch.active == Some(true) {
        let stored = db::webhooks::cursor(&state.pool, caller.organization_id, id).await?;
        let stored = stored.ok_or_else(|| webhook_input::not_found(id))?;
        if let Some(head) = feed::restart(&state.pool, &stored, &state.feed.settings).await? {
            patch.restart = Some((stored, head));
        }
    }
    if !db::webhooks::update(&state.pool, caller.organization_id, id, &patch).await? {
        return Err(webhook_input::not_found(id));
    }
    if patch.active == Some(true) {
        // Due at once: this process's dispatcher looks now, not at its next wake-up.
        state.feed.nudge();
    }
    let resource = find(&state, caller.organization_id, id).await?;
    Ok(axum::Json(WebhookEnvelope { success: true, status: 200, resource }))
}

/// Delete a webhook subscription
///
/// Stops deliveries and deletes the subscription with its attempts log. Requires `webhooks:write`.
#[utoipa::path(delete, path = "/v2/webhooks/{uuid}", tag = "webhooks",
    params(("uuid" = Uuid, Path, description = "Subscription id.")),
    security(("bearer" = ["webhooks:write"])),
    responses(
        (status = 200, description = "Deleted.", body = MessageEnvelope),
        (status = 404, description = "No such subscription in this organization.", body = ErrorBody),
    ))]
pub async fn delete_webhook(
    caller: Caller<WebhooksWrite>,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<axum::Json<MessageEnvelope>, ApiError> {
    let id = webhook_input::id(&raw)?;
    if !db::webhooks::delete(&state.pool, caller.organization_id, id).await? {
        return Err(webhook_input::not_found(id));
    }
    Ok(axum::Json(MessageEnvelope { success: true, status: 200, message: "Webhook subscription deleted.".into() }))
}

/// Send a test event
///
/// POSTs one signed `webhook.test` event to the callback URL now (also when the subscription is
/// disabled) and reports what happened, as Zeeg's `testResult` does. Not retried; logged among
/// the deliveries. Requires `webhooks:write`.
#[utoipa::path(post, path = "/v2/webhooks/{uuid}/test", tag = "webhooks",
    params(("uuid" = Uuid, Path, description = "Subscription id.")),
    security(("bearer" = ["webhooks:write"])),
    responses(
        (status = 200, description = "The test was attempted; `testResult` says how it went.", body = TestEnvelope),
        (status = 404, description = "No such subscription in this organization.", body = ErrorBody),
    ))]
pub async fn test_webhook(
    caller: Caller<WebhooksWrite>,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<axum::Json<TestEnvelope>, ApiError> {
    let id = webhook_input::id(&raw)?;
    let test_result = super::webhook_test::run(&state, caller.organization_id, caller.token_id, id).await?;
    Ok(axum::Json(TestEnvelope { success: true, status: 200, test_result }))
}

/// List delivery attempts
///
/// Every attempt to deliver an event to this subscription, newest first: the event, the
/// receiver's status or the error, the latency, and when the next retry is due. The newest
/// 10,000 attempts are kept. Requires `webhooks:read`.
#[utoipa::path(get, path = "/v2/webhooks/{uuid}/deliveries", tag = "webhooks",
    params(("uuid" = Uuid, Path, description = "Subscription id."), CountQuery),
    security(("bearer" = ["webhooks:read"])),
    responses(
        (status = 200, description = "One page of attempts.", body = DeliveryList),
        (status = 400, description = "`count` or `page` out of range.", body = ErrorBody),
        (status = 404, description = "No such subscription in this organization.", body = ErrorBody),
    ))]
pub async fn list_deliveries(
    caller: Caller<WebhooksRead>,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(query): Query<CountQuery>,
) -> Result<axum::Json<DeliveryList>, ApiError> {
    let id = webhook_input::id(&raw)?;
    let request = page_request("count", query.count.as_deref(), query.page.as_deref())?;
    let org = caller.organization_id;
    find(&state, org, id).await?;
    let (page, total) =
        db::webhook_deliveries::list(&state.pool, org, id, request.size().into(), request.offset()).await?;
    let info = PageInfo::new(request, total, page.len());
    Ok(axum::Json(DeliveryList {
        success: true,
        status: 200,
        collection: page.into_iter().map(DeliveryDto::from).collect(),
        pagination: Pagination::new(info, request, &format!("{PATH}/{id}/deliveries"), "count"),
    }))
}

async fn find(state: &AppState, org: Uuid, id: Uuid) -> Result<WebhookDto, ApiError> {
    let subscription = db::webhooks::get(&state.pool, org, id).await?.ok_or_else(|| webhook_input::not_found(id))?;
    Ok(WebhookDto::new(org, subscription))
}
