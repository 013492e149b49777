//! The `mfa-gateway` command line: parse, then call the gateway's operations.

use crate::config::Config;
use crate::crypto::MasterKey;
use crate::model::now;
use crate::secret::SecretString;
use crate::service::{Actor, Gateway};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

mod audit;
mod device;
mod directory;
mod init;
mod lifecycle;
mod login;
mod oidc;
mod ops;
mod org;
mod person;
mod tenancy;
mod token;
pub use audit::{AuditCmd, AuditFilterArgs, AuditFormat};
pub use device::DeviceCmd;
pub use init::{EXAMPLE_CONFIG, init, init_with};
pub use lifecycle::{ApiTokenCmd, RequestCmd};
pub use oidc::OidcCmd;
pub use ops::{CertCmd, KeyCmd};
pub use org::OrgCmd;
pub use person::{PersonAdd, PersonCmd};
pub use token::TokenCmd;

const ACTOR: &str = "cli";

#[derive(Debug, Parser)]
#[command(
    name = "mfa-gateway",
    version,
    about = "MFA authentication gateway: RADIUS and OpenID Connect logins with a password and a second factor"
)]
pub struct Cli {
    /// The config file.
    #[arg(
        long,
        short,
        global = true,
        env = "MFA_GATEWAY_CONFIG",
        default_value = "gateway.toml"
    )]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a config file, an encryption key, the database and dev certificates (in the config file's folder).
    Init,
    /// Run the gateway.
    Serve,
    /// Set up a demo organisation and person in a folder, print the enrolment QR code, then serve.
    Demo {
        /// Folder for the demo's config, key, database and certificates.
        #[arg(long, default_value = "demo")]
        dir: PathBuf,
        /// Set everything up and print it, but do not serve.
        #[arg(long)]
        no_serve: bool,
    },
    /// Customer organisations.
    #[command(subcommand)]
    Org(OrgCmd),
    /// Named accounts.
    #[command(subcommand)]
    Person(PersonCmd),
    /// Phones and tokens linked to people.
    #[command(subcommand)]
    Device(DeviceCmd),
    /// Hardware token stock.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Try a login through the engine (channel cli); the password is read from stdin or prompted.
    Login {
        username: String,
        /// The one-time code (omit to be asked for the password only: shows whether a code is needed).
        #[arg(long)]
        code: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Audit events.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// OpenID Connect relying parties.
    #[command(subcommand)]
    Oidc(OidcCmd),
    /// Life-cycle requests of customer organisations (the operator's queue).
    #[command(subcommand)]
    Request(RequestCmd),
    /// Organisations' API tokens for the HR-system API.
    #[command(subcommand)]
    ApiToken(ApiTokenCmd),
    /// Copy the database (SQLite) online into a new file, consistent with the audit chain:
    /// a checkpoint is signed first and the copy is checked against it.
    Backup {
        /// The backup file to make (never overwritten).
        dest: PathBuf,
    },
    /// Put a backup in place of the configured database (SQLite; the gateway stopped):
    /// checked first (integrity, audit chain, master key).
    Restore {
        /// The backup file.
        src: PathBuf,
        /// Replace an existing database (it is kept as `<file>.<time>.replaced`).
        #[arg(long)]
        force: bool,
    },
    /// The master key: rotate it (reseal every secret), or check which key opens them.
    #[command(subcommand)]
    Key(KeyCmd),
    /// TLS certificates: expiry.
    #[command(subcommand)]
    Cert(CertCmd),
    /// Directories (LDAP / Active Directory): keep people in step, check they answer.
    #[command(subcommand)]
    Directory(directory::DirectoryCmd),
}

/// Load config and key, open the store: what every command but `init` needs.
pub async fn open_gateway(config_path: &Path) -> anyhow::Result<(Config, Gateway)> {
    let config = Config::load(config_path)?;
    let key = MasterKey::load(&config.key_file, &config.key_env)?;
    let store = crate::store::open(&config.store_url, config.store_max_connections)
        .await
        .with_context(|| format!("opening the store {}", redact_url(&config.store_url)))?;
    let gateway = Gateway::new(&config, store, key)?;
    Ok((config, gateway))
}

/// A store URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}

fn read_password(from_stdin: bool, prompt: &str) -> anyhow::Result<SecretString> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let pw = SecretString::new(line.trim_end_matches(['\r', '\n']));
        zeroize::Zeroize::zeroize(&mut line);
        return Ok(pw);
    }
    if std::io::stdin().is_terminal() {
        return Ok(SecretString::new(rpassword::prompt_password(prompt)?));
    }
    bail!("no password given: pass --password-stdin and pipe it in, or run in a terminal")
}

/// Print a QR code of `text` in the terminal.
pub fn print_qr(text: &str) -> anyhow::Result<()> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::new(text.as_bytes())?;
    let image = code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    println!("{image}");
    Ok(())
}

fn fmt_time(t: Option<i64>) -> String {
    t.map_or_else(|| "-".to_owned(), |t| format!("{t}"))
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init => {
            init(&cli.config).await?;
            Ok(())
        }
        Command::Serve => crate::serve::serve(&cli.config).await,
        Command::Demo { dir, no_serve } => crate::serve::demo(&dir, no_serve).await,
        Command::Org(cmd) => org::org(&cli.config, cmd).await,
        Command::Person(cmd) => person::person(&cli.config, cmd).await,
        Command::Device(cmd) => device::device(&cli.config, cmd).await,
        Command::Token(cmd) => token::token(&cli.config, cmd).await,
        Command::Login {
            username,
            code,
            password_stdin,
        } => login::login(&cli.config, &username, code, password_stdin).await,
        Command::Audit(cmd) => audit::audit(&cli.config, cmd).await,
        Command::Oidc(cmd) => oidc::oidc(&cli.config, cmd),
        Command::Request(cmd) => lifecycle::request(&cli.config, cmd).await,
        Command::ApiToken(cmd) => lifecycle::api_token(&cli.config, cmd).await,
        Command::Backup { dest } => ops::backup(&cli.config, &dest).await,
        Command::Restore { src, force } => ops::restore(&cli.config, &src, force).await,
        Command::Key(cmd) => ops::key(&cli.config, cmd).await,
        Command::Cert(cmd) => ops::cert(&cli.config, cmd),
        Command::Directory(cmd) => directory::directory(&cli.config, cmd).await,
    }
}

/// Mail `person` what an operator changed (if they have an address; audited), in their
/// language: the catalogue's text `what` with `args`.
async fn tell(
    gw: &Gateway,
    person: &crate::model::Person,
    what: &str,
    args: &[(&'static str, crate::i18n::Arg)],
) {
    let t = now();
    let lang = gw.lang_of(person).await;
    let what = crate::i18n::t_args(lang, what, args);
    let context = crate::audit::AuditEvent::admin(t, crate::audit::EventKind::MailSent, ACTOR);
    gw.notify_wait(person, gw.operator_notice(&what, lang, t), &context)
        .await;
}
