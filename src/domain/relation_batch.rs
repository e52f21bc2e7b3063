//! A parsed request of the batch relation endpoint: operations of the single relation endpoint,
//! applied in order, all or nothing (`atomic`) or each on its own.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::problem::Problem;
use super::relation_request::{Idempotency, RelationRequest};
use super::schema::ObjectDef;

/// Most operations one batch may carry.
pub const MAX_OPERATIONS: usize = 1000;
/// Most IDs (`add` and `remove` entries together) one batch may carry.
pub const MAX_BATCH_IDS: usize = 10_000;

/// One operation of a batch: the single endpoint's request, or the problems that kept it from
/// being one (their pointers relative to the operation).
pub type Operation = Result<RelationRequest, Vec<Problem>>;

/// The batch, every operation parsed.
#[derive(Debug)]
pub struct BatchRequest {
    pub organization_id: Uuid,
    pub object: Arc<ObjectDef>,
    /// In request order.
    pub operations: Vec<Operation>,
    /// All or nothing (default), or each operation on its own.
    pub atomic: bool,
    /// The Idempotency-Key, if sent, with the fingerprint of the whole batch.
    pub idempotency: Option<Idempotency>,
}

impl BatchRequest {
    /// The operations that parsed, with their index in the request.
    pub fn valid(&self) -> impl Iterator<Item = (usize, &RelationRequest)> {
        self.operations.iter().enumerate().filter_map(|(i, op)| op.as_ref().ok().map(|r| (i, r)))
    }

    /// Whether any operation failed to parse.
    pub fn has_invalid(&self) -> bool {
        self.operations.iter().any(Result::is_err)
    }
}

/// The pointer of an operation's problem inside the batch body.
pub fn operation_pointer(index: usize, pointer: &str) -> String {
    format!("/operations/{index}{pointer}")
}

/// A fingerprint of the whole batch under `target` (the object), telling a retry from a
/// different request under the same Idempotency-Key: the mode and, per operation, its record,
/// change and condition; an operation that did not parse counts by its problems.
pub fn fingerprint(target: &str, atomic: bool, operations: &[Operation]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(target.as_bytes());
    hash.update([0, u8::from(atomic)]);
    for op in operations {
        match op {
            Ok(request) => {
                hash.update(request.change.fingerprint(&request.record_id.to_string()));
                for version in request.accepted_versions.iter().flatten() {
                    hash.update(version.to_le_bytes());
                }
                hash.update([u8::from(request.accepted_versions.is_some())]);
            }
            Err(problems) => {
                for p in problems {
                    hash.update(p.pointer.as_bytes());
                    hash.update(p.code.as_bytes());
                }
                hash.update([0xff]);
            }
        }
    }
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_are_prefixed_by_the_operation() {
        assert_eq!(operation_pointer(3, "/add/2"), "/operations/3/add/2");
        assert_eq!(operation_pointer(0, ""), "/operations/0");
    }

    #[test]
    fn the_mode_is_part_of_the_fingerprint() {
        assert_ne!(fingerprint("orders", true, &[]), fingerprint("orders", false, &[]));
        assert_ne!(fingerprint("orders", true, &[]), fingerprint("people", true, &[]));
    }
}
