//! Links of relation attributes (record to record) and user attributes (record to member).
//!
//! Every change is set-based: one `delete` of the listed links (each found by its key) and one
//! `insert … select unnest($ids) order by 1 on conflict do nothing returning`, so a link that
//! already exists is never rewritten and rows are written in ID order (concurrent writers
//! cannot deadlock on each other's rows).

use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::attribute::{AttributeType, RelationSide};
use crate::domain::link_problems::Blocking;
use crate::domain::schema::AttributeDef;

/// What a change really did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LinkDiff {
    pub added: Vec<Uuid>,
    pub removed: Vec<Uuid>,
}

impl LinkDiff {
    /// Whether anything changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// Why links could not be written.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A cardinality index refused a link (`many_to_one`, `one_to_many`, `one_to_one`).
    #[error("the relation's cardinality would be exceeded")]
    Cardinality,
    /// A target vanished between validation and insert.
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
    } else if violates(&err, "crm_record_links_target_fkey") || violates(&err, "crm_record_members_member_fkey") {
        LinkError::TargetMissing
    } else {
        LinkError::Database(err)
    }
}

/// `(delete listed, delete all but listed, insert)` statements for the writing side. Listed
/// links are found one by one by their whole key and deleted by tuple id: with `= any()` the
/// planner may scan every link of the record and filter (see migration 0005).
fn statements(attr: &AttributeDef) -> [&'static str; 3] {
    match attr.relation.as_ref().map(|r| r.side) {
        Some(RelationSide::Source) => [
            "delete from crm_record_links where ctid = any(array(select (select x.ctid from crm_record_links x
             where x.organization_id = $1 and x.source_id = $2 and x.relation_id = $3 and x.target_id = r)
             from unnest($4::uuid[]) as r)) returning target_id",
            "delete from crm_record_links where organization_id = $1 and source_id = $2 and relation_id = $3
             and target_id <> all($4) returning target_id",
            "insert into crm_record_links (organization_id, source_id, relation_id, target_id, source_single, target_single)
             select $1, $2, $3, t, $5, $6 from unnest($4::uuid[]) as t order by t
             on conflict (organization_id, source_id, relation_id, target_id) do nothing returning target_id",
        ],
        Some(RelationSide::Target) => [
            "delete from crm_record_links where ctid = any(array(select (select x.ctid from crm_record_links x
             where x.organization_id = $1 and x.target_id = $2 and x.relation_id = $3 and x.source_id = r)
             from unnest($4::uuid[]) as r)) returning source_id",
            "delete from crm_record_links where organization_id = $1 and target_id = $2 and relation_id = $3
             and source_id <> all($4) returning source_id",
            "insert into crm_record_links (organization_id, target_id, relation_id, source_id, source_single, target_single)
             select $1, $2, $3, s, $5, $6 from unnest($4::uuid[]) as s order by s
             on conflict (organization_id, source_id, relation_id, target_id) do nothing returning source_id",
        ],
        None => [
            "delete from crm_record_members where ctid = any(array(select (select x.ctid from crm_record_members x
             where x.organization_id = $1 and x.record_id = $2 and x.attribute_id = $3 and x.member_id = r)
             from unnest($4::uuid[]) as r)) returning member_id",
            "delete from crm_record_members where organization_id = $1 and record_id = $2 and attribute_id = $3
             and member_id <> all($4) returning member_id",
            "insert into crm_record_members (organization_id, record_id, attribute_id, member_id)
             select $1, $2, $3, m from unnest($4::uuid[]) as m order by m
             on conflict (organization_id, record_id, attribute_id, member_id) do nothing returning member_id",
        ],
    }
}

/// The id links of `attr` are stored under: the relation id, or the user attribute's own id.
fn owner_id(attr: &AttributeDef) -> Uuid {
    attr.relation.as_ref().map_or(attr.attribute_id, |r| r.relation_id)
}

/// Runs one statement; `insert` statements of relations also take the cardinality flags.
async fn run(
    conn: &mut PgConnection,
    sql: &'static str,
    (org, record): (Uuid, Uuid),
    attr: &AttributeDef,
    ids: &[Uuid],
    insert: bool,
) -> Result<Vec<Uuid>, LinkError> {
    let mut query = sqlx::query_scalar(sql).bind(org).bind(record).bind(owner_id(attr)).bind(ids);
    if let (true, Some(relation)) = (insert, &attr.relation) {
        let (source_single, target_single) = relation.link_flags();
        query = query.bind(source_single).bind(target_single);
    }
    query.fetch_all(conn).await.map_err(classify)
}

/// Makes the links of `attr` exactly `ids`: removes the others, adds the missing ones, leaves the rest.
pub async fn replace(
    conn: &mut PgConnection,
    organization_id: Uuid,
    record_id: Uuid,
    attr: &AttributeDef,
    ids: &[Uuid],
) -> Result<LinkDiff, LinkError> {
    let [_, delete_others, insert] = statements(attr);
    let key = (organization_id, record_id);
    let mut removed = run(conn, delete_others, key, attr, ids, false).await?;
    let added = if ids.is_empty() { Vec::new() } else { run(conn, insert, key, attr, ids, true).await? };
    removed.sort();
    Ok(LinkDiff { added: in_request_order(ids, &added), removed })
}

/// `done`, ordered as in `requested`.
pub fn in_request_order(requested: &[Uuid], done: &[Uuid]) -> Vec<Uuid> {
    if done.len() <= 1 {
        return done.to_vec();
    }
    let done: std::collections::HashSet<&Uuid> = done.iter().collect();
    requested.iter().filter(|id| done.contains(id)).copied().collect()
}

/// The IDs among `ids` that cannot be linked through `attr`: not records of the related object
/// in this organization, or not members (`false`) / deactivated members (`true`) for `user`.
pub async fn unlinkable(
    conn: &mut PgConnection,
    organization_id: Uuid,
    attr: &AttributeDef,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, bool)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<(Uuid, bool)> = match (&attr.relation, attr.kind) {
        (Some(relation), _) => {
            sqlx::query_as(
                // By primary key; see `records` for why the object is compared this way.
                "select record_id, true from crm_records
                 where organization_id = $1 and record_id = any($3) and object_id is not distinct from $2",
            )
            .bind(organization_id)
            .bind(relation.related_object_id)
            .bind(ids)
            .fetch_all(conn)
            .await?
        }
        (None, AttributeType::User) => {
            sqlx::query_as(
                "select member_id, is_active from members where organization_id = $1 and member_id = any($2)",
            )
            .bind(organization_id)
            .bind(ids)
            .fetch_all(conn)
            .await?
        }
        (None, _) => Vec::new(),
    };
    Ok(ids
        .iter()
        .filter_map(|id| match found.iter().find(|(f, _)| f == id) {
            Some((_, true)) => None,
            Some((_, false)) => Some((*id, true)),
            None => Some((*id, false)),
        })
        .collect())
}

/// One stored link seen from a record: `kind` `S` (the record is the source), `T` (target) or
/// `U` (a member link); `owner_id` is the relation id or user attribute id.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    pub record_id: Uuid,
    pub kind: String,
    pub owner_id: Uuid,
    pub other_id: Uuid,
}

/// Every link of the given records, from both sides, in the order they were linked.
pub async fn for_records(
    conn: &mut PgConnection,
    organization_id: Uuid,
    record_ids: &[Uuid],
) -> Result<Vec<LinkRow>, sqlx::Error> {
    sqlx::query_as(
        "select record_id, kind, owner_id, other_id from (
             select source_id as record_id, 'S' as kind, relation_id as owner_id, target_id as other_id, link_seq
             from crm_record_links where organization_id = $1 and source_id = any($2)
             union all
             select target_id, 'T', relation_id, source_id, link_seq
             from crm_record_links where organization_id = $1 and target_id = any($2)
             union all
             select record_id, 'U', attribute_id, member_id, link_seq
             from crm_record_members where organization_id = $1 and record_id = any($2)
         ) links order by link_seq",
    )
    .bind(organization_id)
    .bind(record_ids)
    .fetch_all(conn)
    .await
}

/// The links that stand in the way of linking `record_id` to `ids` through `attr`.
pub async fn cardinality_conflicts(
    conn: &mut PgConnection,
    organization_id: Uuid,
    record_id: Uuid,
    attr: &AttributeDef,
    ids: &[Uuid],
) -> Result<Vec<Blocking>, sqlx::Error> {
    let Some(relation) = &attr.relation else {
        return Ok(Vec::new());
    };
    let mut conflicts = Vec::new();
    let here_is_source = relation.side == RelationSide::Source;
    if relation.relation_type.single_here() {
        // This record already links elsewhere: (the id it wanted, what it already links to).
        let sql = if here_is_source {
            "select target_id from crm_record_links where organization_id = $1 and source_id = $2 and relation_id = $3"
        } else {
            "select source_id from crm_record_links where organization_id = $1 and target_id = $2 and relation_id = $3"
        };
        let existing: Vec<Uuid> = sqlx::query_scalar(sql)
            .bind(organization_id)
            .bind(record_id)
            .bind(relation.relation_id)
            .fetch_all(&mut *conn)
            .await?;
        for id in ids.iter().filter(|id| !existing.contains(id)) {
            conflicts.extend(existing.iter().map(|holder| Blocking { id: *id, holder: *holder, held_here: true }));
        }
    }
    if relation.relation_type.single_there() {
        // A requested id is already linked from another record on this side.
        let sql = if here_is_source {
            "select target_id, source_id from crm_record_links
             where organization_id = $1 and relation_id = $3 and target_id = any($4) and source_id <> $2"
        } else {
            "select source_id, target_id from crm_record_links
             where organization_id = $1 and relation_id = $3 and source_id = any($4) and target_id <> $2"
        };
        let taken: Vec<(Uuid, Uuid)> = sqlx::query_as(sql)
            .bind(organization_id)
            .bind(record_id)
            .bind(relation.relation_id)
            .bind(ids)
            .fetch_all(&mut *conn)
            .await?;
        conflicts.extend(taken.into_iter().map(|(id, holder)| Blocking { id, holder, held_here: false }));
    }
    Ok(conflicts)
}
