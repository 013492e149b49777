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
/// Calls to the shared state (Redis) that failed.
pub const SHARED_ERRORS: &str = "mfa_shared_errors_total";
pub const HASHING_QUEUE: &str = "mfa_hashing_queue_depth";
pub const HASHING_RUNNING: &str = "mfa_hashing_running";
// Issue 17 (operations): what the alert rules and the dashboard in dist/ read.
pub const HASHING_THREADS: &str = "mfa_hashing_threads";
pub const SIEM_SENT: &str = "mfa_siem_sent_total";
pub const SIEM_ERRORS: &str = "mfa_siem_errors_total";
pub const SIEM_LAG: &str = "mfa_siem_lag_events";
pub const AUDIT_WRITE_FAILURES: &str = "mfa_audit_write_failures_total";
pub const APPROVALS: &str = "mfa_approvals_total";
pub const PUSH: &str = "mfa_push_total";
pub const MAIL: &str = "mfa_mail_total";
pub const DB_POOL_WAIT_SECONDS: &str = "mfa_db_pool_wait_seconds";
pub const DB_POOL_CONNECTIONS: &str = "mfa_db_pool_connections";
pub const DB_POOL_IDLE: &str = "mfa_db_pool_idle";
pub const CERT_EXPIRY: &str = "mfa_tls_cert_expiry_timestamp_seconds";
pub const PROCESS_RSS: &str = "mfa_process_resident_memory_bytes";
pub const BUILD_INFO: &str = "mfa_build_info";
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
    crate::ops::describe_metrics();
    Ok(handle)
}

/// What the admin routes read.
#[derive(Debug, Clone)]
pub struct AdminState {
    pub prometheus: PrometheusHandle,
    pub radius: Arc<mfa_radius::Stats>,
    pub gateway: Gateway,
}

/// The `[admin]` listener: `/metrics`, `/healthz`, `/readyz`. Metrics are served here only,
/// never on the public web listener (counters by reason would let anyone watch how their
/// own attempts were answered).
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .with_state(state.clone())
        .merge(health_router(state))
}

/// `/healthz` and `/readyz`, also on the public web listener (for load balancers).
pub fn health_router(state: AdminState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(state)
}

/// The `reason` label of a decision's metric: reasons that tell something of the account
/// (unknown user, wrong password, wrong code after a right password, locked, disabled...)
/// are all counted as `credentials`, so the metrics never tell usernames apart; the audit
/// trail keeps the exact reason. Operational reasons keep their names.
pub fn metric_reason(reason: &str) -> &str {
    match reason {
        ""
        | "rate_limited"
        | "overloaded"
        | "challenge_expired"
        | "second_factor_only_unsupported"
        | "approval_denied"
        | "approval_timed_out"
        | "approval_not_me"
        | "approval_replaced"
        | "too_many_prompts"
        | "approvals_locked"
        | "directory_unavailable" => reason,
        _ => "credentials",
    }
}

async fn metrics_text(State(s): State<AdminState>) -> impl IntoResponse {
    for (name, value) in s.radius.snapshot() {
        metrics::counter!(format!("mfa_radius_{name}_total")).absolute(value);
    }
    let (queued, running) = s.gateway.hashing_load();
    metrics::gauge!(HASHING_QUEUE).set(queued as f64);
    metrics::gauge!(HASHING_RUNNING).set(running as f64);
    crate::ops::sample_process(s.gateway.hashing_pool().threads());
    (
        [("content-type", "text/plain; version=0.0.4")],
        s.prometheus.render(),
    )
}

/// 1 when a directory answered /readyz's probe, 0 when it did not.
pub const DIRECTORY_UP: &str = "mfa_directory_up";

/// How long /readyz waits for the store's answer.
const READY_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

async fn ready(State(s): State<AdminState>) -> impl IntoResponse {
    if s.gateway.draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining\n".to_owned());
    }
    // A store that does not answer in time is as unready as one that refuses (the pool
    // would otherwise wait its whole acquire timeout, longer than a balancer's check).
    match tokio::time::timeout(READY_CHECK, s.gateway.store().ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: store not reachable");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "store not reachable\n".to_owned(),
            );
        }
        Err(_) => {
            tracing::warn!("readiness: store did not answer in time");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "store not reachable\n".to_owned(),
            );
        }
    }
    if let Some(shared) = s.gateway.shared()
        && let Err(e) = shared.ping().await
    {
        tracing::warn!(error = %e, "readiness: shared state not reachable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "shared state not reachable\n".to_owned(),
        );
    }
    // A directory that does not answer is reported, but the instance stays ready: it serves
    // every other organisation (and the other instances could not reach it either).
    let mut body = String::from("ready\n");
    let dirs = s.gateway.directories().all();
    // All at once, each bounded: the answer never waits longer than one check.
    let probes = futures_util::future::join_all(
        dirs.iter()
            .map(|d| tokio::time::timeout(READY_CHECK, d.probe())),
    )
    .await;
    for (d, probe) in dirs.iter().zip(probes) {
        let up = matches!(probe, Ok(Ok(())));
        metrics::gauge!(DIRECTORY_UP, "directory" => d.name().to_owned()).set(if up {
            1.0
        } else {
            0.0
        });
        if !up {
            tracing::warn!(directory = %d.name(), "readiness: directory not reachable");
            body.push_str(&format!("directory {}: not reachable\n", d.name()));
        }
    }
    (StatusCode::OK, body)
}
