//! Pure types and rules of the CRM: no axum, no sqlx, no I/O.

pub mod attribute;
pub mod cursor;
pub mod event;
pub mod event_data;
pub mod key;
pub mod limits;
pub mod link_problems;
pub mod member;
pub mod pagination;
pub mod problem;
pub mod record_input;
pub mod relation_batch;
pub mod relation_change;
pub mod relation_request;
pub mod schema;
pub mod schema_input;
pub mod scope;
pub mod slug;
pub mod token;
pub mod value;
pub mod webhook;
pub mod webhook_retry;
pub mod webhook_signature;
