//! The home of every link write: relation attributes (record to record) and user attributes
//! (record to member). The statements live in `sql/functions/crm_link_change.sql`, the one
//! writer of `crm_record_links` and `crm_record_members`; the relation endpoint reaches it
//! through `crm_relation_apply`, every other writer through [`change`], inside its own
//! transaction. Deletes cascade by triggers (a record's: migration 0018; an attribute's: 0002)
//! and, for members, foreign keys. Links keep no foreign keys to their records: the records
//! linked to are locked by the validation every writer runs first ([`unlinkable`]), and the
//! record written is locked by its writer.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::events::{NewEvent, Writer};
use crate::domain::attribute::RelationSide;
use crate::domain::schema::AttributeDef;

/// Which end of a link a record is on (`crm_link_side`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type)]
#[sqlx(type_name = "crm_link_side", rename_all = "lowercase")]
pub enum LinkSide {
    /// The record is the source of a relation's link.
    Source,
    /// The record is the target of a relation's link.
    Target,
    /// A user attribute's link from the record to a member.
    User,
}

/// Where the links of one attribute are stored: the SQL functions' `p_side`, `p_owner`,
/// `p_related_object`, `p_source_single`, `p_target_single`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub side: LinkSide,
    /// The relation id, or the user attribute's own id.
    pub id: Uuid,
    /// The object link targets must belong to; `None` for a user attribute.
    pub related_object: Option<Uuid>,
    pub source_single: bool,
    pub target_single: bool,
}

impl Owner {
    /// How `attr`'s links are stored.
    pub fn of(attr: &AttributeDef) -> Owner {
        match &attr.relation {
            Some(r) => {
                let (source_single, target_single) = r.link_flags();
                let side = match r.side {
                    RelationSide::Source => LinkSide::Source,
                    RelationSide::Target => LinkSide::Target,
                };
                Owner {
                    side,
                    id: r.relation_id,
                    related_object: Some(r.related_object_id),
                    source_single,
                    target_single,
                }
            }
            None => Owner {
                side: LinkSide::User,
                id: attr.attribute_id,
                related_object: None,
                source_single: false,
                target_single: false,
            },
        }
    }
}

/// What a change really did, each list in the order of the request's list.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LinkDiff {
    pub added: Vec<Uuid>,
    pub removed: Vec<Uuid>,
}

impl LinkDiff {
    /// The diff from what the database reported (in any order), ordered as requested.
    pub fn ordered(add: &[Uuid], remove: &[Uuid], added: &[Uuid], removed: &[Uuid]) -> LinkDiff {
        LinkDiff { added: in_request_order(add, added), removed: in_request_order(remove, removed) }
    }

    /// Whether anything changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// `done`, ordered as in `requested`.
fn in_request_order(requested: &[Uuid], done: &[Uuid]) -> Vec<Uuid> {
    if done.len() <= 1 {
        return done.to_vec();
    }
    let done: std::collections::HashSet<&Uuid> = done.iter().collect();
    requested.iter().filter(|id| done.contains(id)).copied().collect()
}

/// Why links could not be written.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A cardinality index refused a link (`many_to_one`, `one_to_many`, `one_to_one`).
    #[error("the relation's cardinality would be exceeded")]
    Cardinality,
    /// A member vanished between validation and insert (its foreign key refused the link).
    /// Records cannot: validation locks them ([`unlinkable`]).
    #[error("a linked record or member no longer exists")]
    TargetMissing,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Maps the constraint violations of link writes to their meaning.
pub fn classify(err: sqlx::Error) -> LinkError {
    use super::violates;
    if violates(&err, "crm_record_links_source_single_idx") || violates(&err, "crm_record_links_target_single_idx") {
        LinkError::Cardinality
    } else if violates(&err, "crm_record_members_member_fkey") {
        LinkError::TargetMissing
    } else {
        LinkError::Database(err)
    }
}

/// Removes `remove` and adds `add` on `attr` of the record (removals first), inside the
/// caller's transaction; callable any number of times in one transaction. Targets must have
/// been validated ([`unlinkable`]). A change that changed something appends its
/// `crm.relation.updated` event, with the record at `version` (its version after the write).
/// Returns exactly what changed.
pub async fn change(
    conn: &mut PgConnection,
    organization_id: Uuid,
    (record_id, version): (Uuid, i64),
    attr: &AttributeDef,
    (add, remove): (&[Uuid], &[Uuid]),
    writer: &Writer<'_>,
) -> Result<LinkDiff, LinkError> {
    let owner = Owner::of(attr);
    let event = NewEvent::relation(writer.object_slug, (record_id, version), attr, vec![], vec![]);
    let row = sqlx::query_file!(
        "sql/calls/crm_link_change.sql",
        organization_id,
        record_id,
        owner.side as LinkSide,
        owner.id,
        owner.source_single,
        owner.target_single,
        add,
        remove,
        event.render_link_change(writer.context) as _,
        version,
    )
    .fetch_one(conn)
    .await
    .map_err(classify)?;
    Ok(LinkDiff::ordered(add, remove, &row.added, &row.removed))
}

/// The IDs among `ids` that cannot be linked through `attr`, in request order: not records of
/// the related object in this organization, or not members (`false`) / deactivated members
/// (`true`) for a user attribute. The records found stay locked (FOR KEY SHARE) until the
/// transaction ends, so none is deleted before the links written to it commit.
pub async fn unlinkable(
    conn: &mut PgConnection,
    organization_id: Uuid,
    attr: &AttributeDef,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, bool)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let owner = Owner::of(attr);
    let row = sqlx::query_file!(
        "sql/calls/crm_link_unlinkable.sql",
        organization_id,
        owner.side as LinkSide,
        owner.related_object,
        ids,
    )
    .fetch_one(conn)
    .await?;
    Ok(unlinkable_in_order(ids, &row.missing.unwrap_or_default(), &row.inactive.unwrap_or_default()))
}

/// `(id, inactive)` for every ID of `requested` that is `missing` or `inactive`, in request
/// order. (Null arrays from `crm_link_unlinkable` mean "none", so empty is their meaning.)
pub fn unlinkable_in_order(requested: &[Uuid], missing: &[Uuid], inactive: &[Uuid]) -> Vec<(Uuid, bool)> {
    requested
        .iter()
        .filter_map(|id| match (missing.contains(id), inactive.contains(id)) {
            (true, _) => Some((*id, false)),
            (false, true) => Some((*id, true)),
            (false, false) => None,
        })
        .collect()
}

/// One stored link seen from a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub record_id: Uuid,
    /// The end of the link the record is on.
    pub side: LinkSide,
    /// The relation id or user attribute id.
    pub owner_id: Uuid,
    /// The record or member at the other end.
    pub other_id: Uuid,
}

impl LinkRow {
    /// Whether this link is a value of `attr` (of the record's object).
    pub fn belongs_to(&self, attr: &AttributeDef) -> bool {
        let owner = Owner::of(attr);
        self.side == owner.side && self.owner_id == owner.id
    }
}

/// Every link of the given records, from both sides, in the order they were linked.
pub async fn for_records(
    executor: impl PgExecutor<'_>,
    organization_id: Uuid,
    record_ids: &[Uuid],
) -> Result<Vec<LinkRow>, sqlx::Error> {
    sqlx::query_file_as!(LinkRow, "sql/calls/crm_links_of.sql", organization_id, record_ids).fetch_all(executor).await
}
