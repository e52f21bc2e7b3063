//! The relation endpoint's transaction: surgical add/remove on one relation or user attribute.
//! The work is the `crm_relation_apply` function (migration 0004), so a request costs one round
//! trip; with an Idempotency-Key it runs inside a transaction that also stores the response.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

use super::idempotency::{self, StoredResponse};
use super::links::{self, LinkDiff, LinkRow};
use super::records::RecordRow;
use crate::domain::attribute::RelationSide;
use crate::domain::link_problems;
use crate::domain::problem::Problem;
use crate::domain::relation_change::{ChangeSet, position};
use crate::domain::schema::{AttributeDef, ObjectDef};

/// Deadlocks are prevented by ordering, but a swap racing a swap across two records of a
/// `one_to_many` relation can still cycle through the cardinality index; PostgreSQL aborts one
/// side, and we run it again.
const ATTEMPTS: usize = 3;

/// One relation change to apply.
pub struct RelationRequest<'a> {
    pub organization_id: Uuid,
    pub object: &'a ObjectDef,
    pub record_id: Uuid,
    pub attribute: &'a AttributeDef,
    pub change: &'a ChangeSet,
    /// Versions `If-Match` accepts; `None` when there is no condition.
    pub accepted_versions: Option<Vec<i64>>,
    /// `(Idempotency-Key, fingerprint of the request)`.
    pub idempotency: Option<(&'a str, [u8; 32])>,
    /// Read every link of the record after the change, to return the record.
    pub with_record: bool,
}

/// The change as committed.
pub struct Applied {
    /// The record row after the change (version bumped only if something changed).
    pub row: RecordRow,
    /// What really changed, each list in request order.
    pub diff: LinkDiff,
    /// All links of the record after the change, when asked for.
    pub links: Option<Vec<LinkRow>>,
}

/// What happened.
pub enum Outcome {
    /// Applied now; with an Idempotency-Key, also the response that was stored for replays.
    Applied(Applied, Option<StoredResponse>),
    /// The same key and request succeeded before: its response.
    Replay(StoredResponse),
}

/// Why the change was not applied; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum RelationError {
    #[error("record not found")]
    RecordNotFound,
    #[error("If-Match does not match version {0}")]
    PreconditionFailed(i64),
    #[error("invalid targets")]
    Invalid(Vec<Problem>),
    #[error("cardinality conflict")]
    Conflict(Vec<Problem>),
    #[error("a request with this Idempotency-Key is in flight")]
    KeyInFlight,
    #[error("the Idempotency-Key was used for a different request")]
    KeyReused,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Applies the change: removals, then additions, as set-based statements in one transaction;
/// the version is bumped only if something changed. `respond` renders the response stored
/// under the Idempotency-Key, inside the same transaction.
pub async fn apply(
    pool: &PgPool,
    request: &RelationRequest<'_>,
    respond: &(dyn Fn(&Applied) -> StoredResponse + Sync),
) -> Result<Outcome, RelationError> {
    check_cardinality(request)?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = match request.idempotency {
            None => call(pool, request).await.map(|applied| Outcome::Applied(applied, None)),
            Some(key) => with_key(pool, request, key, respond).await,
        };
        match result {
            Err(Failure::Retryable(_)) if attempt < ATTEMPTS => continue,
            Err(Failure::Retryable(e)) => return Err(e.into()),
            Err(Failure::Error(e)) => return Err(e),
            Err(Failure::Cardinality) => return Err(explain_conflict(pool, request).await?),
            Ok(outcome) => return Ok(outcome),
        }
    }
}

/// A cardinality-one attribute can never take two new links in one request.
fn check_cardinality(request: &RelationRequest<'_>) -> Result<(), RelationError> {
    let attr = request.attribute;
    let add = request.change.add();
    match &attr.relation {
        Some(r) if r.relation_type.single_here() && add.len() > 1 => {
            let message = format!(
                "'{}' is {} and links at most one record; 'add' has {}",
                attr.key,
                r.relation_type.as_str(),
                add.len()
            );
            Err(RelationError::Conflict(vec![Problem::new("/add", "cardinality_exceeded", message)]))
        }
        _ => Ok(()),
    }
}

enum Failure {
    Error(RelationError),
    Retryable(sqlx::Error),
    Cardinality,
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Failure {
        let code = e.as_database_error().and_then(|d| d.code());
        match code.as_deref() {
            // deadlock_detected, serialization_failure
            Some("40P01" | "40001") => Failure::Retryable(e),
            _ => match links::classify(e) {
                links::LinkError::Cardinality => Failure::Cardinality,
                links::LinkError::TargetMissing => {
                    let message = "a record or member to link was deleted meanwhile; retry".to_owned();
                    Failure::Error(RelationError::Invalid(vec![Problem::new("/add", "not_found", message)]))
                }
                links::LinkError::Database(e) => Failure::Error(e.into()),
            },
        }
    }
}

impl From<RelationError> for Failure {
    fn from(e: RelationError) -> Failure {
        Failure::Error(e)
    }
}

/// The Idempotency-Key path: one transaction that takes the key, replays a stored response or
/// applies the change and stores its response. It always ends explicitly: a dropped
/// transaction only queues its rollback, leaving the key's lock held by an idle connection.
async fn with_key(
    pool: &PgPool,
    request: &RelationRequest<'_>,
    (key, fingerprint): (&str, [u8; 32]),
    respond: &(dyn Fn(&Applied) -> StoredResponse + Sync),
) -> Result<Outcome, Failure> {
    let mut tx = pool.begin().await?;
    let outcome = keyed_steps(&mut tx, request, (key, fingerprint), respond).await;
    match outcome {
        Ok(applied @ Outcome::Applied(..)) => {
            tx.commit().await?;
            Ok(applied)
        }
        other => {
            tx.rollback().await?;
            other
        }
    }
}

async fn keyed_steps(
    tx: &mut PgConnection,
    request: &RelationRequest<'_>,
    (key, fingerprint): (&str, [u8; 32]),
    respond: &(dyn Fn(&Applied) -> StoredResponse + Sync),
) -> Result<Outcome, Failure> {
    let org = request.organization_id;
    if !idempotency::try_lock(tx, org, key).await? {
        return Err(RelationError::KeyInFlight.into());
    }
    if let Some(stored) = idempotency::find(tx, org, key).await? {
        return match stored.fingerprint == fingerprint {
            true => Ok(Outcome::Replay(stored)),
            false => Err(RelationError::KeyReused.into()),
        };
    }
    let applied = call(&mut *tx, request).await?;
    let response = respond(&applied);
    idempotency::store(tx, org, key, &response).await?;
    Ok(Outcome::Applied(applied, Some(response)))
}

#[derive(sqlx::FromRow)]
struct ApplyRow {
    r_outcome: String,
    r_version: Option<i64>,
    r_created_at: Option<DateTime<Utc>>,
    r_updated_at: Option<DateTime<Utc>>,
    r_values: Option<Json<Map<String, Value>>>,
    r_added: Option<Vec<Uuid>>,
    r_removed: Option<Vec<Uuid>>,
    r_missing: Option<Vec<Uuid>>,
    r_inactive: Option<Vec<Uuid>>,
    r_link_kinds: Option<Vec<String>>,
    r_link_owners: Option<Vec<Uuid>>,
    r_link_others: Option<Vec<Uuid>>,
}

/// One call of `crm_relation_apply`.
async fn call(executor: impl PgExecutor<'_>, request: &RelationRequest<'_>) -> Result<Applied, Failure> {
    let attr = request.attribute;
    let (side, owner, related, (source_single, target_single)) = match &attr.relation {
        Some(r) => {
            let side = if r.side == RelationSide::Source { "source" } else { "target" };
            (side, r.relation_id, Some(r.related_object_id), r.link_flags())
        }
        None => ("user", attr.attribute_id, None, (false, false)),
    };
    let row: ApplyRow =
        sqlx::query_as("select * from crm_relation_apply($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
            .bind(request.organization_id)
            .bind(request.object.object_id)
            .bind(request.record_id)
            .bind(side)
            .bind(owner)
            .bind(related)
            .bind(source_single)
            .bind(target_single)
            .bind(request.change.add())
            .bind(request.change.remove())
            .bind(&request.accepted_versions)
            .bind(request.with_record)
            .fetch_one(executor)
            .await?;
    interpret(row, request)
}

fn interpret(row: ApplyRow, request: &RelationRequest<'_>) -> Result<Applied, Failure> {
    let add = request.change.add();
    match row.r_outcome.as_str() {
        "not_found" => return Err(RelationError::RecordNotFound.into()),
        "precondition_failed" => {
            return Err(RelationError::PreconditionFailed(row.r_version.unwrap_or_default()).into());
        }
        "invalid" => {
            let unlinkable = row.r_missing.into_iter().flatten().map(|id| (id, false));
            let inactive = row.r_inactive.into_iter().flatten().map(|id| (id, true));
            let mut found: Vec<(Uuid, bool)> = unlinkable.chain(inactive).collect();
            found.sort_by_key(|(id, _)| position(add, id));
            let problems = found
                .into_iter()
                .map(|(id, inactive)| {
                    link_problems::unlinkable(&format!("/add/{}", position(add, &id)), request.attribute, id, inactive)
                })
                .collect();
            return Err(RelationError::Invalid(problems).into());
        }
        _ => {}
    }
    let links = match (row.r_link_kinds, row.r_link_owners, row.r_link_others) {
        (Some(kinds), Some(owners), Some(others)) => Some(
            kinds
                .into_iter()
                .zip(owners)
                .zip(others)
                .map(|((kind, owner_id), other_id)| LinkRow { record_id: request.record_id, kind, owner_id, other_id })
                .collect(),
        ),
        _ if request.with_record => Some(Vec::new()),
        _ => None,
    };
    let added = row.r_added.unwrap_or_default();
    let removed = row.r_removed.unwrap_or_default();
    Ok(Applied {
        row: RecordRow {
            record_id: request.record_id,
            values: row.r_values.unwrap_or_default(),
            version: row.r_version.unwrap_or_default(),
            created_at: row.r_created_at.unwrap_or_default(),
            updated_at: row.r_updated_at.unwrap_or_default(),
        },
        diff: LinkDiff {
            added: links::in_request_order(add, &added),
            removed: links::in_request_order(request.change.remove(), &removed),
        },
        links,
    })
}

/// After a cardinality violation rolled the change back: which links are in the way.
async fn explain_conflict(pool: &PgPool, request: &RelationRequest<'_>) -> Result<RelationError, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let add = request.change.add();
    let conflicts =
        links::cardinality_conflicts(&mut conn, request.organization_id, request.record_id, request.attribute, add)
            .await?;
    Ok(RelationError::Conflict(link_problems::conflicts("/add", request.attribute, add, &conflicts)))
}
