//! `serve` and `demo`: load everything, then run the fronts until ctrl-c or SIGTERM.

use crate::cli::{init, open_gateway, print_qr};
use crate::model::{DeviceKind, DeviceState, NewPerson, Role, now};
use crate::otp::OtpParams;
use crate::secret::{SecretString, random_bytes};
use crate::service::Gateway;
use anyhow::Context;
use std::path::Path;

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
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
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
    run(gateway).await
}

async fn run(gateway: Gateway) -> anyhow::Result<()> {
    gateway.store().ping().await.context("store not reachable")?;
    tracing::info!("mfa-gateway ready; stop with ctrl-c");
    shutdown_signal().await;
    tracing::info!("shutting down");
    Ok(())
}

const DEMO_ORG: &str = "Demo Practice";
const DEMO_USER: &str = "demo";
const DEMO_DEVICE: &str = "demo phone";

/// Set up (or refresh) the demo in `dir`, print how to log in, then serve.
pub async fn demo(dir: &Path, no_serve: bool) -> anyhow::Result<()> {
    let config_path = dir.join("gateway.toml");
    init(&config_path).await?;
    let (config, gw) = open_gateway(&config_path).await?;
    let t = now();
    let org = match gw.store().org_by_name(DEMO_ORG).await? {
        Some(o) => o,
        None => gw.create_org(DEMO_ORG, "demo", t).await?,
    };
    // A fresh random password on every run: it is printed here and stored hashed only.
    let password = SecretString::new(data_encoding::BASE32_NOPAD.encode(&random_bytes(10)?).to_lowercase());
    let person = match gw.store().person_by_username(DEMO_USER).await? {
        Some(p) => {
            gw.set_password(DEMO_USER, password.clone(), "demo", t).await?;
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
            gw.create_person(new, Some(password.clone()), "demo", t).await?
        }
    };
    let existing = gw
        .store()
        .devices_of(person.id)
        .await?
        .into_iter()
        .find(|d| d.kind == DeviceKind::PhoneTotp && d.state == DeviceState::Active && d.label == DEMO_DEVICE);
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
    println!("Demo organisation \"{}\", person \"{DEMO_USER}\" (Dana Demo).", org.name);
    println!("Scan this with an authenticator app (or use the URI below):");
    print_qr(uri.expose())?;
    println!("{}", uri.expose());
    println!();
    println!("password: {}", password.expose());
    println!();
    println!("Try a login (enter the password, then the app's current code):");
    println!("  cargo run -p mfa-gateway -- --config {cfg} login {DEMO_USER} --code <code>");
    println!("See what was recorded:");
    println!("  cargo run -p mfa-gateway -- --config {cfg} audit list");
    println!();
    if no_serve {
        return Ok(());
    }
    init_tracing(config.log_json, &config.log_level);
    run(gw).await
}
