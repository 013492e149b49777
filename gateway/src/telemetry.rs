//! Metrics (Prometheus text) and the small admin HTTP listener that serves them with
//! `/healthz` and `/readyz`, until the OIDC front's HTTPS listener takes these routes over.

use crate::service::Gateway;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::Arc;

/// Metric names, in one place.
pub const DECISIONS: &str = "mfa_decisions_total";
pub const RADIUS_DECIDE_SECONDS: &str = "mfa_radius_decide_seconds";
pub const RATE_LIMITED: &str = "mfa_rate_limited_total";
pub const HASHING_QUEUE: &str = "mfa_hashing_queue_depth";
pub const HASHING_RUNNING: &str = "mfa_hashing_running";
/// RADIUS logins dropped (unanswered, for the NAS to retransmit) for want of a place in
/// the hashing queue.
pub const RADIUS_QUEUE_FULL: &str = "mfa_radius_queue_full_total";

/// Install the process-wide Prometheus recorder (once; later calls get an error).
pub fn install() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_seconds".into()),
            &[
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ],
        )?
        .install_recorder()?;
    metrics::describe_counter!(
        DECISIONS,
        "Login decisions by channel, client, outcome and reason"
    );
    metrics::describe_histogram!(RADIUS_DECIDE_SECONDS, "Time to decide one RADIUS request");
    metrics::describe_counter!(
        RATE_LIMITED,
        "Attempts answered by the rate limiter, by channel"
    );
    metrics::describe_gauge!(
        HASHING_QUEUE,
        "Logins waiting for the password-hashing pool"
    );
    metrics::describe_gauge!(HASHING_RUNNING, "Password checks running");
    Ok(handle)
}

/// What the admin routes read.
#[derive(Debug, Clone)]
pub struct AdminState {
    pub prometheus: PrometheusHandle,
    pub radius: Arc<mfa_radius::Stats>,
    pub gateway: Gateway,
}

/// `/metrics`, `/healthz`, `/readyz`.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(state)
}

async fn metrics_text(State(s): State<AdminState>) -> impl IntoResponse {
    for (name, value) in s.radius.snapshot() {
        metrics::counter!(format!("mfa_radius_{name}_total")).absolute(value);
    }
    let (queued, running) = s.gateway.hashing_load();
    metrics::gauge!(HASHING_QUEUE).set(queued as f64);
    metrics::gauge!(HASHING_RUNNING).set(running as f64);
    (
        [("content-type", "text/plain; version=0.0.4")],
        s.prometheus.render(),
    )
}

async fn ready(State(s): State<AdminState>) -> impl IntoResponse {
    match s.gateway.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: store not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store not reachable\n")
        }
    }
}
