//! `GET /v2/changes` and `GET /v2/changes/cursor`: the change feed, in commit order.

use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::{Caller, CrmRead};
use super::changes_doc::Event;
use super::error::{ApiError, ErrorBody, FieldError};
use super::state::AppState;
use crate::db;
use crate::db::events::{Filter, Page, ReadError};
use crate::domain::cursor::{Cursor, Malformed};
use crate::domain::event::EventType;

/// Most events one page returns.
pub const MAX_COUNT: u16 = 1000;
/// Longest `wait`, in seconds.
pub const MAX_WAIT_SECS: u64 = 60;

/// Query of `GET /v2/changes`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ChangesQuery {
    /// `nextCursor` of the previous page, or `cursor` of `GET /v2/changes/cursor`. Without it
    /// (or empty) the feed starts at the oldest retained event.
    #[param(max_length = 8192, pattern = "^[A-Za-z0-9_-]*$")]
    pub after: Option<String>,
    /// Events per page, 1–1000 (default 100). A page holds fewer when its events would pass
    /// 2 MiB (`hasMore` is then true): large events cannot make a page unbounded.
    #[param(value_type = Option<i32>, minimum = 1, maximum = 1000)]
    pub count: Option<String>,
    /// Only these types, comma-separated (e.g. `crm.record.created,crm.relation.updated`).
    #[param(
        example = "crm.record.updated,crm.relation.updated",
        pattern = "^crm\\.(record\\.(created|updated|deleted)|relation\\.updated|object\\.(created|updated)|attribute\\.(created|updated))(,crm\\.(record\\.(created|updated|deleted)|relation\\.updated|object\\.(created|updated)|attribute\\.(created|updated)))*$"
    )]
    pub types: Option<String>,
    /// Only events of this object, including relation events where it is the other side.
    #[param(example = "orders")]
    pub object_slug: Option<String>,
    /// Seconds to wait for an event when there is none yet, 0–60 (default 0). The answer comes
    /// as soon as one commits (or earlier than `wait` if the server must end the request).
    #[param(value_type = Option<i32>, minimum = 0, maximum = 60)]
    pub wait: Option<String>,
}

/// A page of the feed. Documentation only: the handler writes the stored events out as they are.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ChangesPage {
    pub success: bool,
    #[schema(example = 200)]
    pub status: u16,
    /// Events in commit order; empty when none (yet).
    pub collection: Vec<Event>,
    /// Pass as `after` to read on; always present, also when the page is empty.
    pub next_cursor: String,
    /// More events are already waiting beyond this page: read on at once.
    pub has_more: bool,
}

/// `{"success": true, "status": 200, "cursor"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CursorEnvelope {
    pub success: bool,
    #[schema(example = 200)]
    pub status: u16,
    /// The head of the feed: pass as `after` to receive every change committed from now on.
    pub cursor: String,
}

/// A parsed feed request.
struct FeedRequest {
    after: Option<Cursor>,
    count: u16,
    filter: Filter,
    wait: Duration,
}

/// Read the change feed
///
/// Every committed change of the organization as events, in commit order: a reader holding a
/// cursor never later finds an event behind it. Follow `nextCursor`; with `wait` the request
/// long-polls until at least one event commits. Events are kept `CRM_EVENT_RETENTION_DAYS`
/// (default 30); an older cursor is a 410 `cursor_expired`: take a new cursor from
/// `GET /v2/changes/cursor`, re-read the records, and follow the feed from that cursor.
/// Requires `crm:read`.
#[utoipa::path(get, path = "/v2/changes", tag = "changes",
    params(ChangesQuery),
    security(("bearer" = ["crm:read"])),
    responses(
        (status = 200, description = "A page of events (possibly empty).", body = ChangesPage),
        (status = 400, description = "A malformed cursor, `count` or `wait` out of range, an unknown type or object.", body = ErrorBody),
        (status = 410, description = "The cursor is older than the retention period (`cursor_expired`).", body = ErrorBody),
        (status = 503, description = "Too many requests are long-polling (`too_many_waiters`), or the database is unavailable; retry after `Retry-After`.", body = ErrorBody),
    ))]
pub async fn list_changes(
    caller: Caller<CrmRead>,
    State(state): State<AppState>,
    Query(query): Query<ChangesQuery>,
) -> Result<Response, ApiError> {
    let org = caller.organization_id;
    let request = parse(&state, org, query).await?;
    let page = follow(&state, org, request).await?;
    let body = format!(
        r#"{{"success":true,"status":200,"collection":[{}],"nextCursor":"{}","hasMore":{}}}"#,
        page.events_json,
        page.next.encode(),
        page.has_more
    );
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

/// Get the feed's head cursor
///
/// "Sync from now": take this cursor, read the records you need, then follow
/// `GET /v2/changes?after=<cursor>`: every change committed after the cursor was taken comes
/// through the feed, so nothing falls in between (a change may arrive that the records read
/// already showed). Requires `crm:read`.
#[utoipa::path(get, path = "/v2/changes/cursor", tag = "changes",
    security(("bearer" = ["crm:read"])),
    responses((status = 200, description = "The head cursor.", body = CursorEnvelope)))]
pub async fn changes_cursor(
    _caller: Caller<CrmRead>,
    State(state): State<AppState>,
) -> Result<axum::Json<CursorEnvelope>, ApiError> {
    // The time first: a cursor's `issued_at` must not be later than its snapshot (db::events::prune).
    let issued_at = now();
    let prev = db::events::head(&state.pool).await?;
    let cursor = Cursor { prev, within: None, issued_at }.encode();
    Ok(axum::Json(CursorEnvelope { success: true, status: 200, cursor }))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Reads a page; with `wait`, until an event commits or the wait ends. Registers for the
/// wake-up before each read, so a commit in between is not missed; holds no database
/// connection while waiting.
async fn follow(state: &AppState, org: Uuid, mut request: FeedRequest) -> Result<Page, ApiError> {
    if request.wait.is_zero() {
        return read(state, org, &request).await;
    }
    let Some(_permit) = state.feed.try_wait_permit() else {
        let message = "Too many requests are waiting for changes; retry shortly.".to_owned();
        return Err(ApiError::Busy { code: "too_many_waiters", message });
    };
    let deadline = Instant::now() + request.wait;
    loop {
        let mut waiter = state.feed.register(org);
        let page = read(state, org, &request).await?;
        let left = deadline.saturating_duration_since(Instant::now());
        if page.count > 0 || left.is_zero() || state.feed.is_closing() {
            return Ok(page);
        }
        // Nothing for this reader up to the page's snapshot: wait from there.
        request.after = Some(page.next);
        waiter.wait(left).await;
    }
}

async fn read(state: &AppState, org: Uuid, request: &FeedRequest) -> Result<Page, ApiError> {
    let size = (request.count, state.feed.settings.page_bytes);
    db::events::read(&state.pool, org, request.after.as_ref(), &request.filter, size, now()).await.map_err(
        |e| match e {
            ReadError::Foreign => invalid_cursor(),
            ReadError::Database(e) => e.into(),
        },
    )
}

fn invalid_cursor() -> ApiError {
    ApiError::validation(vec![FieldError::new("after", "invalid_cursor", Malformed.to_string())])
}

/// Every problem of the query at once; then the cursor's age.
async fn parse(state: &AppState, org: Uuid, query: ChangesQuery) -> Result<FeedRequest, ApiError> {
    let mut problems = Vec::new();
    let after = query.after.as_deref().filter(|raw| !raw.is_empty()).and_then(|raw| match Cursor::decode(raw) {
        Ok(cursor) => Some(cursor),
        Err(e) => {
            problems.push(FieldError::new("after", "invalid_cursor", e.to_string()));
            None
        }
    });
    let count = number(&mut problems, "count", query.count.as_deref(), 100, 1, MAX_COUNT.into()) as u16;
    let wait = number(&mut problems, "wait", query.wait.as_deref(), 0, 0, MAX_WAIT_SECS);
    let types = query.types.as_deref().map(|raw| event_types(&mut problems, raw));
    let object_slug = match query.object_slug {
        Some(slug) if known_object(state, org, &slug).await? => Some(slug),
        Some(slug) => {
            let message = format!("no object '{slug}' in this organization");
            problems.push(FieldError::new("objectSlug", "not_found", message));
            None
        }
        None => None,
    };
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    if let Some(cursor) = &after {
        expire(state, cursor)?;
    }
    let wait = Duration::from_secs(wait).min(state.feed.settings.max_wait);
    Ok(FeedRequest { after, count, filter: Filter { types, object_slug }, wait })
}

fn expire(state: &AppState, cursor: &Cursor) -> Result<(), ApiError> {
    if !state.feed.settings.expired(cursor, now()) {
        return Ok(());
    }
    let message = "The cursor is older than the feed's retention period, so changes may have been lost. Take a new \
                   cursor from GET /v2/changes/cursor, re-read the records you sync, then follow the feed from that \
                   cursor."
        .to_owned();
    Err(ApiError::Gone { code: "cursor_expired", message })
}

async fn known_object(state: &AppState, org: Uuid, slug: &str) -> Result<bool, ApiError> {
    Ok(state.cache.schema(&state.pool, org).await?.iter().any(|o| o.slug == slug))
}

fn number(problems: &mut Vec<FieldError>, name: &str, raw: Option<&str>, default: u64, min: u64, max: u64) -> u64 {
    let Some(raw) = raw else { return default };
    match raw.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => n,
        _ => {
            problems.push(FieldError::new(
                name,
                "out_of_range",
                format!("'{name}' must be a whole number from {min} to {max}"),
            ));
            default
        }
    }
}

fn event_types(problems: &mut Vec<FieldError>, raw: &str) -> Vec<EventType> {
    let mut types = Vec::new();
    for name in raw.split(',').map(str::trim) {
        match EventType::parse(name) {
            Some(t) if !types.contains(&t) => types.push(t),
            Some(_) => {}
            None => {
                let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                let message = format!("unknown event type '{name}'; known: {}", known.join(", "));
                problems.push(FieldError::new("types", "unknown_type", message));
            }
        }
    }
    types
}
