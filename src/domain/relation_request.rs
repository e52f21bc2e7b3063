//! A parsed request of the relation endpoint: which record, which attribute, what to change,
//! and under which conditions.

use std::sync::Arc;

use uuid::Uuid;

use super::event::ChangeContext;
use super::relation_change::ChangeSet;
use super::schema::{AttributeDef, ObjectDef};

/// One relation change to apply.
#[derive(Debug, Clone)]
pub struct RelationRequest {
    pub organization_id: Uuid,
    pub object: Arc<ObjectDef>,
    pub record_id: Uuid,
    /// A non-archived `relation` or `user` attribute of `object`.
    pub attribute: AttributeDef,
    pub change: ChangeSet,
    /// Versions `If-Match` accepts; `None` when there is no condition.
    pub accepted_versions: Option<Vec<i64>>,
    /// The Idempotency-Key, if sent, with the request's fingerprint.
    pub idempotency: Option<Idempotency>,
    /// `Prefer: return=minimal`: the response leaves the record out.
    pub minimal: bool,
    /// Who makes the change, for its event.
    pub context: ChangeContext,
}

/// An Idempotency-Key and the fingerprint of the request sent with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: [u8; 32],
}
