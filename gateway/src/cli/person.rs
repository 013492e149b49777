//! `person ...`: add, show, change, block and erase people.

use super::device::print_devices;
use super::{ACTOR, Actor, fmt_time, open_gateway, read_password, tell};
use crate::model::{NewPerson, PersonState, Role, now};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

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

pub(super) async fn person(config: &Path, cmd: PersonCmd) -> anyhow::Result<()> {
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
            let p = gw
                .create_person(new, password, &Actor::cli(), now())
                .await?;
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
        } => return super::lifecycle::import(&cfg, &gw, &file, &org, dry_run, base_url).await,
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
            gw.set_state(&username, PersonState::Disabled, &Actor::cli(), now())
                .await?;
            println!("{username} disabled");
        }
        PersonCmd::Remove { username } => {
            gw.set_state(&username, PersonState::Removed, &Actor::cli(), now())
                .await?;
            println!("{username} removed; devices unlinked, tokens back in stock");
        }
        PersonCmd::SetPassword {
            username,
            password_stdin,
        } => {
            let pw = read_password(password_stdin, "New password: ")?;
            gw.set_password(&username, pw, &Actor::cli(), now()).await?;
            println!("password of {username} set");
        }
        PersonCmd::Unlock { username } => {
            gw.unlock(&username, &Actor::cli(), now()).await?;
            println!("{username} unlocked");
        }
        PersonCmd::Block { username } => {
            gw.set_blocked(&username, true, &Actor::cli(), now())
                .await?;
            println!("{username} blocked");
        }
        PersonCmd::Unblock { username } => {
            gw.set_blocked(&username, false, &Actor::cli(), now())
                .await?;
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
            gw.set_roles(&username, &roles, &Actor::cli(), now())
                .await?;
            println!("{username}: roles {}", crate::model::roles_to_text(&roles));
        }
        PersonCmd::Erase { username } => {
            let pseudonym = gw.erase_person(&username, &Actor::cli(), now()).await?;
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
            let issuer = Actor::system(issued_by, crate::audit::Channel::Cli, "cli");
            let (code, expires_at) = gw
                .issue_temporary_code(&username, valid_minutes, &issuer, now())
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
