//! Backlog gauges per subscription, sampled from the database (the one truth every server
//! process shares), so they stay right while a subscription waits for a retry or another
//! process delivers it: `webhook_queue_depth` (undelivered events, counted up to `DEPTH_CAP`)
//! and `webhook_oldest_undelivered_seconds` (age of the next event to deliver, 0 when none).
//! Labels stay bounded: at most `SAMPLED` subscriptions per round, and gauges not set again
//! within a minute leave the output (see `http::metrics`).

use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;

use super::feed;
use crate::db::webhook_leases::{self, Standing};
use crate::domain::webhook::type_filter;

/// Subscriptions sampled per round.
pub const SAMPLED: i64 = 100;
/// Undelivered events counted per subscription; a deeper queue shows as this.
pub const DEPTH_CAP: u16 = 200;
/// How often the gauges are refreshed.
pub const EVERY: Duration = Duration::from_secs(15);

/// Refreshes the gauges every `EVERY` until the pool closes.
pub async fn run(pool: PgPool) {
    let mut every = tokio::time::interval(EVERY);
    while !pool.is_closed() {
        every.tick().await;
        match webhook_leases::standings(&pool, SAMPLED).await {
            Ok(standings) => {
                for standing in standings {
                    sample(&pool, &standing).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading webhook subscriptions for metrics failed"),
        }
    }
}

async fn sample(pool: &PgPool, s: &Standing) {
    let types = type_filter(&s.events);
    let page = match feed::read(pool, s.organization_id, &s.cursor, types.as_deref(), DEPTH_CAP).await {
        Ok(page) => page,
        Err(e) => {
            return tracing::warn!(subscription = %s.subscription_id, error = %e, "sampling a webhook backlog failed");
        }
    };
    let age = page
        .events
        .first()
        .and_then(|e| e.occurred_at)
        .map_or(0.0, |at| (Utc::now() - at).to_std().unwrap_or_default().as_secs_f64());
    let subscription = s.subscription_id.to_string();
    metrics::gauge!("webhook_queue_depth", "subscription" => subscription.clone()).set(page.events.len() as f64);
    metrics::gauge!("webhook_oldest_undelivered_seconds", "subscription" => subscription).set(age);
}
