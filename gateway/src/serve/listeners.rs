//! The fronts: RADIUS (UDP, accounting, RadSec), the admin listener (/metrics, /healthz,
//! /readyz) and HTTPS (OpenID Provider, portal, admin pages). Each binds its addresses, prints
//! where it listens (one line each) and adds its serving task to `tasks`.

use super::Fronts;
use crate::config::Config;
use crate::radius_front::RadiusPolicy;
use crate::service::Gateway;
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// RADIUS over UDP (`radius.listen`), accounting (`radius.accounting_listen`) with the
/// Disconnect-Request follower, and RadSec (`radius.radsec_listen`).
pub(super) async fn radius(
    config: &Config,
    gateway: &Gateway,
    server: &Arc<mfa_radius::ServerConfig>,
    policy: &Arc<RadiusPolicy>,
    stats: &Arc<mfa_radius::Stats>,
    stop: &CancellationToken,
    tasks: &mut Fronts,
) -> anyhow::Result<()> {
    let r = &config.radius;
    for addr in &r.listen {
        let socket = tokio::net::UdpSocket::bind(addr)
            .await
            .with_context(|| format!("radius.listen: cannot bind UDP {addr}"))?;
        println!("listening radius udp {}", socket.local_addr()?);
        let (server, policy, stats, stop) =
            (server.clone(), policy.clone(), stats.clone(), stop.clone());
        tasks.spawn(async move {
            let policy: Arc<dyn mfa_radius::AccessPolicy> = policy;
            mfa_radius::serve_udp(socket, server, policy, stats, stop.cancelled_owned()).await
        });
    }
    // RADIUS Accounting (RFC 2866), and Disconnect-Requests when a person is blocked.
    for addr in &r.accounting_listen {
        let socket = tokio::net::UdpSocket::bind(addr)
            .await
            .with_context(|| format!("radius.accounting_listen: cannot bind UDP {addr}"))?;
        println!("listening radius accounting {}", socket.local_addr()?);
        let (server, policy, stats, stop) =
            (server.clone(), policy.clone(), stats.clone(), stop.clone());
        tasks.spawn(async move {
            let policy: Arc<dyn mfa_radius::AccessPolicy> = policy;
            mfa_radius::serve_udp_accounting(socket, server, policy, stats, stop.cancelled_owned())
                .await
        });
    }
    tokio::spawn(crate::disconnect::run(
        gateway.store().clone(),
        r.field.clone(),
        stop.clone(),
    ));
    if !r.radsec_listen.is_empty() {
        let read =
            |p: &Path| std::fs::read(p).with_context(|| format!("tls: reading {}", p.display()));
        let tls = mfa_radius::tls_server_config(
            &read(&config.tls.cert)?,
            &read(&config.tls.key)?,
            &read(&config.tls.client_ca)?,
        )
        .context("tls: building the RadSec TLS config")?;
        let tls = Arc::new(tls);
        for addr in &r.radsec_listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("radius.radsec_listen: cannot bind TCP {addr}"))?;
            println!("listening radius radsec {}", listener.local_addr()?);
            let (tls, server, policy, stats, stop) = (
                tls.clone(),
                server.clone(),
                policy.clone(),
                stats.clone(),
                stop.clone(),
            );
            tasks.spawn(async move {
                let policy: Arc<dyn mfa_radius::AccessPolicy> = policy;
                mfa_radius::serve_tls(listener, tls, server, policy, stats, stop.cancelled_owned())
                    .await
            });
        }
    }
    Ok(())
}

/// The admin listeners (`admin.listen`); returns the health routes, which HTTPS serves too.
pub(super) async fn admin(
    config: &Config,
    gateway: &Gateway,
    prometheus: &metrics_exporter_prometheus::PrometheusHandle,
    stats: &Arc<mfa_radius::Stats>,
    stop: &CancellationToken,
    tasks: &mut Fronts,
) -> anyhow::Result<axum::Router> {
    let admin_state = crate::telemetry::AdminState {
        prometheus: prometheus.clone(),
        radius: stats.clone(),
        gateway: gateway.clone(),
    };
    let admin = crate::telemetry::router(admin_state.clone());
    let health = crate::telemetry::health_router(admin_state);
    for addr in &config.admin_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("admin.listen: cannot bind TCP {addr}"))?;
        println!("listening admin http {}", listener.local_addr()?);
        let (app, stop) = (admin.clone(), stop.clone());
        tasks.spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        });
    }
    Ok(health)
}

/// HTTPS (`http.listen`): the OpenID Provider, the portal and the admin pages, with
/// back-channel logout; returns the provider (None when `http.listen` is empty).
pub(super) async fn http(
    config: &Config,
    gateway: &Gateway,
    sessions: &Arc<crate::web::session::Sessions>,
    limits: &Arc<crate::limits::Limits>,
    health: &axum::Router,
    stop: &CancellationToken,
    tasks: &mut Fronts,
) -> anyhow::Result<Option<Arc<mfa_oidc::Provider>>> {
    let mut provider = None;
    if !config.http.listen.is_empty() {
        let h = &config.http;
        let mut bound = Vec::new();
        for addr in &h.listen {
            let tcp = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("http.listen: cannot bind TCP {addr}"))?;
            bound.push(tcp);
        }
        let scheme = if h.tls { "https" } else { "http" };
        let issuer = match &h.public_url {
            Some(u) => u.clone(),
            None => format!("{scheme}://{}", bound[0].local_addr()?),
        };
        gateway.set_public_url(&issuer);
        let p = crate::oidc_backend::provider(
            config,
            &issuer,
            gateway.clone(),
            gateway.master_key().clone(),
            sessions.clone(),
        )
        .await
        .context("starting the OpenID Provider")?;
        provider = Some(p.clone());
        // Back-channel logout when single sign-on sessions end, and their ending when people
        // are blocked, disabled or removed by any path (the audit trail is followed).
        match crate::backchannel::Backchannel::new(&p) {
            Ok(bc) => gateway.set_backchannel(bc),
            Err(e) => tracing::error!(error = %e, "back-channel logout is off: no HTTP client"),
        }
        tokio::spawn(crate::backchannel::follow(gateway.clone(), stop.clone()));
        let state = crate::web::WebState {
            gateway: gateway.clone(),
            provider: p,
            sessions: sessions.clone(),
            limits: limits.clone(),
            tls: h.tls,
            https: crate::web::reached_over_https(h.tls, &issuer),
            pre: crate::web::session::PreLogin::new(*gateway.master_key().derive("pre-login")),
            trusted_proxies: Arc::new(h.trusted_proxies.clone()),
            streams: crate::web::tls::Slots::new(
                crate::web::MAX_STREAMS_PER_SOURCE,
                crate::web::MAX_STREAMS,
            ),
        };
        let app = crate::web::router(state, health.clone())
            .into_make_service_with_connect_info::<crate::web::tls::PeerAddr>();
        let tls = if h.tls {
            Some(Arc::new(
                crate::web::tls::server_config(&config.tls.cert, &config.tls.key)
                    .context("tls: the HTTPS certificate")?,
            ))
        } else {
            None
        };
        for tcp in bound {
            let local = tcp.local_addr()?;
            println!("listening http {scheme}://{local}");
            let (app, stop) = (app.clone(), stop.clone());
            match &tls {
                Some(tls) => {
                    let listener =
                        crate::web::tls::TlsListener::new(tcp, tls.clone(), stop.clone())?;
                    tasks.spawn(async move {
                        axum::serve(listener, app)
                            .with_graceful_shutdown(stop.cancelled_owned())
                            .await
                    });
                }
                None => {
                    tasks.spawn(async move {
                        axum::serve(tcp, app)
                            .with_graceful_shutdown(stop.cancelled_owned())
                            .await
                    });
                }
            }
        }
        println!("oidc issuer {issuer}");
    }
    Ok(provider)
}
