//! The batch endpoint's transaction: the single endpoint's change for every operation, in
//! order, in one transaction. The fast path is one call of `crm_relation_apply_batch`, which
//! locks every record up front and runs `crm_relation_apply` per operation; when a link
//! violates cardinality (which aborts that call) the batch runs again one operation at a time,
//! each in a savepoint, to learn which operations fail and name the links in their way.

use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use super::events::{LinkChangeShape, Rendered};
use super::idempotency::{self, Saved};
use super::links::{self, LinkDiff, LinkError, LinkSide, Owner};
use super::relation::{self, ApplyOutcome, Failure as OneFailure, RelationError};
use crate::domain::relation_batch::BatchRequest;
use crate::domain::relation_request::RelationRequest;

/// Deadlocks are prevented by locking records in order; a swap racing a swap through a
/// cardinality index can still cycle, and PostgreSQL aborts one side: run it again.
const ATTEMPTS: usize = 3;

/// An operation as applied (or found to be a no-op).
#[derive(Debug)]
pub struct Done {
    /// The record's version after the operation.
    pub version: i64,
    pub diff: LinkDiff,
}

/// What became of one operation.
pub type OpResult = Result<Done, RelationError>;

/// Renders the response of a committed batch (status and body), stored for replays under a key.
pub type Render<'a> = &'a (dyn Fn(&[OpResult]) -> (u16, Vec<u8>) + Sync);

/// What happened.
pub enum BatchOutcome {
    /// Committed: the result of every parsed operation, in order; with an Idempotency-Key,
    /// the response stored for replays.
    Applied(Vec<OpResult>, Option<Saved>),
    /// The same key and batch succeeded before: what it answered.
    Replay(Saved),
}

/// Why nothing was committed.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Rolled back (an unparsable operation, a failed one in atomic mode, or none applied): the
    /// result of every parsed operation, as it would have been.
    #[error("the batch was not applied")]
    NotApplied(Vec<OpResult>),
    #[error("a request with this Idempotency-Key is in flight")]
    KeyInFlight,
    #[error("the Idempotency-Key was used for a different request")]
    KeyReused,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

enum Failure {
    Error(BatchError),
    Retryable(sqlx::Error),
    /// A link violation aborted the fast path: run the operations one by one.
    OneByOne,
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Failure {
        match e.as_database_error().and_then(|d| d.code()).as_deref() {
            // deadlock_detected, serialization_failure
            Some("40P01" | "40001") => Failure::Retryable(e),
            _ => Failure::Error(BatchError::Database(e)),
        }
    }
}

impl From<BatchError> for Failure {
    fn from(e: BatchError) -> Failure {
        Failure::Error(e)
    }
}

/// Applies the batch: in atomic mode everything or nothing, otherwise every operation that
/// succeeds. With an Idempotency-Key, `render`'s response is stored in the same transaction.
pub async fn apply(pool: &PgPool, batch: &BatchRequest, render: Render<'_>) -> Result<BatchOutcome, BatchError> {
    let ops: Vec<&RelationRequest> = batch.valid().map(|(_, op)| op).collect();
    let (mut attempt, mut one_by_one) = (0, false);
    loop {
        attempt += 1;
        let mut tx = super::begin(pool).await?;
        let outcome = steps(&mut tx, batch, &ops, one_by_one, render).await;
        match super::end(tx, outcome).await {
            Ok(outcome) => return Ok(outcome),
            Err(Failure::OneByOne) if !one_by_one => (one_by_one, attempt) = (true, attempt - 1),
            Err(Failure::Retryable(_)) if attempt < ATTEMPTS => {}
            Err(Failure::Retryable(e)) => return Err(e.into()),
            Err(Failure::OneByOne) => return Err(sqlx::Error::Protocol("a link violation one by one".into()).into()),
            Err(Failure::Error(e)) => return Err(e),
        }
    }
}

async fn steps(
    tx: &mut PgConnection,
    batch: &BatchRequest,
    ops: &[&RelationRequest],
    one_by_one: bool,
    render: Render<'_>,
) -> Result<BatchOutcome, Failure> {
    let org = batch.organization_id;
    if let Some(key) = &batch.idempotency {
        if !idempotency::try_lock(tx, org, &key.key).await? {
            return Err(BatchError::KeyInFlight.into());
        }
        if let Some((fingerprint, saved)) = idempotency::find(tx, org, &key.key).await? {
            return match fingerprint == key.fingerprint {
                true => Ok(BatchOutcome::Replay(saved)),
                false => Err(BatchError::KeyReused.into()),
            };
        }
    }
    let results = match one_by_one {
        false => fast(tx, batch, ops).await?,
        true => each(tx, batch, ops).await?,
    };
    // An operation that did not parse refuses the whole batch, in either mode; this run only
    // collects the other operations' problems.
    let failed = results.iter().any(Result::is_err);
    if batch.has_invalid() || batch.atomic && failed || !results.iter().any(Result::is_ok) {
        return Err(BatchError::NotApplied(results).into());
    }
    let saved = match &batch.idempotency {
        None => None,
        Some(key) => {
            let (status, body) = render(&results);
            let saved = Saved { body, record_version: None, status: Some(status as i16) };
            idempotency::store(tx, org, &key.key, &key.fingerprint, &saved).await?;
            Some(saved)
        }
    };
    Ok(BatchOutcome::Applied(results, saved))
}

/// The operations refused before any SQL runs (see [`relation::refused_before_writing`]), and
/// the others, with their positions.
fn split<'a>(ops: &[&'a RelationRequest]) -> (Vec<Option<OpResult>>, Vec<&'a RelationRequest>) {
    let refused: Vec<Option<OpResult>> = ops.iter().map(|op| relation::refused_before_writing(op).map(Err)).collect();
    let runnable = ops.iter().zip(&refused).filter(|(_, r)| r.is_none()).map(|(op, _)| *op).collect();
    (refused, runnable)
}

/// The results of `ran` (the runnable operations, in order) put among the refused ones.
fn merge(refused: Vec<Option<OpResult>>, ran: Vec<OpResult>) -> Vec<OpResult> {
    let mut ran = ran.into_iter();
    refused.into_iter().map(|r| r.unwrap_or_else(|| ran.next().expect("one result per runnable operation"))).collect()
}

/// One call of `crm_relation_apply_batch` for every runnable operation.
async fn fast(tx: &mut PgConnection, batch: &BatchRequest, ops: &[&RelationRequest]) -> Result<Vec<OpResult>, Failure> {
    let (refused, runnable) = split(ops);
    let args = Args::of(&runnable);
    let rows = match call(tx, batch, &args).await {
        Ok(rows) => rows,
        Err(e) => {
            return match links::classify(e) {
                LinkError::Cardinality | LinkError::TargetMissing => Err(Failure::OneByOne),
                LinkError::Database(e) => Err(e.into()),
            };
        }
    };
    if rows.len() != runnable.len() {
        return Err(sqlx::Error::Decode("crm_relation_apply_batch returned a row per operation too few".into()).into());
    }
    let ran = rows.into_iter().zip(&runnable).map(|(row, op)| interpret(row, op)).collect::<Result<_, _>>()?;
    Ok(merge(refused, ran))
}

/// The operations one at a time, each in a savepoint, after locking every record in order: a
/// violation rolls back only its operation, whose conflict is then explained as the
/// transaction sees it (after the operations before it).
async fn each(tx: &mut PgConnection, batch: &BatchRequest, ops: &[&RelationRequest]) -> Result<Vec<OpResult>, Failure> {
    let (refused, runnable) = split(ops);
    let records: Vec<Uuid> = runnable.iter().map(|op| op.record_id).collect();
    sqlx::query_file!("sql/calls/crm_records_lock.sql", batch.organization_id, &records).fetch_one(&mut *tx).await?;
    let mut ran = Vec::with_capacity(runnable.len());
    for op in runnable {
        let mut savepoint = tx.begin().await?;
        let result = relation::run(&mut *savepoint, op).await;
        let result = match result {
            Ok(applied) => {
                savepoint.commit().await?;
                Ok(Done { version: applied.row.version, diff: applied.diff })
            }
            Err(failure) => {
                savepoint.rollback().await?;
                match failure {
                    OneFailure::Cardinality => Err(relation::explain_conflict_on(tx, op).await?),
                    OneFailure::Retryable(e) | OneFailure::Error(RelationError::Database(e)) => return Err(e.into()),
                    OneFailure::Error(e) => Err(e),
                }
            }
        };
        ran.push(result);
    }
    Ok(merge(refused, ran))
}

/// One row of `crm_relation_apply_batch`.
struct BatchRow {
    #[allow(dead_code)]
    op: i32,
    outcome: ApplyOutcome,
    version: Option<i64>,
    added: Option<Vec<Uuid>>,
    removed: Option<Vec<Uuid>>,
    missing: Option<Vec<Uuid>>,
    inactive: Option<Vec<Uuid>>,
}

fn interpret(row: BatchRow, op: &RelationRequest) -> Result<OpResult, sqlx::Error> {
    if row.outcome != ApplyOutcome::Applied {
        return relation::refusal(row.outcome, row.version, (row.missing, row.inactive), op).map(Err);
    }
    let applied = ApplyOutcome::Applied;
    let version = relation::required(row.version, applied, "r_version")?;
    let added = relation::required(row.added, applied, "r_added")?;
    let removed = relation::required(row.removed, applied, "r_removed")?;
    let diff = LinkDiff::ordered(op.change.add(), op.change.remove(), &added, &removed);
    Ok(Ok(Done { version, diff }))
}

/// `crm_relation_apply_batch`'s arguments: the operations as parallel arrays, their ID lists
/// and If-Match versions concatenated with a count per operation (-1: no condition).
#[derive(Default)]
struct Args {
    records: Vec<Uuid>,
    sides: Vec<LinkSide>,
    owners: Vec<Uuid>,
    related: Vec<Option<Uuid>>,
    source_single: Vec<bool>,
    target_single: Vec<bool>,
    add_counts: Vec<i32>,
    adds: Vec<Uuid>,
    remove_counts: Vec<i32>,
    removes: Vec<Uuid>,
    expected_counts: Vec<i32>,
    expected: Vec<i64>,
    /// Each operation's event (as the single endpoint's call passes it).
    events: Vec<Rendered>,
}

impl Args {
    fn of(ops: &[&RelationRequest]) -> Args {
        let mut args = Args::default();
        let mut shapes = Shapes::default();
        for op in ops {
            args.events.push(shapes.of(op).render(Uuid::new_v4(), (op.record_id, 0)));
            let owner = Owner::of(&op.attribute);
            args.records.push(op.record_id);
            args.sides.push(owner.side);
            args.owners.push(owner.id);
            args.related.push(owner.related_object);
            args.source_single.push(owner.source_single);
            args.target_single.push(owner.target_single);
            args.add_counts.push(op.change.add().len() as i32);
            args.adds.extend_from_slice(op.change.add());
            args.remove_counts.push(op.change.remove().len() as i32);
            args.removes.extend_from_slice(op.change.remove());
            match &op.accepted_versions {
                None => args.expected_counts.push(-1),
                Some(versions) => {
                    args.expected_counts.push(versions.len() as i32);
                    args.expected.extend_from_slice(versions);
                }
            }
        }
        args
    }
}

/// The event shape of the last operation seen: the event's pieces that do not depend on the
/// record, rendered once for each run of operations on one attribute by one writer. Per
/// operation, that serialization was most of what the server spent on a batch.
#[derive(Default)]
struct Shapes<'a> {
    last: Option<(&'a RelationRequest, LinkChangeShape)>,
}

impl<'a> Shapes<'a> {
    fn of(&mut self, op: &'a RelationRequest) -> &LinkChangeShape {
        let same = |(first, _): &(&RelationRequest, LinkChangeShape)| {
            first.attribute.attribute_id == op.attribute.attribute_id
                && first.object.slug == op.object.slug
                && first.context == op.context
        };
        if !self.last.as_ref().is_some_and(same) {
            self.last = Some((op, relation::event(op).link_change_shape(&op.context)));
        }
        &self.last.as_ref().expect("set just above").1
    }
}

async fn call(conn: &mut PgConnection, batch: &BatchRequest, args: &Args) -> Result<Vec<BatchRow>, sqlx::Error> {
    sqlx::query_file_as!(
        BatchRow,
        "sql/calls/crm_relation_apply_batch.sql",
        batch.organization_id,
        batch.object.object_id,
        &args.records,
        &args.sides as &[LinkSide],
        &args.owners,
        &args.related as &[Option<Uuid>],
        &args.source_single,
        &args.target_single,
        &args.add_counts,
        &args.adds,
        &args.remove_counts,
        &args.removes,
        &args.expected_counts,
        &args.expected,
        &args.events as _,
    )
    .fetch_all(conn)
    .await
}
