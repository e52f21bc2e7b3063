//! The relation endpoint's transaction: surgical add/remove on one relation or user attribute.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::idempotency::{self, StoredResponse};
use super::links::{self, LinkDiff, LinkError, LinkRow};
use super::records::{self, RecordRow};
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
    /// Returns whether the record's current version satisfies `If-Match`.
    pub precondition: Option<&'a (dyn Fn(i64) -> bool + Sync)>,
    /// `(Idempotency-Key, fingerprint of the request)`.
    pub idempotency: Option<(&'a str, [u8; 32])>,
    /// Read every link of the record after the change, to return the record.
    pub with_record: bool,
}

/// The change as committed.
pub struct Applied {
    /// The record row after the change (version bumped only if something changed).
    pub row: RecordRow,
    pub diff: LinkDiff,
    /// All links of the record after the change, when asked for.
    pub links: Option<Vec<LinkRow>>,
}

/// What happened.
pub enum Outcome {
    Applied(Applied),
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

/// Applies the change in one transaction: removals, then additions, as set-based statements;
/// bumps the record's version only if something changed. `respond` renders the response to
/// store under the Idempotency-Key, inside the same transaction.
pub async fn apply(
    pool: &PgPool,
    request: &RelationRequest<'_>,
    respond: &(dyn Fn(&Applied) -> StoredResponse + Sync),
) -> Result<Outcome, RelationError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match attempt_once(pool, request, respond).await {
            Err(Failure::Retryable(_)) if attempt < ATTEMPTS => continue,
            Err(Failure::Retryable(e)) => return Err(e.into()),
            Err(Failure::Error(e)) => return Err(e),
            Err(Failure::Cardinality) => return Err(explain_conflict(pool, request).await?),
            Ok(outcome) => return Ok(outcome),
        }
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
            _ => Failure::Error(e.into()),
        }
    }
}

impl From<RelationError> for Failure {
    fn from(e: RelationError) -> Failure {
        Failure::Error(e)
    }
}

/// Runs the transaction and always ends it explicitly: a dropped transaction only queues its
/// rollback, leaving its locks (the record row, the Idempotency-Key) held by an idle pooled
/// connection until that connection is next used.
async fn attempt_once(
    pool: &PgPool,
    request: &RelationRequest<'_>,
    respond: &(dyn Fn(&Applied) -> StoredResponse + Sync),
) -> Result<Outcome, Failure> {
    let mut tx = pool.begin().await?;
    let outcome = steps(&mut tx, request, respond).await;
    match outcome {
        Ok(Outcome::Applied(applied)) => {
            tx.commit().await?;
            Ok(Outcome::Applied(applied))
        }
        other => {
            tx.rollback().await?;
            other
        }
    }
}

async fn steps(
    tx: &mut PgConnection,
    request: &RelationRequest<'_>,
    respond: &(dyn Fn(&Applied) -> StoredResponse + Sync),
) -> Result<Outcome, Failure> {
    let org = request.organization_id;
    if let Some((key, fingerprint)) = request.idempotency {
        if !idempotency::try_lock(tx, org, key).await? {
            return Err(RelationError::KeyInFlight.into());
        }
        if let Some(stored) = idempotency::find(tx, org, key).await? {
            return match stored.fingerprint == fingerprint {
                true => Ok(Outcome::Replay(stored)),
                false => Err(RelationError::KeyReused.into()),
            };
        }
    }
    let current = records::lock(tx, org, request.object.object_id, request.record_id)
        .await?
        .ok_or(RelationError::RecordNotFound)?;
    if request.precondition.is_some_and(|matches| !matches(current.version)) {
        return Err(RelationError::PreconditionFailed(current.version).into());
    }
    check_targets(tx, request).await?;
    let change = request.change;
    let diff = match links::apply(tx, org, request.record_id, request.attribute, change.add(), change.remove()).await {
        Ok(diff) => diff,
        Err(LinkError::Cardinality) => return Err(Failure::Cardinality),
        Err(LinkError::TargetMissing) => {
            let message = "a record or member to link was deleted meanwhile; retry".to_owned();
            return Err(RelationError::Invalid(vec![Problem::new("/add", "not_found", message)]).into());
        }
        Err(LinkError::Database(e)) => return Err(e.into()),
    };
    let row = if diff.is_empty() { current } else { records::touch(tx, org, request.record_id).await? };
    let links = match request.with_record {
        true => Some(links::for_records(tx, org, &[request.record_id]).await?),
        false => None,
    };
    let applied = Applied { row, diff, links };
    if let Some((key, _)) = request.idempotency {
        idempotency::store(tx, org, key, &respond(&applied)).await?;
    }
    Ok(Outcome::Applied(applied))
}

/// Every `add` ID must be linkable; a cardinality-one attribute takes at most one.
async fn check_targets(conn: &mut PgConnection, request: &RelationRequest<'_>) -> Result<(), Failure> {
    let add = request.change.add();
    let attr = request.attribute;
    let unlinkable = links::unlinkable(conn, request.organization_id, attr, add).await?;
    if !unlinkable.is_empty() {
        let problems = unlinkable
            .into_iter()
            .map(|(id, inactive)| {
                link_problems::unlinkable(&format!("/add/{}", position(add, &id)), attr, id, inactive)
            })
            .collect();
        return Err(RelationError::Invalid(problems).into());
    }
    let single = attr.relation.as_ref().is_some_and(|r| r.relation_type.single_here());
    if single && add.len() > 1 {
        let kind = attr.relation.as_ref().map(|r| r.relation_type.as_str()).unwrap_or_default();
        let message = format!("'{}' is {kind} and links at most one record; 'add' has {}", attr.key, add.len());
        return Err(RelationError::Conflict(vec![Problem::new("/add", "cardinality_exceeded", message)]).into());
    }
    Ok(())
}

/// After a cardinality violation rolled the transaction back: which links are in the way.
async fn explain_conflict(pool: &PgPool, request: &RelationRequest<'_>) -> Result<RelationError, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let add = request.change.add();
    let conflicts =
        links::cardinality_conflicts(&mut conn, request.organization_id, request.record_id, request.attribute, add)
            .await?;
    Ok(RelationError::Conflict(link_problems::conflicts("/add", request.attribute, add, &conflicts)))
}
