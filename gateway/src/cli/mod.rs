//! The `mfa-gateway` command line: parse, then call the gateway's operations.

use crate::config::Config;
use crate::crypto::MasterKey;
use crate::engine::{Credentials, Verdict};
use crate::model::{NewPerson, PersonState, Role, now};
use crate::otp::{OtpHash, OtpKind, OtpParams};
use crate::secret::SecretString;
use crate::service::{Gateway, cli_attempt};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

mod audit;
mod directory;
mod lifecycle;
mod ops;
mod tenancy;
pub use audit::{AuditCmd, AuditFilterArgs, AuditFormat};
pub use lifecycle::{ApiTokenCmd, RequestCmd};
pub use ops::{CertCmd, KeyCmd};

/// The example configuration, written by `init`.
pub const EXAMPLE_CONFIG: &str = include_str!("../../../config/gateway.toml");
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

#[derive(Debug, Subcommand)]
pub enum OidcCmd {
    /// List the clients registered in the config.
    Clients,
    /// Make a client secret's `secret_sha256` line: reads the secret from stdin, or makes a
    /// new random one and prints both.
    HashSecret {
        /// Read the secret from the first line of standard input instead of making one.
        #[arg(long)]
        stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCmd {
    /// Add an organisation.
    Add { name: String },
    /// List organisations.
    List,
    /// Everything held about an organisation (a customer leaving, or asking): every person,
    /// their devices without secrets, every request and audit event, as JSON and readable
    /// HTML, in a new folder.
    Export {
        org: String,
        /// The folder to make (must not exist, or be empty).
        #[arg(long, short)]
        output: std::path::PathBuf,
    },
    /// A customer leaves: every person removed through the leaver path now (devices
    /// unlinked, hardware tokens back to stock or marked lost), their identities erased after
    /// --after-days (the audit chain still verifies). Without --confirm: what would happen.
    Offboard {
        org: String,
        /// Days until the identities are erased (keyed pseudonyms); 0: at once.
        #[arg(long)]
        after_days: u32,
        /// Mark the organisation's hardware tokens lost instead of returned.
        #[arg(long)]
        tokens_lost: bool,
        /// The organisation's name again, to do it.
        #[arg(long)]
        confirm: Option<String>,
    },
    /// Show or set an organisation's policy: which second factors count, approvals, the end
    /// user's address ranges per RADIUS client, lockout threshold, language.
    Policy(tenancy::PolicyArgs),
    /// Erase the identities of offboarded organisations whose time has come (the gateway
    /// does this daily).
    EraseDue {
        /// Act as if it were this time (unix seconds, RFC 3339 or a date); default now.
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PersonCmd {
    /// Add a person (a named account for one real person).
    Add(PersonAdd),
    /// Import people from a CSV file (header row: name,email and optionally
    /// employee_number,username,start_date). Checked as a whole: on any error every bad line
    /// is named and nothing is written. Each person gets an activation link by e-mail.
    Import {
        file: PathBuf,
        /// Organisation name or id.
        #[arg(long)]
        org: String,
        /// Only check the file and show who would be made; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Where the activation page lives (default: http.public_url).
        #[arg(long)]
        base_url: Option<String>,
    },
    /// List people.
    List {
        /// Only this organisation (name or id).
        #[arg(long)]
        org: Option<String>,
    },
    /// Show one person with devices and lockout state.
    Show { username: String },
    /// Disable: no login until re-enabled by an operator.
    Disable { username: String },
    /// Remove: the account ends, devices are unlinked (tokens go back to stock).
    Remove { username: String },
    /// Set the password (read from stdin or prompted).
    SetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Clear failed logins, any lockout and every source's password throttle.
    Unlock { username: String },
    /// Block now: every channel refuses the person at once (reversible with unblock).
    Block { username: String },
    /// Lift a block.
    Unblock { username: String },
    /// Replace a person's roles (person, org_admin, operator, auditor, org_auditor); audited.
    Roles {
        username: String,
        /// The new roles, comma-separated (repeatable).
        #[arg(long, value_delimiter = ',', required = true)]
        set: Vec<String>,
    },
    /// Erase a removed person's identity now (GDPR right to erasure): their account and
    /// every event about them carry a keyed pseudonym instead; the events stay.
    Erase { username: String },
    /// Issue a temporary code for a lost device: valid for one login within the set time,
    /// printed once. A new one replaces an unused old one.
    TempCode {
        username: String,
        /// How long the code is valid, in minutes (at most 1440, 24 h).
        #[arg(long, default_value_t = 60)]
        valid_minutes: u32,
        /// Who issues it (the audit's actor).
        #[arg(long, default_value = ACTOR)]
        issued_by: String,
    },
}

#[derive(Debug, Args)]
pub struct PersonAdd {
    pub username: String,
    /// Organisation name or id.
    #[arg(long)]
    pub org: String,
    /// Full name.
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub employee_number: Option<String>,
    /// Roles: person, org_admin, operator, auditor, org_auditor (repeat or comma-separate).
    #[arg(long, value_delimiter = ',', default_value = "person")]
    pub role: Vec<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Create without a password (it is set later).
    #[arg(long, conflicts_with = "password_stdin")]
    pub no_password: bool,
}

#[derive(Debug, Subcommand)]
pub enum DeviceCmd {
    /// Link a new authenticator app (TOTP); prints the otpauth URI and a QR code.
    AddTotp {
        username: String,
        #[arg(long, default_value = "phone")]
        label: String,
        #[arg(long, default_value_t = 6)]
        digits: u8,
        #[arg(long, default_value_t = 30)]
        period: u32,
        /// sha1, sha256 or sha512 (most apps only do sha1).
        #[arg(long, default_value = "sha1")]
        hash: String,
    },
    /// List a person's devices.
    List { username: String },
    /// Unlink a device (a token goes back to stock).
    Remove { id: i64 },
    /// Resynchronise an HOTP token from two consecutive codes.
    Resync {
        id: i64,
        first: String,
        second: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Import hardware tokens from a PSKC file (RFC 6030): all or nothing.
    Import {
        file: PathBuf,
        /// Pre-shared key (hex) for encrypted files.
        #[arg(long, conflicts_with = "psk_file")]
        psk_hex: Option<String>,
        /// File holding the pre-shared key (hex).
        #[arg(long)]
        psk_file: Option<PathBuf>,
        /// Put the tokens in this organisation's stock.
        #[arg(long)]
        org: Option<String>,
    },
    /// List hardware tokens.
    List,
    /// Link a token from stock to a person.
    Assign {
        serial: String,
        username: String,
        #[arg(long, default_value = "")]
        label: String,
    },
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
        Command::Org(cmd) => org(&cli.config, cmd).await,
        Command::Person(cmd) => person(&cli.config, cmd).await,
        Command::Device(cmd) => device(&cli.config, cmd).await,
        Command::Token(cmd) => token(&cli.config, cmd).await,
        Command::Login {
            username,
            code,
            password_stdin,
        } => login(&cli.config, &username, code, password_stdin).await,
        Command::Audit(cmd) => audit::audit(&cli.config, cmd).await,
        Command::Oidc(cmd) => oidc(&cli.config, cmd),
        Command::Request(cmd) => lifecycle::request(&cli.config, cmd).await,
        Command::ApiToken(cmd) => lifecycle::api_token(&cli.config, cmd).await,
        Command::Backup { dest } => ops::backup(&cli.config, &dest).await,
        Command::Restore { src, force } => ops::restore(&cli.config, &src, force).await,
        Command::Key(cmd) => ops::key(&cli.config, cmd).await,
        Command::Cert(cmd) => ops::cert(&cli.config, cmd),
        Command::Directory(cmd) => directory::directory(&cli.config, cmd).await,
    }
}

/// Create what a gateway needs next to its config file; keeps what exists.
pub async fn init(config_path: &Path) -> anyhow::Result<Config> {
    init_with(config_path, EXAMPLE_CONFIG).await
}

/// `init`, writing `config_text` if there is no config file yet.
pub async fn init_with(config_path: &Path, config_text: &str) -> anyhow::Result<Config> {
    let dir = config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if config_path.exists() {
        println!("config      {} (kept)", config_path.display());
    } else {
        crate::crypto::write_private(config_path, config_text.as_bytes())
            .with_context(|| format!("writing {}", config_path.display()))?;
        println!("config      {}", config_path.display());
    }
    let config = Config::load(config_path)?;
    if config.key_file.exists() {
        println!("key         {} (kept)", config.key_file.display());
    } else {
        MasterKey::generate_file(&config.key_file)?;
        println!(
            "key         {} (new; back it up: without it no seed opens)",
            config.key_file.display()
        );
    }
    crate::store::open(&config.store_url, config.store_max_connections).await?;
    println!("database    {}", redact_url(&config.store_url));
    if config.tls.cert.exists() {
        println!("certificate {} (kept)", config.tls.cert.display());
    } else if let Some(certs_dir) = config.tls.cert.parent() {
        let made = crate::certs::generate_dev_certs(certs_dir)?;
        println!(
            "certificate {} (dev CA: {})",
            made.server_cert.display(),
            made.ca_cert.display()
        );
    }
    Ok(config)
}

async fn org(config: &Path, cmd: OrgCmd) -> anyhow::Result<()> {
    let (_, gw) = open_gateway(config).await?;
    match cmd {
        OrgCmd::Add { name } => {
            let org = gw.create_org(&name, ACTOR, now()).await?;
            println!("organisation {} added (id {})", org.name, org.id);
        }
        OrgCmd::List => {
            // The login suffix qualifies a username taken in several organisations
            // (`ann@praktijk-zuid`).
            println!("{:>4}  name (login suffix)", "id");
            for o in gw.store().orgs().await? {
                println!(
                    "{:>4}  {} (@{})",
                    o.id,
                    o.name,
                    crate::store::org_slug(&o.name)
                );
            }
        }
        OrgCmd::Export { org, output } => tenancy::export(&gw, &org, &output).await?,
        OrgCmd::Offboard {
            org,
            after_days,
            tokens_lost,
            confirm,
        } => tenancy::offboard(&gw, &org, after_days, tokens_lost, confirm).await?,
        OrgCmd::EraseDue { at } => tenancy::erase_due(&gw, at).await?,
        OrgCmd::Policy(a) => tenancy::policy(&gw, a).await?,
    }
    Ok(())
}

async fn person(config: &Path, cmd: PersonCmd) -> anyhow::Result<()> {
    let (cfg, gw) = open_gateway(config).await?;
    match cmd {
        PersonCmd::Add(a) => {
            let org = gw.org(&a.org).await?;
            let mut roles = Vec::new();
            for r in &a.role {
                roles.push(
                    Role::parse(r)
                        .with_context(|| format!("--role {r:?}: not one of {}", Role::names()))?,
                );
            }
            let password = if a.no_password {
                None
            } else {
                Some(read_password(a.password_stdin, "Password: ")?)
            };
            let new = NewPerson {
                username: a.username,
                full_name: a.name,
                email: a.email,
                employee_number: a.employee_number,
                org_id: org.id,
                roles,
            };
            let p = gw.create_person(new, password, ACTOR, now()).await?;
            println!("person {} added (id {}) in {}", p.username, p.id, org.name);
            // Usernames are unique per organisation: a name now taken twice needs its
            // organisation (or a client's default_org) to log in.
            let named = gw.store().people_named(&p.username).await?;
            if named.len() > 1 {
                let others: Vec<String> = named
                    .iter()
                    .filter(|(o, _)| o.id != p.id)
                    .map(|(_, org)| org.clone())
                    .collect();
                println!(
                    "note: {:?} is also a username in {}: log in as {}@{} (or through a client \
                     whose default_org is {:?}); a bare {:?} now names nobody",
                    p.username,
                    others.join(", "),
                    p.username,
                    crate::store::org_slug(&org.name),
                    org.name,
                    p.username
                );
            }
        }
        PersonCmd::Import {
            file,
            org,
            dry_run,
            base_url,
        } => return lifecycle::import(&cfg, &gw, &file, &org, dry_run, base_url).await,
        PersonCmd::List { org } => {
            let org = match org {
                Some(o) => Some(gw.org(&o).await?.id),
                None => None,
            };
            println!(
                "{:>4}  {:<20} {:<9} {:<28} roles",
                "id", "username", "state", "name"
            );
            for p in gw.store().people(org).await? {
                println!(
                    "{:>4}  {:<20} {:<9} {:<28} {}",
                    p.id,
                    p.username,
                    p.state.as_str(),
                    p.full_name,
                    crate::model::roles_to_text(&p.roles)
                );
            }
        }
        PersonCmd::Show { username } => {
            let p = gw.person(&username).await?;
            let org = gw.store().org_by_id(p.org_id).await?;
            println!("id            {}", p.id);
            println!("username      {}", p.username);
            println!("name          {}", p.full_name);
            println!("email         {}", p.email.as_deref().unwrap_or("-"));
            println!(
                "employee no.  {}",
                p.employee_number.as_deref().unwrap_or("-")
            );
            println!(
                "organisation  {}",
                org.map_or_else(|| p.org_id.to_string(), |o| o.name)
            );
            println!("roles         {}", crate::model::roles_to_text(&p.roles));
            println!("state         {}", p.state.as_str());
            println!("failed logins {}", p.failed_logins);
            let locked = p.locked_until.filter(|&t| t > now());
            println!("locked until  {}", fmt_time(locked));
            println!("blocked since {}", fmt_time(p.blocked_at));
            print_devices(&gw.store().devices_of(p.id).await?);
        }
        PersonCmd::Disable { username } => {
            gw.set_state(&username, PersonState::Disabled, ACTOR, now())
                .await?;
            println!("{username} disabled");
        }
        PersonCmd::Remove { username } => {
            gw.set_state(&username, PersonState::Removed, ACTOR, now())
                .await?;
            println!("{username} removed; devices unlinked, tokens back in stock");
        }
        PersonCmd::SetPassword {
            username,
            password_stdin,
        } => {
            let pw = read_password(password_stdin, "New password: ")?;
            gw.set_password(&username, pw, ACTOR, now()).await?;
            println!("password of {username} set");
        }
        PersonCmd::Unlock { username } => {
            gw.unlock(&username, ACTOR, now()).await?;
            println!("{username} unlocked");
        }
        PersonCmd::Block { username } => {
            gw.set_blocked(&username, true, ACTOR, now()).await?;
            println!("{username} blocked");
        }
        PersonCmd::Unblock { username } => {
            gw.set_blocked(&username, false, ACTOR, now()).await?;
            println!("{username} unblocked");
        }
        PersonCmd::Roles { username, set } => {
            let mut roles = Vec::new();
            for r in &set {
                roles.push(crate::model::Role::parse(r).with_context(|| {
                    format!(
                        "--set: `{r}` is not a role ({})",
                        crate::model::Role::names()
                    )
                })?);
            }
            gw.set_roles(&username, &roles, ACTOR, now()).await?;
            println!("{username}: roles {}", crate::model::roles_to_text(&roles));
        }
        PersonCmd::Erase { username } => {
            let pseudonym = gw.erase_person(&username, ACTOR, now()).await?;
            println!("{username} erased: now {pseudonym}");
        }
        PersonCmd::TempCode {
            username,
            valid_minutes,
            issued_by,
        } => {
            let issued_by = issued_by.trim();
            if issued_by.is_empty() {
                bail!("--issued-by must name someone");
            }
            let (code, expires_at) = gw
                .issue_temporary_code(&username, valid_minutes, issued_by, now())
                .await?;
            println!("{}", code.expose());
            eprintln!(
                "temporary code for {username}: one login, valid until {expires_at} (unix time); \
                 it is not shown again"
            );
            if let Ok(p) = gw.person(&username).await {
                tell(&gw, &p, "mail-what-temporary-code", &[]).await;
            }
        }
    }
    Ok(())
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

fn print_devices(devices: &[crate::model::Device]) {
    println!(
        "{:>4}  {:<15} {:<9} {:<24} {:<12} {:<10} last used",
        "id", "kind", "state", "label", "serial", "otp"
    );
    for d in devices {
        let otp = match d.otp.kind {
            OtpKind::Hotp => format!("hotp/{}", d.otp.digits),
            OtpKind::Totp { period } => format!("totp/{}/{period}s", d.otp.digits),
        };
        println!(
            "{:>4}  {:<15} {:<9} {:<24} {:<12} {:<10} {}",
            d.id,
            d.kind.as_str(),
            d.state.as_str(),
            d.label,
            d.serial.as_deref().unwrap_or("-"),
            otp,
            fmt_time(d.last_used_at)
        );
    }
}

async fn device(config: &Path, cmd: DeviceCmd) -> anyhow::Result<()> {
    let (_, gw) = open_gateway(config).await?;
    match cmd {
        DeviceCmd::AddTotp {
            username,
            label,
            digits,
            period,
            hash,
        } => {
            let hash = OtpHash::parse(&hash)
                .with_context(|| format!("--hash {hash:?}: not one of sha1, sha256, sha512"))?;
            let params = OtpParams {
                kind: OtpKind::Totp { period },
                hash,
                digits,
            };
            let enrolled = gw.add_totp(&username, &label, params, ACTOR, now()).await?;
            println!(
                "device {} ({}) linked to {username}",
                enrolled.device.id, enrolled.device.label
            );
            println!("{}", enrolled.uri.expose());
            print_qr(enrolled.uri.expose())?;
            if let Ok(p) = gw.person(&username).await {
                let label = enrolled.device.label.as_str();
                tell(
                    &gw,
                    &p,
                    "mail-what-phone-linked",
                    &[("label", label.into())],
                )
                .await;
            }
        }
        DeviceCmd::List { username } => print_devices(&gw.devices(&username).await?),
        DeviceCmd::Remove { id } => {
            let before = gw.store().device_by_id(id).await?;
            gw.remove_device(id, ACTOR, now()).await?;
            println!("device {id} unlinked");
            if let Some(d) = before
                && let Some(pid) = d.person_id
                && let Ok(p) = gw.person_by_id(pid).await
            {
                let label = d.label.as_str();
                tell(
                    &gw,
                    &p,
                    "mail-what-device-removed",
                    &[("label", label.into())],
                )
                .await;
            }
        }
        DeviceCmd::Resync { id, first, second } => {
            let next = gw.resync(id, &first, &second, ACTOR, now()).await?;
            println!("device {id} resynchronised; next counter {next}");
        }
    }
    Ok(())
}

async fn token(config: &Path, cmd: TokenCmd) -> anyhow::Result<()> {
    let (_, gw) = open_gateway(config).await?;
    match cmd {
        TokenCmd::Import {
            file,
            psk_hex,
            psk_file,
            org,
        } => {
            let psk_text = match (psk_hex, psk_file) {
                (Some(h), _) => Some(zeroize::Zeroizing::new(h)),
                (None, Some(f)) => Some(zeroize::Zeroizing::new(
                    std::fs::read_to_string(&f)
                        .with_context(|| format!("reading {}", f.display()))?,
                )),
                (None, None) => None,
            };
            let psk = match &psk_text {
                Some(t) => Some(zeroize::Zeroizing::new(
                    hex::decode(t.trim()).context("the pre-shared key is not hex")?,
                )),
                None => None,
            };
            let org = match org {
                Some(o) => Some(gw.org(&o).await?.id),
                None => None,
            };
            let xml = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let material = match &psk {
                Some(k) => crate::pskc::PskcKeyMaterial::PreSharedKey(k),
                None => crate::pskc::PskcKeyMaterial::None,
            };
            let keys = crate::pskc::parse(&xml, material)
                .map_err(|e| anyhow::anyhow!("{}: {e}; nothing imported", file.display()))?;
            // Drawn on stderr only when it is a terminal.
            let bar = indicatif::ProgressBar::new(keys.len() as u64);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message("sealing");
            let tick = || bar.inc(1);
            let imported = gw
                .import_tokens(&keys, org, &file.display().to_string(), ACTOR, now(), &tick)
                .await;
            bar.finish_and_clear();
            let n = imported
                .map_err(|e| anyhow::anyhow!("{}: {e}; nothing imported", file.display()))?;
            println!("{n} tokens imported into stock");
        }
        TokenCmd::List => {
            println!(
                "{:<14} {:<9} {:<10} {:<8} {:<6} holder",
                "serial", "state", "otp", "org", "id"
            );
            for t in gw.store().tokens().await? {
                let otp = match t.otp.kind {
                    OtpKind::Hotp => format!("hotp/{}", t.otp.digits),
                    OtpKind::Totp { period } => format!("totp/{period}s"),
                };
                let holder = match t.person_id {
                    Some(p) => gw
                        .store()
                        .person_by_id(p)
                        .await?
                        .map_or_else(|| p.to_string(), |p| p.username),
                    None => "-".into(),
                };
                println!(
                    "{:<14} {:<9} {:<10} {:<8} {:<6} {holder}",
                    t.serial.as_deref().unwrap_or("-"),
                    t.state.as_str(),
                    otp,
                    t.org_id.map_or_else(|| "-".into(), |o| o.to_string()),
                    t.id
                );
            }
        }
        TokenCmd::Assign {
            serial,
            username,
            label,
        } => {
            let d = gw
                .assign_token(&serial, &username, &label, ACTOR, now())
                .await?;
            println!(
                "token {serial} linked to {username} as device {} ({})",
                d.id, d.label
            );
            if let Ok(p) = gw.person(&username).await {
                let args = [
                    ("serial", serial.as_str().into()),
                    ("label", d.label.as_str().into()),
                ];
                tell(&gw, &p, "mail-what-token-linked", &args).await;
            }
        }
    }
    Ok(())
}

async fn login(
    config: &Path,
    username: &str,
    code: Option<String>,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let (_, gw) = open_gateway(config).await?;
    let password = read_password(password_stdin, "Password: ")?;
    let credentials = match code {
        Some(code) => Credentials::PasswordAndCode {
            password,
            code: SecretString::new(code),
        },
        None => Credentials::PasswordOnly { password },
    };
    let decision = gw.login(cli_attempt(username, credentials), now()).await?;
    match decision.verdict {
        Verdict::Accept { device_label, .. } => println!("accept (device: {device_label})"),
        Verdict::NeedSecondFactor => {
            println!("password accepted; a one-time code is needed (--code)")
        }
        Verdict::Reject(reason) => {
            println!("reject ({})", reason.as_str());
            std::process::exit(1);
        }
    }
    Ok(())
}

fn oidc(config_path: &Path, cmd: OidcCmd) -> anyhow::Result<()> {
    match cmd {
        OidcCmd::Clients => {
            let config = Config::load(config_path)?;
            if config.oidc.clients.is_empty() {
                println!("no [[oidc.clients]] in {}", config_path.display());
            }
            for c in &config.oidc.clients {
                let mut flows = Vec::new();
                if c.code_flow {
                    flows.push(if c.require_pkce { "code+pkce" } else { "code" });
                }
                if c.implicit_flow {
                    flows.push("implicit");
                }
                println!("{}  ({})", c.client_id, c.name);
                println!(
                    "  type          {}",
                    if c.secret_sha256.is_some() {
                        "confidential"
                    } else {
                        "public"
                    }
                );
                println!("  flows         {}", flows.join(", "));
                println!(
                    "  refresh       {}",
                    if c.refresh_tokens {
                        "yes, rotated"
                    } else {
                        "no"
                    }
                );
                println!(
                    "  id token      {} for {} s",
                    c.id_token_alg, c.id_token_lifetime
                );
                for u in &c.redirect_uris {
                    println!("  redirect      {u}");
                }
                for u in &c.post_logout_redirect_uris {
                    println!("  after logout  {u}");
                }
            }
        }
        OidcCmd::HashSecret { stdin } => {
            use sha2::Digest as _;
            let secret = if stdin {
                read_password(true, "")?
            } else {
                let s = SecretString::new(
                    data_encoding::BASE64URL_NOPAD.encode(&crate::secret::random_bytes(32)?),
                );
                println!(
                    "secret        {}   (give this to the client; it is not stored)",
                    s.expose()
                );
                s
            };
            if secret.expose().len() < 16 {
                bail!("a client secret must be at least 16 characters");
            }
            let digest = sha2::Sha256::digest(secret.expose().as_bytes());
            println!("secret_sha256 = \"{}\"", hex::encode(digest));
        }
    }
    Ok(())
}
