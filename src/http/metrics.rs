//! Prometheus metrics: the recorder, the middleware that counts requests, and `GET /metrics`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_util::MetricKindMask;

use super::state::AppState;

const LATENCY: &str = "http_request_duration_seconds";
use crate::webhooks::delivery::LATENCY_METRIC as DELIVERY_LATENCY;

/// The process-wide recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(LATENCY.into()),
                &[0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
            )
            .expect("buckets are non-empty")
            .set_buckets_for_metric(
                Matcher::Full(DELIVERY_LATENCY.into()),
                &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
            )
            .expect("buckets are non-empty")
            // Per-subscription backlog gauges of subscriptions no longer sampled (deleted,
            // disabled) leave the output; every other gauge is set on each scrape.
            .idle_timeout(MetricKindMask::GAUGE, Some(Duration::from_secs(60)))
            .install_recorder()
            .expect("crm-api installs the only metrics recorder")
    })
}

/// Counts every request by route template, method and status, and records its latency. Every
/// label comes from a closed set: route templates (any unmatched path is `unmatched`), the
/// standard methods (any other is `OTHER`), status codes.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = crate::telemetry::method_label(request.method());
    let start = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(LATENCY, "route" => route.clone(), "method" => method).record(start.elapsed().as_secs_f64());
    metrics::counter!("http_requests_total", "route" => route, "method" => method, "status" => status).increment(1);
    response
}

/// Metrics in the Prometheus text format
///
/// Requests by route template, method and status; a latency histogram per route; database pool
/// connections in use and idle; links added and removed by the relation endpoint; webhook
/// deliveries by outcome, their latency, and per subscription the queue depth and the age of the
/// oldest undelivered event. No token is needed: expose it to your monitoring network only.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text exposition format.", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let idle = state.pool.num_idle() as f64;
    let size = f64::from(state.pool.size());
    metrics::gauge!("db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("db_pool_connections", "state" => "in_use").set((size - idle).max(0.0));
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], handle().render())
}
