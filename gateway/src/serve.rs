//! `serve` and `demo`: load everything, then run the fronts until ctrl-c or SIGTERM.

use crate::cli::{init_with, open_gateway, print_qr};
use crate::config::Config;
use crate::model::{DeviceKind, DeviceState, NewPerson, Role, now};
use crate::otp::OtpParams;
use crate::radius_front::RadiusPolicy;
use crate::secret::{SecretString, random_bytes};
use crate::service::Gateway;
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

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

/// Read the configuration again (SIGHUP) and take its RADIUS clients (`[[radius.clients]]`)
/// and OIDC clients (`[[oidc.clients]]`); everything else needs a restart. A file that does
/// not load, or a client that needs a signing algorithm not in use, is refused and the old
/// clients are kept; both outcomes are audited (`config_reloaded`, success or failure).
async fn reload(
    path: &Path,
    server: &mfa_radius::ServerConfig,
    policy: &RadiusPolicy,
    provider: Option<&mfa_oidc::Provider>,
    gateway: &Gateway,
) {
    // A refusal: the whole message for the log (as at start-up), and for the audit trail
    // only where the problem is (a message may quote a value from the file).
    let outcome = match Config::load(path) {
        Err(e) => {
            let at = match &e {
                crate::config::ConfigError::Invalid { key, .. } => format!("key {key}"),
                crate::config::ConfigError::Parse { message, .. } => message
                    .split_once(':')
                    .map_or_else(|| "the file".to_owned(), |(line, _)| line.to_owned()),
                crate::config::ConfigError::Read { .. } => "the file cannot be read".to_owned(),
            };
            Err((e.to_string(), at))
        }
        Ok(new) => {
            let registrations = new
                .oidc
                .clients
                .iter()
                .map(crate::oidc_backend::registration)
                .collect();
            // The OIDC clients first: they may be refused, and then nothing changed.
            match provider.map(|p| p.replace_clients(registrations)) {
                Some(Err(e)) => Err((format!("oidc.clients: {e}"), "key oidc.clients".to_owned())),
                _ => {
                    server.table.replace(&new.radius.clients);
                    policy.reload(&new.radius);
                    gateway.set_client_orgs(&new);
                    Ok((new.radius.clients.len(), new.oidc.clients.len()))
                }
            }
        }
    };
    match outcome {
        Ok((radius, oidc)) => {
            tracing::info!(
                radius_clients = radius,
                oidc_clients = oidc,
                "configuration reloaded"
            );
            println!("config reloaded");
            if let Err(e) = audit_config_loaded(gateway, path, None).await {
                tracing::error!(error = %e, "auditing the reload failed");
            }
        }
        Err((problem, at)) => {
            tracing::error!(%problem, "configuration reload refused; the old clients stay");
            println!("config reload refused: {problem}");
            if let Err(e) = audit_config_loaded(gateway, path, Some(&at)).await {
                tracing::error!(error = %e, "auditing the refused reload failed");
            }
        }
    }
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
    let mut tasks = tokio::task::JoinSet::new();
    // The audit trail to a SIEM, as it is written (off by default).
    if let Some(sink) = config.audit.siem.clone() {
        tokio::spawn(crate::siem::run(
            gateway.store().clone(),
            sink,
            config.audit.siem_position_file.clone(),
            stop.clone(),
        ));
    }
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
    // SIGHUP: the RADIUS and OIDC clients are read again from the file.
    #[cfg(unix)]
    {
        let (server, policy, provider, gw, path, stop) = (
            server.clone(),
            policy.clone(),
            provider.clone(),
            gateway.clone(),
            config_path.to_path_buf(),
            stop.clone(),
        );
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("listening for SIGHUP")?;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = hup.recv() => {}
                    () = stop.cancelled() => return,
                }
                reload(&path, &server, &policy, provider.as_deref(), &gw).await;
            }
        });
    }
    {
        let (policy, stop, prometheus, limits, gw) = (
            policy.clone(),
            stop.clone(),
            prometheus.clone(),
            limits.clone(),
            gateway.clone(),
        );
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
            let mut ticks: u64 = 0;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        policy.housekeeping(now());
                        gw.approvals().housekeeping(now());
                        limits.housekeeping();
                        sessions.sweep(now()).await;
                        crate::ops::sample_pool(gw.store().as_ref()).await;
                        ticks += 1;
                        // Key rotation is checked every 10 minutes.
                        if ticks % 60 == 1
                            && let Some(p) = &provider
                            && let Err(e) = p.rotate_keys().await
                        {
                            tracing::error!(error = %e, "signing key rotation failed");
                        }
                        // The audit chain's head is signed every hour.
                        if ticks.is_multiple_of(360)
                            && let Err(e) = crate::audit_chain::checkpoint_now(
                                gw.store().as_ref(),
                                gw.master_key(),
                                now(),
                            )
                            .await
                        {
                            tracing::error!(error = %e, "audit checkpoint failed");
                        }
                        // Leavers whose end date has come are removed (every minute).
                        if ticks % 6 == 1
                            && let Err(e) = gw.apply_due_removals(now()).await
                        {
                            tracing::error!(error = %e, "applying due leavers failed");
                        }
                        // Retention: once a day (and soon after start).
                        if ticks % 8640 == 3 {
                            // Before the audit purge: ending events are read from the trail.
                            match gw.store().purge_remembered(now()).await {
                                Ok(0) => {}
                                Ok(n) => tracing::info!(ended = n, "ended remembered browsers deleted"),
                                Err(e) => tracing::error!(error = %e, "deleting ended remembered browsers failed"),
                            }
                            match gw.purge("system", now()).await {
                                Ok(r) if r.total() > 0 || r.erased_people > 0 => tracing::info!(
                                    redacted = r.total(),
                                    erased_people = r.erased_people,
                                    "audit retention purge"
                                ),
                                Ok(_) => {}
                                Err(e) => tracing::error!(error = %e, "audit retention purge failed"),
                            }
                            match gw.end_expired_sso(now()).await {
                                Ok(0) => {}
                                Ok(n) => tracing::info!(ended = n, "expired single sign-on sessions deleted"),
                                Err(e) => tracing::error!(error = %e, "deleting expired single sign-on sessions failed"),
                            }
                            match gw.erase_offboarded(now()).await {
                                Ok(0) => {}
                                Ok(n) => tracing::info!(erased = n, "offboarded organisations' people erased"),
                                Err(e) => tracing::error!(error = %e, "erasing offboarded organisations failed"),
                            }
                        }
                        prometheus.run_upkeep();
                    }
                    () = stop.cancelled() => return Ok(()),
                }
            }
        });
    }
    // Directories with a sync interval: their people kept in step by this instance.
    for dir in gateway.directories().all() {
        let Some(every) = dir.settings().sync_interval else {
            continue;
        };
        let (dir, gw, stop) = (dir.clone(), gateway.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = stop.cancelled() => return,
                }
                let Some(base) = gw.public_url().map(str::to_owned) else {
                    tracing::error!(directory = %dir.name(), "directory sync: no public URL for activation links (http.public_url)");
                    continue;
                };
                match gw.directory_sync(&dir, false, false, &base, now()).await {
                    Ok(plan) => tracing::info!(
                        directory = %dir.name(),
                        listed = plan.listed,
                        made = plan.create.len(),
                        updated = plan.update.len(),
                        retired = plan.retire.len(),
                        not_changed = plan.failed.len(),
                        "directory sync"
                    ),
                    Err(e) => {
                        tracing::error!(directory = %dir.name(), error = %e, "directory sync failed; nothing was changed")
                    }
                }
            }
        });
    }
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

const DEMO_ORG: &str = "Demo Practice";
const DEMO_USER: &str = "demo";
const DEMO_DEVICE: &str = "demo phone";
const DEMO_CLIENT: &str = "demo-portal";

/// Set up (or refresh) the demo in `dir`, print how to log in, then serve.
pub async fn demo(dir: &Path, no_serve: bool) -> anyhow::Result<()> {
    let config_path = dir.join("gateway.toml");
    let secret = data_encoding::BASE32_NOPAD
        .encode(&random_bytes(15)?)
        .to_lowercase();
    let client_secret = data_encoding::BASE64URL_NOPAD.encode(&random_bytes(32)?);
    let client_hash = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(client_secret.as_bytes()))
    };
    let demo_config = crate::cli::EXAMPLE_CONFIG
        .replace(
            r#"listen = ["0.0.0.0:1812"]"#,
            r#"listen = ["127.0.0.1:1812", "[::1]:1812"]"#,
        )
        .replace(
            "Empty: off.\nlisten = []\n# Serve HTTPS",
            "Empty: off.\nlisten = [\"127.0.0.1:8443\"]\n# Serve HTTPS",
        )
        .replace(
            "public_url = \"\"",
            "public_url = \"https://localhost:8443\"",
        )
        .replace(
            "turns it on at 127.0.0.1:9812).\nlisten = []",
            "turns it on at 127.0.0.1:9812).\nlisten = [\"127.0.0.1:9812\"]",
        )
        + &format!(
            "\n# Added by `mfa-gateway demo`: RADIUS clients on this machine.\n\
             [[radius.clients]]\nname = \"localhost\"\naddress = \"127.0.0.1/32\"\n\
             secret = \"{secret}\"\nmode = \"append\"\n\n\
             [[radius.clients]]\nname = \"localhost-v6\"\naddress = \"::1/128\"\n\
             secret = \"{secret}\"\nmode = \"append\"\n\n\
             # Added by `mfa-gateway demo`: an OIDC client (its secret is in demo-client-secret).\n\
             [[oidc.clients]]\nclient_id = \"{DEMO_CLIENT}\"\nname = \"Demo portal\"\n\
             secret_sha256 = \"{client_hash}\"\n\
             redirect_uris = [\"http://127.0.0.1:9000/callback\"]\nflows = [\"code\"]\n"
        );
    if !config_path.exists() {
        std::fs::create_dir_all(dir)?;
        let _ = std::fs::remove_file(dir.join("demo-client-secret"));
        crate::crypto::write_private(&dir.join("demo-client-secret"), client_secret.as_bytes())?;
    }
    init_with(&config_path, &demo_config).await?;
    let (config, gw) = open_gateway(&config_path).await?;
    let t = now();
    let org = match gw.store().org_by_name(DEMO_ORG).await? {
        Some(o) => o,
        None => gw.create_org(DEMO_ORG, "demo", t).await?,
    };
    // A fresh random password on every run: it is printed here and stored hashed only.
    let password = SecretString::new(
        data_encoding::BASE32_NOPAD
            .encode(&random_bytes(10)?)
            .to_lowercase(),
    );
    let person = match gw.store().person_by_username(DEMO_USER).await? {
        Some(p) => {
            gw.set_password(DEMO_USER, password.clone(), "demo", t)
                .await?;
            p
        }
        None => {
            let new = NewPerson {
                username: DEMO_USER.into(),
                full_name: "Dana Demo".into(),
                email: Some("dana.demo@example.org".into()),
                employee_number: None,
                org_id: org.id,
                // Every role, so the demo shows every page (portal, /admin, /audit).
                roles: vec![Role::Person, Role::OrgAdmin, Role::Operator, Role::Auditor],
            };
            gw.create_person(new, Some(password.clone()), "demo", t)
                .await?
        }
    };
    let existing = gw
        .store()
        .devices_of(person.id)
        .await?
        .into_iter()
        .find(|d| {
            d.kind == DeviceKind::PhoneTotp
                && d.state == DeviceState::Active
                && d.label == DEMO_DEVICE
        });
    let uri = match existing {
        Some(device) => {
            let seed = gw.open_secret(&device)?;
            gw.device_uri(&person, &device, &seed)
        }
        None => {
            gw.add_totp(DEMO_USER, DEMO_DEVICE, OtpParams::totp_default(), "demo", t)
                .await?
                .uri
        }
    };
    let cfg = config_path.display();
    println!();
    println!(
        "Demo organisation \"{}\", person \"{DEMO_USER}\" (Dana Demo).",
        org.name
    );
    println!("Scan this with an authenticator app (or use the URI below):");
    print_qr(uri.expose())?;
    println!("{}", uri.expose());
    println!();
    println!("password: {}", password.expose());
    println!();
    println!("Try a login (enter the password, then the app's current code):");
    println!("  cargo run -p mfa-gateway -- --config {cfg} login {DEMO_USER} --code <code>");
    if let Some(client) = config.radius.clients.first() {
        let secret = String::from_utf8_lossy(client.secret.expose());
        println!("Or over RADIUS (append mode: the code follows the password):");
        println!(
            "  echo 'User-Name = \"{DEMO_USER}\", User-Password = \"{}<code>\", Message-Authenticator = 0x00' | radclient -x 127.0.0.1:1812 auth {secret}",
            password.expose()
        );
    }
    if let Some(url) = &config.http.public_url {
        println!("OpenID Connect: discovery at {url}/.well-known/openid-configuration");
        println!(
            "  client_id {DEMO_CLIENT}, secret in {}, redirect_uri http://127.0.0.1:9000/callback",
            dir.join("demo-client-secret").display()
        );
        println!(
            "  try it: {url}/oauth2/authorize?response_type=code&client_id={DEMO_CLIENT}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcallback&scope=openid%20profile%20email&state=xyz&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        );
        println!(
            "  (the dev certificate's CA is {}/certs/ca.pem)",
            dir.display()
        );
        println!("Metrics (admin listener only): curl http://127.0.0.1:9812/metrics");
        println!(
            "Pages (sign in as {DEMO_USER}, who holds every role): {url}/portal (devices, security keys, \
             recovery codes), {url}/portal/approvals (sign-in requests), {url}/admin (organisations, \
             requests, token stock), {url}/audit (the audit trail)"
        );
    }
    println!("See what was recorded:");
    println!("  cargo run -p mfa-gateway -- --config {cfg} audit list");
    println!();
    if no_serve {
        return Ok(());
    }
    init_tracing(config.log_json, &config.log_level);
    audit_config_loaded(&gw, &config_path, None).await?;
    run(&config, gw, &config_path).await
}
