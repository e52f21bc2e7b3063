//! Pure types and rules of the CRM: no axum, no sqlx, no I/O.

pub mod member;
pub mod pagination;
pub mod scope;
pub mod slug;
pub mod token;
