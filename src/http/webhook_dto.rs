//! Shapes of the webhook endpoints: Zeeg's subscription resource (plus `status`,
//! `disabledReason` and, once, `secret`), request bodies, and the attempts log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::pagination::Pagination;
use super::timestamp;
use crate::db;

/// Who created a subscription: the API token, as the change feed names actors.
#[derive(Debug, Serialize, ToSchema)]
pub struct Creator {
    /// Always `token`.
    #[serde(rename = "type")]
    #[schema(example = "token")]
    pub kind: &'static str,
    /// The token id (as `crm-api token list` shows it).
    pub id: Uuid,
    /// The token's name, if it has one.
    pub name: Option<String>,
}

/// A webhook subscription.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDto {
    pub uuid: Uuid,
    pub name: Option<String>,
    pub description: Option<String>,
    #[schema(example = "https://example.com/webhooks/crm")]
    pub callback_url: String,
    /// Always `organization`.
    #[schema(example = "organization")]
    pub scope: &'static str,
    pub creator: Option<Creator>,
    /// Event types delivered; `crm.*` stands for all.
    #[schema(example = json!(["crm.record.created", "crm.relation.updated"]))]
    pub events: Vec<String>,
    /// The organization's id.
    pub organization: Uuid,
    #[schema(example = "v2")]
    pub api_version: &'static str,
    /// `active`, or `disabled` (see `disabledReason`); PATCH `{"status": "active"}` re-enables.
    #[schema(example = "active")]
    pub status: String,
    /// Why deliveries stopped: the receiver answered 404/410, its host does not resolve, or
    /// deliveries failed for the whole retry period.
    pub disabled_reason: Option<String>,
    /// The Standard Webhooks signing secret: in the response to the creation only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: Option<String>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

impl WebhookDto {
    /// The resource of `organization`'s subscription `s`.
    pub fn new(organization: Uuid, s: db::webhooks::Subscription) -> WebhookDto {
        WebhookDto {
            uuid: s.subscription_id,
            name: s.name,
            description: s.description,
            callback_url: s.callback_url,
            scope: "organization",
            creator: s.creator_token_id.map(|id| Creator { kind: "token", id, name: s.creator_name }),
            events: s.events,
            organization,
            api_version: "v2",
            status: s.status,
            disabled_reason: s.disabled_reason,
            secret: None,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// One subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEnvelope {
    pub success: bool,
    #[schema(example = 200)]
    pub status: u16,
    pub resource: WebhookDto,
}

/// A page of subscriptions.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub success: bool,
    #[schema(example = 200)]
    pub status: u16,
    pub collection: Vec<WebhookDto>,
    pub pagination: Pagination,
}

/// Body of `POST /v2/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where events are POSTed: `https://…` (`http://` only where the operator allows it).
    /// Hosts that resolve to loopback, private, link-local or metadata addresses are refused.
    // No example: an example URL would have to resolve wherever the document is tried out.
    #[schema(max_length = 2048, pattern = "^https?://")]
    pub callback_url: String,
    /// Event types to deliver, or `crm.*` for all.
    #[schema(min_items = 1, max_items = 50, inline)]
    pub events: Vec<EventType>,
    /// Must be `organization`: tokens belong to organizations.
    pub scope: WebhookScope,
    /// Sent as the `Token` header on every delivery: 8–1,000 printable ASCII characters, no spaces.
    #[schema(min_length = 8, max_length = 1000, pattern = "^[!-~]{8,1000}$")]
    pub token: Option<String>,
    #[schema(max_length = 255, pattern = "^[^\\u0000]*$")]
    pub name: Option<String>,
    #[schema(max_length = 1000, pattern = "^[^\\u0000]*$")]
    pub description: Option<String>,
}

/// Body of `PATCH /v2/webhooks/{uuid}`: fields present are changed; `null` clears `token`,
/// `name` and `description`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWebhook {
    #[schema(max_length = 2048, pattern = "^https?://")]
    pub callback_url: Option<String>,
    #[schema(min_items = 1, max_items = 50, inline)]
    pub events: Option<Vec<EventType>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 8, max_length = 1000, pattern = "^[!-~]{8,1000}$")]
    pub token: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 255, pattern = "^[^\\u0000]*$")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 1000, pattern = "^[^\\u0000]*$")]
    pub description: Option<Option<String>>,
    /// `active` re-enables a disabled subscription (delivery resumes where it stopped);
    /// `disabled` stops deliveries.
    pub status: Option<WebhookStatus>,
}

/// A present field, `null` included, is `Some`; an absent one stays `None` (via `default`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(de: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(de).map(Some)
}

/// An event type a subscription can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
pub enum EventType {
    #[serde(rename = "crm.*")]
    All,
    #[serde(rename = "crm.record.created")]
    RecordCreated,
    #[serde(rename = "crm.record.updated")]
    RecordUpdated,
    #[serde(rename = "crm.record.deleted")]
    RecordDeleted,
    #[serde(rename = "crm.relation.updated")]
    RelationUpdated,
    #[serde(rename = "crm.object.created")]
    ObjectCreated,
    #[serde(rename = "crm.object.updated")]
    ObjectUpdated,
    #[serde(rename = "crm.attribute.created")]
    AttributeCreated,
    #[serde(rename = "crm.attribute.updated")]
    AttributeUpdated,
}

/// The subscription's scope; only `organization` exists here.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookScope {
    Organization,
}

/// What PATCH may set `status` to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookStatus {
    Active,
    Disabled,
}

/// The result of a test delivery, as Zeeg reports it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    /// Whether the receiver answered 2xx within 10 s.
    pub delivered: bool,
    /// The receiver's status, if it answered.
    pub status_code: Option<u16>,
    /// Why it was not delivered.
    pub error: Option<String>,
}

/// Response of `POST /v2/webhooks/{uuid}/test`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestEnvelope {
    pub success: bool,
    #[schema(example = 200)]
    pub status: u16,
    pub test_result: TestResult,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDto {
    /// The event's id, also its `webhook-id` header.
    pub event_id: Uuid,
    #[schema(example = "crm.relation.updated")]
    pub event_type: String,
    /// 1 for the first attempt at this event, counting up with each retry.
    pub attempt: i32,
    #[serde(serialize_with = "timestamp::serialize")]
    pub attempted_at: DateTime<Utc>,
    /// `delivered` (2xx), `failed` (retried at `nextRetryAt`; test deliveries are not retried)
    /// or `disabled` (this attempt disabled the subscription).
    #[schema(example = "delivered")]
    pub outcome: String,
    pub status_code: Option<i32>,
    /// Why it failed: the status, a timeout, a refused connection, an unresolvable host.
    pub error: Option<String>,
    pub latency_ms: i32,
    /// The start of the receiver's answer, at most 1 KiB.
    pub response_body: Option<String>,
    #[serde(serialize_with = "timestamp::serialize_option")]
    pub next_retry_at: Option<DateTime<Utc>>,
}

impl From<db::webhook_deliveries::Attempt> for DeliveryDto {
    fn from(a: db::webhook_deliveries::Attempt) -> DeliveryDto {
        DeliveryDto {
            event_id: a.event_id,
            event_type: a.event_type,
            attempt: a.attempt,
            attempted_at: a.attempted_at,
            outcome: a.outcome,
            status_code: a.status_code,
            error: a.error,
            latency_ms: a.latency_ms,
            response_body: a.response_body,
            next_retry_at: a.next_retry_at,
        }
    }
}

/// A page of attempts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub success: bool,
    #[schema(example = 200)]
    pub status: u16,
    pub collection: Vec<DeliveryDto>,
    pub pagination: Pagination,
}
