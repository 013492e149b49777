//! `request ...` and `api-token ...`: the operator's side of the account life cycle on the
//! server (the CLI acts as the operator, actor `cli`, every change audited).

use super::open_gateway;
use crate::model::{RequestId, now};
use crate::service::Actor;
use crate::service::lifecycle::format_date;
use anyhow::Context;
use clap::Subcommand;
use std::path::Path;

#[derive(Debug, Subcommand)]
pub enum RequestCmd {
    /// List requests (newest first).
    List {
        /// Only this organisation (name or id).
        #[arg(long)]
        org: Option<String>,
        /// Only open ones (submitted or in progress).
        #[arg(long)]
        open: bool,
    },
    /// Show one request with its status history.
    Show { id: RequestId },
    /// Take a submitted request (in progress).
    Take { id: RequestId },
    /// Complete a request: the change is made (a new employee gets an activation link).
    Done {
        id: RequestId,
        /// Where the activation page lives (default: http.public_url).
        #[arg(long)]
        base_url: Option<String>,
    },
    /// Reject an open request with a reason.
    Reject {
        id: RequestId,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiTokenCmd {
    /// Make an API token for an organisation's HR system; printed once.
    Create {
        /// Organisation name or id.
        org: String,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke an API token (by id).
    Revoke { id: i64 },
    /// List API tokens (never the tokens themselves).
    List,
}

pub(super) async fn request(config: &Path, cmd: RequestCmd) -> anyhow::Result<()> {
    let (cfg, gw) = open_gateway(config).await?;
    let actor = Actor::cli();
    let t = now();
    match cmd {
        RequestCmd::List { org, open } => {
            let org = match org {
                Some(o) => Some(gw.org(&o).await?.id),
                None => None,
            };
            println!(
                "{:>5}  {:>4}  {:<15} {:<12} {:<10} created",
                "id", "org", "type", "status", "by"
            );
            for r in gw.requests_for(&actor, org, open, t).await? {
                println!(
                    "{:>5}  {:>4}  {:<15} {:<12} {:<10} {}",
                    r.id,
                    r.org_id,
                    r.data.kind().as_str(),
                    r.status.as_str(),
                    r.requested_by,
                    format_date(r.created_at)
                );
            }
        }
        RequestCmd::Show { id } => {
            let (r, history) = gw.request_for(&actor, id, t).await?;
            println!("id            {}", r.id);
            println!("organisation  {}", r.org_id);
            println!("type          {}", r.data.kind().as_str());
            println!("status        {}", r.status.as_str());
            println!("requested by  {}", r.requested_by);
            if let Some(p) = r.person_id {
                println!("person        {p}");
            }
            if let Some(at) = r.scheduled_at {
                println!("scheduled     {}", format_date(at));
            }
            println!("data          {}", serde_json::to_string(&r.data)?);
            println!("history");
            for s in history {
                println!(
                    "  {}  {:<12} {:<10} {}",
                    crate::audit::format_time(s.time),
                    s.status.as_str(),
                    s.actor,
                    s.note.unwrap_or_default()
                );
            }
        }
        RequestCmd::Take { id } => {
            let r = gw.take_request(&actor, id, t).await?;
            println!("request {} is {}", r.id, r.status.as_str());
        }
        RequestCmd::Done { id, base_url } => {
            let base = base_url.or(cfg.http.public_url.clone()).context(
                "no base URL for the activation link: set http.public_url or pass --base-url",
            )?;
            let done = gw.complete_request(&actor, id, &base, t).await?;
            println!(
                "request {} is {}",
                done.request.id,
                done.request.status.as_str()
            );
            if let Some(link) = done.activation_link {
                println!("activation link (also sent by e-mail; shown once):");
                println!("{}", link.expose());
            }
        }
        RequestCmd::Reject { id, reason } => {
            let r = gw.reject_request(&actor, id, &reason, t).await?;
            println!("request {} is {}", r.id, r.status.as_str());
        }
    }
    Ok(())
}

pub(super) async fn api_token(config: &Path, cmd: ApiTokenCmd) -> anyhow::Result<()> {
    let (_, gw) = open_gateway(config).await?;
    let actor = Actor::cli();
    let t = now();
    match cmd {
        ApiTokenCmd::Create { org, label } => {
            let org = gw.org(&org).await?;
            let (token, secret) = gw.issue_api_token(&actor, org.id, &label, t).await?;
            println!(
                "API token {} for {} (shown once; stored only as its SHA-256):",
                token.id, org.name
            );
            println!("{}", secret.expose());
        }
        ApiTokenCmd::Revoke { id } => {
            gw.revoke_api_token(&actor, id, t).await?;
            println!("API token {id} revoked");
        }
        ApiTokenCmd::List => {
            println!(
                "{:>4}  {:>4}  {:<20} {:<10} state",
                "id", "org", "label", "made"
            );
            for k in gw.api_tokens(&actor, t).await? {
                println!(
                    "{:>4}  {:>4}  {:<20} {:<10} {}",
                    k.id,
                    k.org_id,
                    k.label,
                    format_date(k.created_at),
                    k.revoked_at.map_or_else(
                        || "active".to_owned(),
                        |r| format!("revoked {}", format_date(r))
                    )
                );
            }
        }
    }
    Ok(())
}

/// `person import FILE --org ORG [--dry-run]`: check the whole file (every error with its
/// line, nothing written), make everyone in one transaction, then mail the activation links
/// with a progress bar (on stderr, when it is a terminal).
pub(super) async fn import(
    cfg: &crate::config::Config,
    gw: &crate::service::Gateway,
    file: &Path,
    org: &str,
    dry_run: bool,
    base_url: Option<String>,
) -> anyhow::Result<()> {
    use crate::service::import::MAX_BYTES;
    use std::io::Read as _;
    let actor = Actor::cli();
    let t = now();
    let org = gw.org(org).await?;
    let mut csv = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_BYTES as u64 + 1).read_to_end(&mut csv))
        .with_context(|| format!("reading {}", file.display()))?;
    let fail = |errors: Vec<crate::service::import::LineError>| {
        for e in &errors {
            eprintln!("{}: {e}", file.display());
        }
        anyhow::anyhow!(
            "{}: {} error(s); nothing was imported",
            file.display(),
            errors.len()
        )
    };
    if dry_run {
        let (org, rows) = gw
            .check_import(&actor, org.id, &csv, t)
            .await?
            .map_err(fail)?;
        println!(
            "dry run: {} people would be made in {} (nothing written):",
            rows.len(),
            org.name
        );
        for r in &rows {
            println!(
                "  line {:>5}  {:<30} {:<30} {} {}",
                r.line, r.username, r.full_name, r.email, r.start_date
            );
        }
        return Ok(());
    }
    let base = base_url
        .or(cfg.http.public_url.clone())
        .filter(|u| !u.trim().is_empty())
        .context("no base URL for the activation links: set http.public_url or pass --base-url")?;
    let made = gw
        .import_people(&actor, org.id, &csv, &base, t)
        .await?
        .map_err(fail)?;
    println!("{} people imported into {}:", made.len(), org.name);
    for m in &made {
        println!(
            "  line {:>5}  {:<30} id {}",
            m.line, m.person.username, m.person.id
        );
    }
    let bar = indicatif::ProgressBar::new(made.len() as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("activation mails");
    gw.send_import_mails(&actor, &made, t, |_| bar.inc(1)).await;
    bar.finish_and_clear();
    println!(
        "{} activation links sent by e-mail (each audited as mail_sent)",
        made.len()
    );
    Ok(())
}
