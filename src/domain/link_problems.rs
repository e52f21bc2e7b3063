//! The problems reported for links that cannot be made.

use uuid::Uuid;

use super::problem::{Problem, pointer_segment};
use super::schema::AttributeDef;

/// The problem for an ID that cannot be linked through `attr`.
pub fn unlinkable(pointer: &str, attr: &AttributeDef, id: Uuid, inactive: bool) -> Problem {
    match (&attr.relation, inactive) {
        (Some(r), _) => Problem::new(pointer, "not_found", format!("no {} record {id}", r.related_object_slug)),
        (None, true) => Problem::new(pointer, "inactive_member", format!("member {id} is deactivated")),
        (None, false) => Problem::new(pointer, "not_found", format!("no member {id} in this organization")),
    }
}

/// A link that stands in the way of a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocking {
    /// The ID the request wanted to link.
    pub id: Uuid,
    /// The record already holding the single slot.
    pub holder: Uuid,
    /// `true`: the record being written already has its one link (`holder` is its target);
    /// `false`: `id` is already linked from `holder`, another record on the writer's side.
    pub held_here: bool,
}

/// The problems naming the links that block `ids` on `attr`; pointers are `{prefix}/{index}`.
pub fn conflicts(prefix: &str, attr: &AttributeDef, ids: &[Uuid], blocking: &[Blocking]) -> Vec<Problem> {
    let kind = attr.relation.as_ref().map(|r| r.relation_type.as_str()).unwrap_or_default();
    let key = &attr.key;
    let mut problems: Vec<Problem> = blocking
        .iter()
        .map(|b| {
            let i = ids.iter().position(|x| *x == b.id).unwrap_or_default();
            let message = if b.held_here {
                format!("'{key}' is {kind} and this record already links to {}; remove it in the same request to swap it for {}", b.holder, b.id)
            } else {
                format!("'{key}' is {kind}: {} is already linked from {}; unlink it there first", b.id, b.holder)
            };
            Problem::new(format!("{prefix}/{i}"), "cardinality_conflict", message)
        })
        .collect();
    if problems.is_empty() {
        // A concurrent writer took the slot and let go again before we looked.
        let message = format!("'{key}' is {kind} and a concurrent change took the link; retry");
        problems.push(Problem::new(prefix, "cardinality_conflict", message));
    }
    problems
}

/// The pointer prefix of an attribute's value in a record body.
pub fn record_pointer(attr: &AttributeDef) -> String {
    format!("/{}", pointer_segment(&attr.key))
}

/// A cardinality-one attribute takes at most one ID in one write: the problem when `ids` has
/// more. `pointer` locates the list; `listed` introduces its length in the message (`'add'
/// has`, `got`).
pub fn more_than_one(attr: &AttributeDef, ids: &[Uuid], pointer: &str, listed: &str) -> Option<Problem> {
    let relation = attr.relation.as_ref().filter(|r| r.relation_type.single_here())?;
    let kind = relation.relation_type.as_str();
    let message = format!("'{}' is {kind} and links at most one record; {listed} {}", attr.key, ids.len());
    (ids.len() > 1).then(|| Problem::new(pointer, "cardinality_exceeded", message))
}

/// The problems for the IDs of `ids` found unlinkable (`(id, inactive)`); pointers are
/// `{prefix}/{index in ids}`.
pub fn unlinkable_ids(prefix: &str, attr: &AttributeDef, ids: &[Uuid], found: &[(Uuid, bool)]) -> Vec<Problem> {
    found
        .iter()
        .map(|(id, inactive)| {
            let i = ids.iter().position(|x| x == id).unwrap_or_default();
            unlinkable(&format!("{prefix}/{i}"), attr, *id, *inactive)
        })
        .collect()
}
