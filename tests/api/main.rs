//! Integration tests through the real router against a real PostgreSQL.

#[allow(dead_code)]
mod helpers;

mod attributes;
mod auth;
mod batch;
mod batch_events;
mod batch_paths;
mod bounded;
mod cache;
mod changes;
mod changes_concurrency;
mod changes_order;
mod changes_records;
mod demo;
mod health;
mod hostile;
mod limits;
mod members;
mod middleware;
mod objects;
mod operations;
mod plans;
mod pool;
mod receiver;
mod record_links;
mod records;
mod relation;
mod relation_guarantees;
mod request_rules;
mod retries;
mod webhook_delivery;
mod webhooks;
mod workspace_doc;
