//! `serve` and `demo`: load everything, then run the fronts until ctrl-c or SIGTERM.

use crate::cli::open_gateway;
use crate::config::Config;
use crate::model::now;
use crate::radius_front::RadiusPolicy;
use crate::service::Gateway;
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

mod demo;
mod jobs;
mod listeners;

pub use demo::demo;

/// The fronts' serving tasks (and the housekeeping tick): when one ends, `serve` stops.
type Fronts = tokio::task::JoinSet<std::io::Result<()>>;

/// The served certificate's expiry is logged as a warning when closer than this.
const CERT_WARN_DAYS: i64 = 30;

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn init_tracing(json: bool, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Run the gateway with the config at `config_path`.
pub async fn serve(config_path: &Path) -> anyhow::Result<()> {
    let (config, gateway) = open_gateway(config_path).await?;
    init_tracing(config.log_json, &config.log_level);
    audit_config_loaded(&gateway, config_path, None).await?;
    run(&config, gateway, config_path).await
}

/// Record which configuration the gateway runs with (its file and SHA-256), so a change of
/// configuration between two runs shows in the audit trail; or, with `refused_at` (where
/// the problem is: a key or a line, never a value from the file), a reload that was refused.
async fn audit_config_loaded(
    gateway: &Gateway,
    config_path: &Path,
    refused_at: Option<&str>,
) -> anyhow::Result<()> {
    use sha2::Digest as _;
    let text = std::fs::read(config_path).unwrap_or_default();
    let mut event =
        crate::audit::AuditEvent::admin(now(), crate::audit::EventKind::ConfigReloaded, "system");
    event.channel = crate::audit::Channel::System;
    let mut detail = serde_json::json!({
        "file": config_path.display().to_string(),
        "sha256": hex::encode(sha2::Sha256::digest(&text)),
    });
    if let Some(at) = refused_at {
        event.outcome = crate::audit::Outcome::Failed;
        event.reason = Some("config_invalid".into());
        detail["problem_at"] = serde_json::json!(at);
    }
    event.detail = Some(detail);
    gateway
        .store()
        .append_event(&event)
        .await
        .context("writing the config_reloaded audit event")?;
    Ok(())
}

/// Start the fronts, print where they listen (one line each), and run until a signal.
async fn run(config: &Config, gateway: Gateway, config_path: &Path) -> anyhow::Result<()> {
    if let Some(problem) = gateway.webhook_problem() {
        anyhow::bail!("{problem}");
    }
    if let Some(problem) = gateway.directories().all().iter().find_map(|d| d.problem()) {
        anyhow::bail!("{problem}");
    }
    gateway
        .store()
        .ping()
        .await
        .context("store not reachable")?;
    // A client bound to an organisation that does not exist serves nobody of it: say so.
    if let Ok(orgs) = gateway.store().orgs().await {
        let known: Vec<&str> = orgs.iter().map(|o| o.name.as_str()).collect();
        let named = config
            .radius
            .field
            .iter()
            .flat_map(|(c, f)| f.orgs.iter().map(move |o| (c.as_str(), o)))
            .chain(
                config
                    .oidc
                    .clients
                    .iter()
                    .flat_map(|c| c.orgs.iter().map(move |o| (c.client_id.as_str(), o))),
            );
        for (client, org) in named {
            if !known.contains(&org.as_str()) {
                tracing::warn!(client, org = %org, "a client names an organisation that does not exist (yet): nobody of it can sign in there");
            }
        }
    }
    let r = &config.radius;
    let prometheus = crate::telemetry::install()?;
    if config.http.tls || !config.radius.radsec_listen.is_empty() {
        crate::ops::watch_certificate(&config.tls.cert, now(), CERT_WARN_DAYS);
    }
    // rustls' process-wide provider (ring), for the shared store's TLS (rediss://).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let limits = Arc::new(match gateway.shared() {
        Some(redis) => crate::limits::Limits::shared(&config.rate_limit, redis.clone()),
        None => crate::limits::Limits::new(&config.rate_limit),
    });
    let policy = Arc::new(
        RadiusPolicy::new(gateway.clone(), r, limits.clone())
            .with_shared(gateway.shared().cloned()),
    );
    let stats = Arc::new(mfa_radius::Stats::new());
    let mut server = mfa_radius::ServerConfig::new(r.clients.clone());
    server.duplicate_window = r.duplicate_window;
    server.max_in_flight = r.max_in_flight;
    // At SIGTERM, held approvals may still be answered: they get their timeout and a little.
    server.shutdown_grace =
        std::time::Duration::from_secs(config.approval.hub.timeout_seconds.saturating_add(5));
    server.tls_idle_timeout = r.radsec_idle_timeout;
    let server = Arc::new(server);
    let stop = CancellationToken::new();
    let mut tasks = Fronts::new();
    // The audit trail to a SIEM, as it is written (off by default).
    if let Some(sink) = config.audit.siem.clone() {
        tokio::spawn(crate::siem::run(
            gateway.store().clone(),
            sink,
            config.audit.siem_position_file.clone(),
            stop.clone(),
        ));
    }
    listeners::radius(
        config, &gateway, &server, &policy, &stats, &stop, &mut tasks,
    )
    .await?;
    let health = listeners::admin(config, &gateway, &prometheus, &stats, &stop, &mut tasks).await?;
    let sessions = Arc::new(match gateway.shared() {
        Some(redis) => crate::web::session::Sessions::with_backend(
            Arc::new(crate::shared::sessions::RedisSessions::new(
                redis.clone(),
                1800,
            )),
            1800,
            crate::web::session::MAX_SESSIONS_PER_SOURCE,
        ),
        None => crate::web::session::Sessions::new(1800),
    });
    let provider = listeners::http(
        config, &gateway, &sessions, &limits, &health, &stop, &mut tasks,
    )
    .await?;
    jobs::start(
        jobs::table(&gateway),
        jobs::Context {
            gateway: gateway.clone(),
            policy: policy.clone(),
            server: server.clone(),
            provider,
            limits: limits.clone(),
            sessions,
            prometheus: prometheus.clone(),
            config_path: config_path.to_path_buf(),
        },
        &stop,
        &mut tasks,
    )?;
    println!("mfa-gateway ready");
    tracing::info!("mfa-gateway ready; stop with ctrl-c");
    tokio::select! {
        () = shutdown_signal() => {},
        Some(done) = tasks.join_next() => {
            stop.cancel();
            done.context("a front stopped")?.context("a front failed")?;
        }
    }
    // Drain: /readyz turns unready (load balancers stop sending), no new request is taken,
    // requests under way (held approvals too) finish within their bound, then we exit.
    tracing::info!("shutting down: draining");
    println!("draining");
    gateway.start_draining();
    stop.cancel();
    let drained = async { while tasks.join_next().await.is_some() {} };
    let bound = std::time::Duration::from_secs(config.approval.hub.timeout_seconds + 15);
    if tokio::time::timeout(bound, drained).await.is_err() {
        tracing::warn!("drain took too long; stopping anyway");
    }
    // Sign the audit chain's head on the way out, so truncation after a restart shows.
    if let Err(e) =
        crate::audit_chain::checkpoint_now(gateway.store().as_ref(), gateway.master_key(), now())
            .await
    {
        tracing::error!(error = %e, "audit checkpoint at shutdown failed");
    }
    Ok(())
}
