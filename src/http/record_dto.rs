//! The wire shape of records: scalar values from the row, relation and user values from links.

use std::collections::HashMap;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use super::timestamp;
use crate::db::links::{self, LinkRow};
use crate::db::record_events;
use crate::db::records::RecordRow;
use crate::domain::schema::ObjectDef;

/// A record. `attributes` has every non-archived attribute key: scalars in their type's format,
/// relation and user attributes as arrays of UUIDs in the order they were linked.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordDto {
    pub id: Uuid,
    #[schema(example = "orders")]
    pub object_slug: String,
    #[schema(value_type = HashMap<String, serde_json::Value>, example = json!({"number": "A-1001", "products": ["c1d2e3f4-a5b6-7890-cdef-123456789012"], "customer": []}))]
    pub attributes: Map<String, Value>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

/// The ETag of a record version (strong: it changes with every write to the record).
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits are a valid header value")
}

/// Adds the record's ETag to a response.
pub fn with_etag(version: i64, response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response.headers_mut().insert(header::ETAG, etag(version));
    response
}

/// Reads the links of `rows` and renders them.
pub async fn render_rows(
    pool: &PgPool,
    org: Uuid,
    object: &ObjectDef,
    rows: &[RecordRow],
) -> Result<Vec<RecordDto>, sqlx::Error> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.record_id).collect();
    let all = links::for_records(pool, org, &ids).await?;
    let mut by_record: HashMap<Uuid, Vec<&LinkRow>> = HashMap::new();
    for link in &all {
        by_record.entry(link.record_id).or_default().push(link);
    }
    Ok(rows
        .iter()
        .map(|row| render(object, row, by_record.get(&row.record_id).map_or(&[][..], Vec::as_slice)))
        .collect())
}

/// Renders one record from its row and its links.
pub fn render(object: &ObjectDef, row: &RecordRow, links: &[&LinkRow]) -> RecordDto {
    RecordDto {
        id: row.record_id,
        object_slug: object.slug.clone(),
        attributes: record_events::attributes(object, &row.values.0, Some(links)),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}
