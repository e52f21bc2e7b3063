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

/// The problems naming the links that block `ids` on `attr`.
pub fn conflicts(attr: &AttributeDef, ids: &[Uuid], conflicts: &[(Uuid, Uuid)]) -> Vec<Problem> {
    let kind = attr.relation.as_ref().map(|r| r.relation_type.as_str()).unwrap_or_default();
    let mut problems: Vec<Problem> = conflicts
        .iter()
        .map(|(id, other)| {
            let i = ids.iter().position(|x| x == id).unwrap_or_default();
            let pointer = format!("/{}/{i}", pointer_segment(&attr.key));
            let message =
                format!("'{}' is {kind}: {id} cannot be linked because {other} already holds the link", attr.key);
            Problem::new(pointer, "cardinality_conflict", message)
        })
        .collect();
    if problems.is_empty() {
        // A concurrent writer took the slot and let go again before we looked.
        let message = format!("'{}' is {kind} and a concurrent change took the link; retry", attr.key);
        problems.push(Problem::new(format!("/{}", pointer_segment(&attr.key)), "cardinality_conflict", message));
    }
    problems
}
