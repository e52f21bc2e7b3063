//! The change feed as the delivery engine reads it: `db::events` pages, split into single
//! events, with the cursor after any prefix of a page (so a failed delivery in the middle of a
//! page keeps the events before it delivered and the failed one next in line).

use chrono::Utc;
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::events::{self, Filter};
use crate::domain::cursor::{Cursor, Snapshot, Within};
use crate::domain::event::EventType;
use crate::feed::FeedSettings;

/// One event of the feed.
#[derive(Debug, Clone)]
pub struct FeedEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub occurred_at: Option<chrono::DateTime<Utc>>,
    /// The event envelope, as the feed serves it.
    pub body: String,
}

/// A page read from a cursor.
#[derive(Debug, Clone)]
pub struct Page {
    pub events: Vec<FeedEvent>,
    start: Cursor,
    next: Cursor,
    /// The page's batch at the page's start: its snapshot, when that was taken, and the last
    /// event before the page (`cursor_after` re-reads a prefix of the page from it).
    batch: Within,
}

/// Why the feed cannot be read from a stored cursor.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the stored cursor is not valid")]
    Malformed,
    #[error(transparent)]
    Feed(#[from] events::ReadError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The head of the feed now, as a subscription's starting cursor ("from now").
pub async fn head(pool: &PgPool) -> Result<String, sqlx::Error> {
    // The time first: a cursor's `issued_at` must not be later than its snapshot (events::prune).
    let issued_at = Utc::now().timestamp();
    let prev = events::head(pool).await?;
    Ok(Cursor { prev, within: None, issued_at }.encode())
}

/// Whether a stored cursor is past the feed's retention (`FeedSettings::expired`): events after
/// it may have been pruned, so delivering from it could skip some without a trace. A cursor
/// that cannot be read is not expired here; reading it fails instead.
pub fn expired(cursor: &str, settings: &FeedSettings) -> bool {
    decode(cursor).is_ok_and(|c| settings.expired(&c, Utc::now().timestamp()))
}

/// Where a subscription re-enabled with `cursor` resumes: the head now when `cursor` is
/// expired (as a new subscription starts: whatever was pruned is lost either way, and the
/// receiver re-reads what it syncs), otherwise `None`, from `cursor` itself.
pub async fn restart(pool: &PgPool, cursor: &str, settings: &FeedSettings) -> Result<Option<String>, sqlx::Error> {
    if !expired(cursor, settings) {
        return Ok(None);
    }
    head(pool).await.map(Some)
}

/// A stored cursor; subscriptions created before the feed existed stored a bare snapshot.
fn decode(text: &str) -> Result<Cursor, ReadError> {
    Cursor::decode(text).or_else(|_| {
        let prev = Snapshot::parse(text).ok_or(ReadError::Malformed)?;
        Ok(Cursor { prev, within: None, issued_at: Utc::now().timestamp() })
    })
}

/// Up to `limit` events of the organization after `cursor`, of `types` (all when `None`).
pub async fn read(
    pool: &PgPool,
    organization_id: Uuid,
    cursor: &str,
    types: Option<&[String]>,
    limit: u16,
) -> Result<Page, ReadError> {
    let start = decode(cursor)?;
    let filter = Filter {
        types: types.map(|names| names.iter().filter_map(|n| EventType::parse(n)).collect()),
        object_slug: None,
    };
    let size = (limit, crate::feed::PAGE_BYTES);
    let page = events::read(pool, organization_id, Some(&start), &filter, size, Utc::now().timestamp()).await?;
    let values: Vec<serde_json::Value> =
        serde_json::from_str(&format!("[{}]", page.events_json)).map_err(|_| ReadError::Malformed)?;
    let events = values
        .into_iter()
        .filter_map(|v| {
            let event_id = v["id"].as_str().and_then(|id| Uuid::try_parse(id).ok())?;
            let event_type = v["type"].as_str()?.to_owned();
            let occurred_at = v["occurredAt"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
            let occurred_at = occurred_at.map(|t| t.with_timezone(&Utc));
            Some(FeedEvent { event_id, event_type, occurred_at, body: v.to_string() })
        })
        .collect();
    let (cur, taken_at) = match (&start.within, &page.next.within) {
        (Some(within), _) | (None, Some(within)) => (within.cur.clone(), within.taken_at),
        (None, None) => (page.next.prev.clone(), page.next.issued_at),
    };
    let last_seq = start.within.as_ref().map_or(0, |w| w.last_seq);
    Ok(Page { events, start, next: page.next, batch: Within { cur, last_seq, taken_at } })
}

impl Page {
    /// The cursor after the whole page.
    pub fn next(&self) -> String {
        self.next.encode()
    }

    /// The cursor after the first `delivered` events of this page. A prefix is re-read inside
    /// the page's own batch snapshot, so it is exactly the events delivered.
    pub async fn cursor_after(
        &self,
        pool: &PgPool,
        organization_id: Uuid,
        types: Option<&[String]>,
        delivered: usize,
    ) -> Result<String, ReadError> {
        if delivered >= self.events.len() {
            return Ok(self.next.encode());
        }
        if delivered == 0 {
            return Ok(self.start.encode());
        }
        let pinned = Cursor { within: Some(self.batch.clone()), ..self.start.clone() };
        let filter = Filter {
            types: types.map(|names| names.iter().filter_map(|n| EventType::parse(n)).collect()),
            object_slug: None,
        };
        let count = u16::try_from(delivered).unwrap_or(u16::MAX);
        // A prefix of a page is within the page's byte bound too, so this is exactly it.
        let size = (count, crate::feed::PAGE_BYTES);
        let prefix = events::read(pool, organization_id, Some(&pinned), &filter, size, Utc::now().timestamp()).await?;
        Ok(prefix.next.encode())
    }
}
