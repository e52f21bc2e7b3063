//! The body of `PATCH /v2/crm/{objectSlug}/{recordId}/relation`, parsed into a change set.

use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::problem::Problem;
use super::value::{self, MAX_LINKS};

/// A validated request to link and unlink IDs on one attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    attribute_slug: String,
    add: Vec<Uuid>,
    remove: Vec<Uuid>,
}

impl ChangeSet {
    /// Parses the raw body, reporting every problem at once: unknown fields, a missing
    /// `attributeSlug`, non-arrays, non-UUID entries, lists over 1,000 entries, both lists empty,
    /// and IDs that appear in both lists. Duplicates inside one list collapse.
    pub fn parse(body: &Value) -> Result<ChangeSet, Vec<Problem>> {
        let Some(fields) = body.as_object() else {
            return Err(vec![Problem::new(
                "",
                "invalid_type",
                "expected a JSON object with attributeSlug, add and remove",
            )]);
        };
        let mut problems: Vec<Problem> = fields
            .keys()
            .filter(|k| !matches!(k.as_str(), "attributeSlug" | "add" | "remove"))
            .map(|k| {
                Problem::new(
                    format!("/{}", super::problem::pointer_segment(k)),
                    "unknown_field",
                    format!("unknown field '{k}'; expected attributeSlug, add, remove"),
                )
            })
            .collect();
        let attribute_slug = match fields.get("attributeSlug") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::String(_)) | None | Some(Value::Null) => {
                problems.push(Problem::new(
                    "/attributeSlug",
                    "required",
                    "attributeSlug is required: the key of a relation or user attribute",
                ));
                String::new()
            }
            Some(_) => {
                problems.push(Problem::new("/attributeSlug", "invalid_type", "attributeSlug must be a string"));
                String::new()
            }
        };
        let add = ids(fields.get("add"), "/add", &mut problems);
        let remove = ids(fields.get("remove"), "/remove", &mut problems);
        if problems.is_empty() && add.is_empty() && remove.is_empty() {
            problems.push(Problem::new(
                "",
                "empty_change",
                "at least one of 'add' or 'remove' must be a non-empty array",
            ));
        }
        for (j, id) in remove.iter().enumerate() {
            if add.contains(id) {
                problems.push(Problem::new(
                    format!("/remove/{j}"),
                    "in_both_lists",
                    format!("{id} is in both 'add' and 'remove'"),
                ));
            }
        }
        if problems.is_empty() { Ok(ChangeSet { attribute_slug, add, remove }) } else { Err(problems) }
    }

    /// The key of the attribute to change.
    pub fn attribute_slug(&self) -> &str {
        &self.attribute_slug
    }

    /// IDs to link, duplicates removed, in request order.
    pub fn add(&self) -> &[Uuid] {
        &self.add
    }

    /// IDs to unlink, duplicates removed, in request order.
    pub fn remove(&self) -> &[Uuid] {
        &self.remove
    }

    /// A fingerprint of the change applied to `target` (e.g. the record path), for telling a
    /// retry of the same request from a different request under the same Idempotency-Key.
    pub fn fingerprint(&self, target: &str) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(target.as_bytes());
        hash.update([0]);
        hash.update(self.attribute_slug.as_bytes());
        for (tag, list) in [(b'+', &self.add), (b'-', &self.remove)] {
            hash.update([tag]);
            for id in list {
                hash.update(id.as_bytes());
            }
        }
        hash.finalize().into()
    }
}

/// Positions in the request of `ids` (after de-duplication, the index of first occurrence).
pub fn position(list: &[Uuid], id: &Uuid) -> usize {
    list.iter().position(|x| x == id).unwrap_or_default()
}

/// The links among `linked` that a write listing `wanted` removes, sorted (a stable order).
pub fn unwanted(linked: impl Iterator<Item = Uuid>, wanted: &[Uuid]) -> Vec<Uuid> {
    let wanted: std::collections::HashSet<&Uuid> = wanted.iter().collect();
    let mut remove: Vec<Uuid> = linked.filter(|id| !wanted.contains(id)).collect();
    remove.sort();
    remove
}

fn ids(raw: Option<&Value>, pointer: &str, problems: &mut Vec<Problem>) -> Vec<Uuid> {
    let items = match raw {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            problems.push(Problem::new(pointer, "invalid_type", "expected an array of UUID strings"));
            return Vec::new();
        }
    };
    if items.len() > MAX_LINKS {
        let message = format!("at most {MAX_LINKS} IDs per list, got {}", items.len());
        problems.push(Problem::new(pointer, "too_many", message));
        return Vec::new();
    }
    match value::parse_ids(items) {
        Ok(ids) => ids,
        Err(errors) => {
            problems.extend(errors.into_iter().map(|e| Problem::new(format!("{pointer}{}", e.at), e.code, e.message)));
            Vec::new()
        }
    }
}

#[cfg(test)]
#[path = "relation_change_tests.rs"]
mod tests;
