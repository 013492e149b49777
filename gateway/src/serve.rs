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
    run(&config, gateway).await
}

/// Start the fronts, print where they listen (one line each), and run until a signal.
async fn run(config: &Config, gateway: Gateway) -> anyhow::Result<()> {
    gateway
        .store()
        .ping()
        .await
        .context("store not reachable")?;
    let r = &config.radius;
    let prometheus = crate::telemetry::install()?;
    let limits = Arc::new(crate::limits::Limits::new(&config.rate_limit));
    let policy = Arc::new(RadiusPolicy::new(gateway.clone(), r, limits.clone()));
    let stats = Arc::new(mfa_radius::Stats::new());
    let mut server = mfa_radius::ServerConfig::new(r.clients.clone());
    server.duplicate_window = r.duplicate_window;
    server.max_in_flight = r.max_in_flight;
    let server = Arc::new(server);
    let stop = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
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
    let admin = crate::telemetry::router(crate::telemetry::AdminState {
        prometheus: prometheus.clone(),
        radius: stats.clone(),
        gateway,
    });
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
    {
        let (policy, stop, prometheus, limits) = (
            policy.clone(),
            stop.clone(),
            prometheus.clone(),
            limits.clone(),
        );
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        policy.housekeeping(now());
                        limits.housekeeping();
                        prometheus.run_upkeep();
                    }
                    () = stop.cancelled() => return Ok(()),
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
    tracing::info!("shutting down");
    stop.cancel();
    while tasks.join_next().await.is_some() {}
    Ok(())
}

const DEMO_ORG: &str = "Demo Practice";
const DEMO_USER: &str = "demo";
const DEMO_DEVICE: &str = "demo phone";

/// Set up (or refresh) the demo in `dir`, print how to log in, then serve.
pub async fn demo(dir: &Path, no_serve: bool) -> anyhow::Result<()> {
    let config_path = dir.join("gateway.toml");
    let secret = data_encoding::BASE32_NOPAD
        .encode(&random_bytes(15)?)
        .to_lowercase();
    let demo_config = crate::cli::EXAMPLE_CONFIG
        .replace(
            r#"listen = ["0.0.0.0:1812"]"#,
            r#"listen = ["127.0.0.1:1812", "[::1]:1812"]"#,
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
             secret = \"{secret}\"\nmode = \"append\"\n"
        );
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
                roles: vec![Role::Person],
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
    if let Some(addr) = config.admin_listen.first() {
        println!("Metrics: curl http://{addr}/metrics");
    }
    println!("See what was recorded:");
    println!("  cargo run -p mfa-gateway -- --config {cfg} audit list");
    println!();
    if no_serve {
        return Ok(());
    }
    init_tracing(config.log_json, &config.log_level);
    run(&config, gw).await
}
