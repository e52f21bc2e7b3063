//! The relation endpoint's extractor: path, headers and body become one domain request.

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::auth::{Caller, CrmWrite};
use super::error::ApiError;
use super::extract::Json;
use super::lookup;
use super::relation_headers::RelationHeaders;
use super::state::AppState;
use crate::db;
use crate::domain::problem::Problem;
use crate::domain::relation_change::ChangeSet;
use crate::domain::relation_request::{Idempotency, RelationRequest};
use crate::domain::schema::{AttributeDef, ObjectDef};

/// A relation change request of an authenticated `crm:write` caller, fully parsed. Rejections
/// come in this order: 401/403, 415 and unreadable bodies, 404 for the object or record id,
/// then one 400 listing every header and body problem (or 404 when the record does not exist).
pub struct RelationInput(pub RelationRequest);

impl FromRequest<AppState> for RelationInput {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let caller =
            Caller::<CrmWrite>::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?;
        let Path((slug, record)) = Path::<(String, String)>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        // Header problems are reported with the body's, so they wait until it has been read.
        let conditions = RelationHeaders::parse(&parts.headers);
        let Json(body) = Json::<Value>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        parse(state, &caller, (&slug, &record), conditions, &body).await.map_err(IntoResponse::into_response)
    }
}

/// Everything after the body was read: the object and record id, then headers and body.
async fn parse(
    state: &AppState,
    caller: &Caller<CrmWrite>,
    (slug, record): (&str, &str),
    conditions: Result<RelationHeaders, Vec<Problem>>,
    body: &Value,
) -> Result<RelationInput, ApiError> {
    let org = caller.organization_id;
    let object = lookup::object(state, org, slug).await?;
    let record_id = lookup::record_id(record)?;
    let parsed = conditions.map_err(ApiError::invalid).and_then(|conditions| {
        let (change, attribute) = parse_body(&object, body)?;
        Ok((conditions, change, attribute.clone()))
    });
    let (conditions, change, attribute) = match parsed {
        Ok(parsed) => parsed,
        // A path that names no record is a 404 whatever the body says; checked on this error
        // path only, so valid requests pay nothing for it.
        Err(e) => match db::records::exists(&state.pool, org, object.object_id, record_id).await? {
            true => return Err(e),
            false => return Err(ApiError::NotFound(format!("No record {record_id} in '{slug}'."))),
        },
    };
    // Only a keyed request needs its fingerprint (a hash over every ID).
    let idempotency = conditions.idempotency_key().map(|key| Idempotency {
        key: key.to_owned(),
        fingerprint: change.fingerprint(&format!("{slug}/{record_id}")),
    });
    Ok(RelationInput(RelationRequest {
        organization_id: org,
        object,
        record_id,
        attribute,
        change,
        accepted_versions: conditions.accepted_versions(),
        idempotency,
        minimal: conditions.minimal(),
        context: caller.change.clone(),
    }))
}

/// The change set and the attribute it names; all body and attribute problems in one 400.
fn parse_body<'a>(object: &'a ObjectDef, body: &Value) -> Result<(ChangeSet, &'a AttributeDef), ApiError> {
    parse_change(object, body).map_err(ApiError::invalid)
}

/// The change set of a body of this endpoint (or of one batch operation) and the attribute it
/// names, or every problem of the body and the attribute, pointers relative to the body.
pub(super) fn parse_change<'a>(
    object: &'a ObjectDef,
    body: &Value,
) -> Result<(ChangeSet, &'a AttributeDef), Vec<Problem>> {
    let slug = body.get("attributeSlug").and_then(Value::as_str).filter(|s| !s.is_empty());
    let attribute = slug.map(|s| link_attribute(object, s));
    match (ChangeSet::parse(body), attribute) {
        (Ok(change), Some(Ok(attribute))) => Ok((change, attribute)),
        (parsed, attribute) => {
            let mut problems = parsed.err().unwrap_or_default();
            problems.extend(attribute.and_then(Result::err));
            Err(problems)
        }
    }
}

fn link_attribute<'a>(object: &'a ObjectDef, key: &str) -> Result<&'a AttributeDef, Problem> {
    let pointer = "/attributeSlug";
    match object.attribute(key) {
        Some(a) if a.kind.is_link() && !a.is_archived => Ok(a),
        Some(a) if a.is_archived => Err(Problem::new(pointer, "archived_attribute", format!("'{key}' is archived"))),
        Some(a) => Err(Problem::new(
            pointer,
            "not_a_relation",
            format!(
                "'{key}' is a {} attribute; this endpoint changes relation and user attributes only. \
                 Set it with PATCH /v2/crm/{}/{{recordId}}",
                a.kind, object.slug
            ),
        )),
        None => {
            let links: Vec<&str> =
                object.value_attributes().filter(|a| a.kind.is_link()).map(|a| a.key.as_str()).collect();
            let message = format!(
                "'{}' has no attribute '{key}'; its relation and user attributes: {}",
                object.slug,
                links.join(", ")
            );
            Err(Problem::new(pointer, "unknown_attribute", message))
        }
    }
}
