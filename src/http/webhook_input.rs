//! Validation of webhook request bodies: every problem found is reported at once.

use uuid::Uuid;

use super::error::{ApiError, FieldError};
use super::state::AppState;
use super::webhook_dto::{CreateWebhook, EventType, UpdateWebhook, WebhookStatus};
use crate::db::webhooks::SubscriptionPatch;
use crate::domain::webhook::{self, CallbackUrl, MAX_DESCRIPTION_LEN, MAX_NAME_LEN};
use crate::webhooks::Settings;
use crate::webhooks::client::AddressError;

/// A creation body that passed validation.
#[derive(Debug)]
pub struct Valid {
    pub url: CallbackUrl,
    pub events: Vec<String>,
}

/// Checks a creation body.
pub fn create(body: &CreateWebhook, settings: &Settings) -> Result<Valid, ApiError> {
    let mut problems = Vec::new();
    let url = check(&mut problems, "/callbackUrl", CallbackUrl::parse(&body.callback_url, settings.allow_http));
    let events = events(&mut problems, &body.events);
    texts(&mut problems, body.token.as_deref(), body.name.as_deref(), body.description.as_deref());
    match (url, events) {
        (Some(url), Some(events)) if problems.is_empty() => Ok(Valid { url, events }),
        _ => Err(ApiError::validation(problems)),
    }
}

/// Checks a patch body and turns it into the change to apply.
pub fn update(body: UpdateWebhook, settings: &Settings) -> Result<SubscriptionPatch, ApiError> {
    let mut problems = Vec::new();
    let url = body.callback_url.as_deref().map(|raw| CallbackUrl::parse(raw, settings.allow_http));
    let url = url.and_then(|parsed| check(&mut problems, "/callbackUrl", parsed));
    let events = body.events.as_deref().and_then(|raw| events(&mut problems, raw));
    let token = body.token.clone().flatten();
    let name = body.name.clone().flatten();
    let description = body.description.clone().flatten();
    texts(&mut problems, token.as_deref(), name.as_deref(), description.as_deref());
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    Ok(SubscriptionPatch {
        name: body.name,
        description: body.description,
        callback_url: url.map(|u| u.as_str().to_owned()),
        events,
        token: body.token,
        active: body.status.map(|s| s == WebhookStatus::Active),
        restart: None,
    })
}

fn check<T>(problems: &mut Vec<FieldError>, pointer: &str, result: Result<T, String>) -> Option<T> {
    result
        .map_err(|message| {
            problems.push(FieldError::new(pointer, "invalid_value", format!("'{}' {message}", &pointer[1..])))
        })
        .ok()
}

fn events(problems: &mut Vec<FieldError>, raw: &[EventType]) -> Option<Vec<String>> {
    let names: Vec<String> = raw.iter().map(|e| e.as_str().to_owned()).collect();
    webhook::parse_events(&names, "/events")
        .map_err(|found| problems.extend(found.into_iter().map(FieldError::from)))
        .ok()
}

fn texts(problems: &mut Vec<FieldError>, token: Option<&str>, name: Option<&str>, description: Option<&str>) {
    if let Some(token) = token {
        check(problems, "/token", webhook::parse_token(token));
    }
    if let Some(name) = name {
        check(problems, "/name", webhook::check_text(name, MAX_NAME_LEN));
    }
    if let Some(description) = description {
        check(problems, "/description", webhook::check_text(description, MAX_DESCRIPTION_LEN));
    }
}

/// Resolves the callback's host and refuses internal addresses (unless the operator allows them).
pub async fn check_address(state: &AppState, url: &CallbackUrl) -> Result<(), ApiError> {
    state.webhooks.sender.check(url).await.map_err(|e| {
        let code = match e {
            AddressError::NotFound(_) => "unresolvable_host",
            AddressError::Forbidden(_) => "forbidden_address",
        };
        ApiError::validation(vec![FieldError::new("/callbackUrl", code, format!("'callbackUrl': {e}"))])
    })
}

/// A subscription id from the path; anything but a UUID names no subscription.
pub fn id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(raw).map_err(|_| ApiError::NotFound(format!("No webhook subscription '{raw}': ids are UUIDs.")))
}

/// The 404 for a subscription that is not the caller's organization's.
pub fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("No webhook subscription {id} in this organization."))
}

impl EventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::All => webhook::ALL_EVENTS,
            EventType::RecordCreated => "crm.record.created",
            EventType::RecordUpdated => "crm.record.updated",
            EventType::RecordDeleted => "crm.record.deleted",
            EventType::RelationUpdated => "crm.relation.updated",
            EventType::ObjectCreated => "crm.object.created",
            EventType::ObjectUpdated => "crm.object.updated",
            EventType::AttributeCreated => "crm.attribute.created",
            EventType::AttributeUpdated => "crm.attribute.updated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_enum_names_exactly_the_domain_types() {
        let domain = crate::domain::event::EventType::ALL.map(|t| t.as_str());
        for name in domain.iter().chain([&webhook::ALL_EVENTS]) {
            let parsed: EventType = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(parsed.as_str(), *name);
        }
    }
}
