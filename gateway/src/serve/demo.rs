//! `demo`: set up (or refresh) a demo organisation, person, phone and clients, then serve.

use super::{audit_config_loaded, init_tracing, run};
use crate::audit::Channel;
use crate::cli::{init_with, open_gateway, print_qr};
use crate::model::{DeviceKind, DeviceState, NewPerson, Role, now};
use crate::otp::OtpParams;
use crate::secret::{SecretString, random_bytes};
use crate::service::Actor;
use std::path::Path;

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
    let demo = Actor::system("demo", Channel::Cli, "demo");
    let org = match gw.store().org_by_name(DEMO_ORG).await? {
        Some(o) => o,
        None => gw.create_org(DEMO_ORG, &demo, t).await?,
    };
    // A fresh random password on every run: it is printed here and stored hashed only.
    let password = SecretString::new(
        data_encoding::BASE32_NOPAD
            .encode(&random_bytes(10)?)
            .to_lowercase(),
    );
    let person = match gw.store().person_by_username(DEMO_USER).await? {
        Some(p) => {
            gw.set_password(DEMO_USER, password.clone(), &demo, t)
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
            gw.create_person(new, Some(password.clone()), &demo, t)
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
            gw.add_totp(DEMO_USER, DEMO_DEVICE, OtpParams::totp_default(), &demo, t)
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
