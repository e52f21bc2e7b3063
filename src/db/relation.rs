//! The relation endpoint's transaction: surgical add/remove on one relation or user attribute.
//! The work is `crm_relation_apply` (sql/functions/), so a request costs one round trip; with
//! an Idempotency-Key it runs inside a transaction that also stores the response.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

use super::events::{NewEvent, Rendered};
use super::idempotency::{self, Saved};
use super::links::{self, LinkDiff, LinkRow, LinkSide, Owner};
use super::records::RecordRow;
use crate::domain::link_problems;
use crate::domain::problem::Problem;
use crate::domain::relation_request::{Idempotency, RelationRequest};

/// Deadlocks are prevented by ordering, but a swap racing a swap across two records of a
/// `one_to_many` relation can still cycle through the cardinality index; PostgreSQL aborts one
/// side, and we run it again.
const ATTEMPTS: usize = 3;

/// The change as committed.
pub struct Applied {
    /// The record row after the change (version bumped only if something changed).
    pub row: RecordRow,
    /// What really changed, each list in request order.
    pub diff: LinkDiff,
    /// All links of the record after the change, unless the request is minimal.
    pub links: Option<Vec<LinkRow>>,
}

/// Renders the response body of an applied change (stored for replays under a key).
pub type Render<'a> = &'a (dyn Fn(&Applied) -> Vec<u8> + Sync);

/// What happened.
pub enum Outcome {
    /// Applied now; with an Idempotency-Key, also the body that was stored for replays.
    Applied(Applied, Option<Vec<u8>>),
    /// The same key and request succeeded before: what it answered.
    Replay(Saved),
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

impl RelationError {
    /// A copy: refusals are copied as they are, a database error by its message (a batch's
    /// operation results, which this copies, never hold one).
    pub fn duplicate(&self) -> RelationError {
        match self {
            RelationError::RecordNotFound => RelationError::RecordNotFound,
            RelationError::PreconditionFailed(v) => RelationError::PreconditionFailed(*v),
            RelationError::Invalid(p) => RelationError::Invalid(p.clone()),
            RelationError::Conflict(p) => RelationError::Conflict(p.clone()),
            RelationError::KeyInFlight => RelationError::KeyInFlight,
            RelationError::KeyReused => RelationError::KeyReused,
            RelationError::Database(e) => RelationError::Database(sqlx::Error::Protocol(e.to_string())),
        }
    }
}

/// Applies the change: removals, then additions, as set-based statements in one transaction;
/// the version is bumped only if something changed. With an Idempotency-Key, `render`'s body
/// is stored inside the same transaction.
pub async fn apply(pool: &PgPool, request: &RelationRequest, render: Render<'_>) -> Result<Outcome, RelationError> {
    if let Some(refused) = refused_before_writing(request) {
        return Err(refused);
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = match &request.idempotency {
            None => run(pool, request).await.map(|applied| Outcome::Applied(applied, None)),
            Some(key) => with_key(pool, request, key, render).await,
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

/// A cardinality-one attribute takes at most one ID per write: refused before any SQL runs.
pub fn refused_before_writing(request: &RelationRequest) -> Option<RelationError> {
    let add = request.change.add();
    let problem = link_problems::more_than_one(&request.attribute, add, "/add", "'add' has")?;
    Some(RelationError::Conflict(vec![problem]))
}

/// Why a run of the change did not succeed: an answer, a transient failure to retry, or a
/// cardinality violation to explain.
pub(super) enum Failure {
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
                    let message = "a member to link was deleted meanwhile; retry".to_owned();
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
/// applies the change and stores its response.
async fn with_key(
    pool: &PgPool,
    request: &RelationRequest,
    key: &Idempotency,
    render: Render<'_>,
) -> Result<Outcome, Failure> {
    let mut tx = super::begin(pool).await?;
    let outcome = keyed_steps(&mut tx, request, key, render).await;
    super::end(tx, outcome).await
}

async fn keyed_steps(
    tx: &mut PgConnection,
    request: &RelationRequest,
    key: &Idempotency,
    render: Render<'_>,
) -> Result<Outcome, Failure> {
    let org = request.organization_id;
    if !idempotency::try_lock(tx, org, &key.key).await? {
        return Err(RelationError::KeyInFlight.into());
    }
    if let Some((fingerprint, saved)) = idempotency::find(tx, org, &key.key).await? {
        return match fingerprint == key.fingerprint {
            true => Ok(Outcome::Replay(saved)),
            false => Err(RelationError::KeyReused.into()),
        };
    }
    let applied = run(&mut *tx, request).await?;
    let saved = Saved { body: render(&applied), record_version: Some(applied.row.version), status: None };
    idempotency::store(tx, org, &key.key, &key.fingerprint, &saved).await?;
    Ok(Outcome::Applied(applied, Some(saved.body)))
}

/// Applies `request` on `executor` (a pool, or inside the caller's transaction).
pub(super) async fn run(executor: impl PgExecutor<'_>, request: &RelationRequest) -> Result<Applied, Failure> {
    let row = call(executor, &ApplyCall::of(request)).await?;
    interpret(row, request)
}

/// The arguments of `crm_relation_apply`.
#[derive(Debug, Clone)]
pub struct ApplyCall<'a> {
    pub organization_id: Uuid,
    pub object_id: Uuid,
    pub record_id: Uuid,
    pub owner: Owner,
    pub add: &'a [Uuid],
    pub remove: &'a [Uuid],
    /// Versions If-Match accepts; `None`: no condition.
    pub accepted_versions: Option<&'a [i64]>,
    /// Read every link of the record after the change.
    pub with_links: bool,
    /// The change's event (`NewEvent::render_link_change`), completed by the function with the
    /// record's version and what changed.
    pub event: Rendered,
}

impl<'a> ApplyCall<'a> {
    /// The call that applies `request`.
    pub fn of(request: &'a RelationRequest) -> ApplyCall<'a> {
        ApplyCall {
            organization_id: request.organization_id,
            object_id: request.object.object_id,
            record_id: request.record_id,
            owner: Owner::of(&request.attribute),
            add: request.change.add(),
            remove: request.change.remove(),
            accepted_versions: request.accepted_versions.as_deref(),
            with_links: !request.minimal,
            event: event(request).render_link_change(&request.context),
        }
    }
}

/// `request`'s `crm.relation.updated` event, before the call fills in its version and lists.
pub fn event(request: &RelationRequest) -> NewEvent {
    NewEvent::relation(&request.object.slug, (request.record_id, 0), &request.attribute, vec![], vec![])
}

/// `crm_relation_apply`'s outcome (`crm_relation_outcome`); any other value fails to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "crm_relation_outcome", rename_all = "snake_case")]
pub enum ApplyOutcome {
    Applied,
    NotFound,
    PreconditionFailed,
    Invalid,
}

/// `crm_relation_apply`'s row; which columns are set depends on the outcome.
#[derive(Debug)]
pub struct ApplyRow {
    pub outcome: ApplyOutcome,
    pub version: Option<i64>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub values: Option<Json<Map<String, Value>>>,
    pub added: Option<Vec<Uuid>>,
    pub removed: Option<Vec<Uuid>>,
    pub missing: Option<Vec<Uuid>>,
    pub inactive: Option<Vec<Uuid>>,
    pub link_sides: Option<Vec<LinkSide>>,
    pub link_owners: Option<Vec<Uuid>>,
    pub link_others: Option<Vec<Uuid>>,
}

/// One call of `crm_relation_apply` (the statement is sql/calls/crm_relation_apply.sql).
pub async fn call(executor: impl PgExecutor<'_>, call: &ApplyCall<'_>) -> Result<ApplyRow, sqlx::Error> {
    sqlx::query_file_as!(
        ApplyRow,
        "sql/calls/crm_relation_apply.sql",
        call.organization_id,
        call.object_id,
        call.record_id,
        call.owner.side as LinkSide,
        call.owner.id,
        call.owner.related_object,
        call.owner.source_single,
        call.owner.target_single,
        call.add,
        call.remove,
        call.accepted_versions,
        call.with_links,
        &call.event as _,
    )
    .fetch_one(executor)
    .await
}

/// A column the outcome guarantees, or an error naming the broken contract.
pub(super) fn required<T>(value: Option<T>, outcome: ApplyOutcome, column: &str) -> Result<T, sqlx::Error> {
    value.ok_or_else(|| broken(outcome, column))
}

fn broken(outcome: ApplyOutcome, column: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("crm_relation_apply returned {outcome:?} without {column}").into())
}

/// The error an outcome other than `applied` stands for (the batch call reports the same
/// outcomes, so both read them here).
pub(super) fn refusal(
    outcome: ApplyOutcome,
    version: Option<i64>,
    (missing, inactive): (Option<Vec<Uuid>>, Option<Vec<Uuid>>),
    request: &RelationRequest,
) -> Result<RelationError, sqlx::Error> {
    let add = request.change.add();
    match outcome {
        ApplyOutcome::NotFound => Ok(RelationError::RecordNotFound),
        ApplyOutcome::PreconditionFailed => {
            Ok(RelationError::PreconditionFailed(required(version, outcome, "r_version")?))
        }
        ApplyOutcome::Invalid => {
            let (missing, inactive) = (missing.unwrap_or_default(), inactive.unwrap_or_default());
            let found = links::unlinkable_in_order(add, &missing, &inactive);
            if found.is_empty() {
                return Err(broken(outcome, "r_missing or r_inactive"));
            }
            Ok(RelationError::Invalid(link_problems::unlinkable_ids("/add", &request.attribute, add, &found)))
        }
        ApplyOutcome::Applied => Err(broken(outcome, "a refusal")),
    }
}

fn interpret(row: ApplyRow, request: &RelationRequest) -> Result<Applied, Failure> {
    let (add, remove) = (request.change.add(), request.change.remove());
    let outcome = row.outcome;
    match outcome {
        ApplyOutcome::NotFound | ApplyOutcome::PreconditionFailed | ApplyOutcome::Invalid => {
            Err(refusal(outcome, row.version, (row.missing, row.inactive), request)?.into())
        }
        ApplyOutcome::Applied => {
            let links = match request.minimal {
                true => None,
                false => Some(link_rows(request.record_id, row.link_sides, row.link_owners, row.link_others)?),
            };
            let added = required(row.added, outcome, "r_added")?;
            let removed = required(row.removed, outcome, "r_removed")?;
            Ok(Applied {
                row: RecordRow {
                    record_id: request.record_id,
                    values: required(row.values, outcome, "r_values")?,
                    version: required(row.version, outcome, "r_version")?,
                    created_at: required(row.created_at, outcome, "r_created_at")?,
                    updated_at: required(row.updated_at, outcome, "r_updated_at")?,
                },
                diff: LinkDiff::ordered(add, remove, &added, &removed),
                links,
            })
        }
    }
}

/// The record's links from the three parallel arrays, which must all be there and align.
fn link_rows(
    record_id: Uuid,
    sides: Option<Vec<LinkSide>>,
    owners: Option<Vec<Uuid>>,
    others: Option<Vec<Uuid>>,
) -> Result<Vec<LinkRow>, sqlx::Error> {
    let applied = ApplyOutcome::Applied;
    let sides = required(sides, applied, "r_link_sides")?;
    let owners = required(owners, applied, "r_link_owners")?;
    let others = required(others, applied, "r_link_others")?;
    if sides.len() != owners.len() || sides.len() != others.len() {
        return Err(sqlx::Error::Decode("crm_relation_apply returned link arrays of different lengths".into()));
    }
    let rows = sides.into_iter().zip(owners).zip(others);
    Ok(rows.map(|((side, owner_id), other_id)| LinkRow { record_id, side, owner_id, other_id }).collect())
}

/// After a cardinality violation rolled the change back: which links are in the way.
async fn explain_conflict(pool: &PgPool, request: &RelationRequest) -> Result<RelationError, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    explain_conflict_on(&mut conn, request).await
}

/// The links in the way of `request`, as `conn` sees them (inside a batch's transaction: after
/// the operations before it).
pub(super) async fn explain_conflict_on(
    conn: &mut PgConnection,
    request: &RelationRequest,
) -> Result<RelationError, sqlx::Error> {
    let (org, attr, add) = (request.organization_id, &request.attribute, request.change.add());
    let conflicts = super::link_conflicts::find(conn, org, request.record_id, attr, add).await?;
    Ok(RelationError::Conflict(link_problems::conflicts("/add", attr, add, &conflicts)))
}
