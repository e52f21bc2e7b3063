//! Integration tests through the real router against a real PostgreSQL.

#[allow(dead_code)]
mod helpers;

mod auth;
mod health;
mod members;
mod middleware;
