//! crm-api: a CRM records API compatible with Zeeg's public v2 CRM API.

/// Wiring: database (bundled or external), router, serving until shutdown.
pub mod app;
/// Schema and token caches, invalidated across processes by LISTEN/NOTIFY.
pub mod cache;
/// The command line (`serve`, `migrate`, `org`, `member`, `token`).
pub mod cli;
/// Configuration from environment variables.
pub mod config;
/// Repository layer: every SQL statement.
pub mod db;
/// The demo workspace of `serve --demo`.
pub mod demo;
/// Pure domain types and rules.
pub mod domain;
/// The bundled PostgreSQL cluster used when `DATABASE_URL` is unset.
pub mod embedded_pg;
/// Waking long-polling readers of the change feed, within and across processes.
pub mod feed;
/// HTTP handlers, extractors, errors and the OpenAPI document.
pub mod http;
/// The HTTP server: accept loop, connection limits and timeouts, lingering close.
pub mod server;
/// Waiting for SIGINT/SIGTERM.
pub mod shutdown;
/// Logging setup and request spans.
pub mod telemetry;
/// Webhook delivery: the guarded client, signing, and the engine shared by every process.
pub mod webhooks;
