//! `org export` and `org offboard`: a customer organisation takes its data and leaves.

use crate::model::{TokenFate, now};
use crate::service::Actor;
use anyhow::Context as _;
use askama::Template;
use std::path::Path;

/// `org export ORG --output DIR`: `organisation.json` (everything), `index.html` (readable:
/// people, requests) and `people/<id>.html` (each person as subject access shows them).
pub(super) async fn export(
    gw: &crate::service::Gateway,
    org: &str,
    dir: &Path,
) -> anyhow::Result<()> {
    let org = gw.org(org).await?;
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        anyhow::bail!(
            "{} exists and is not empty: give a new folder",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir.join("people"))
        .with_context(|| format!("making {}", dir.display()))?;
    let context =
        crate::audit::AuditEvent::admin(now(), crate::audit::EventKind::OrgExported, "cli");
    let doc = gw.org_export(&org, &context, now()).await?;
    let json = serde_json::to_string_pretty(&doc)?;
    std::fs::write(dir.join("organisation.json"), json).context("writing organisation.json")?;
    let ctx = crate::web::templates::Ctx::of(gw, gw.lang_of_org(org.id).await);
    let mut people = Vec::new();
    for p in &doc.people {
        let file = format!("people/{}.html", p.person.id);
        std::fs::write(dir.join(&file), crate::web::audit::pages::subject_html(p).0)
            .with_context(|| format!("writing {file}"))?;
        people.push(ExportPerson {
            file,
            username: p.person.username.clone(),
            full_name: p.person.full_name.clone(),
            state: p.person.state.as_str(),
            devices: p.devices.len(),
            events: p.events.len(),
        });
    }
    let requests = doc
        .requests
        .iter()
        .map(|r| ExportRequest {
            id: r.id,
            kind: ctx.t(crate::service::lifecycle::kind_key(r.data.kind())),
            status: ctx.t(crate::service::lifecycle::status_key(r.status)),
            made: ctx.when(&r.created_at),
        })
        .collect();
    let html = crate::web::templates::render(&ExportIndex {
        ctx: &ctx,
        org: &org.name,
        made: &doc.generated_at,
        events: doc.events.len(),
        people,
        requests,
    })
    .0;
    std::fs::write(dir.join("index.html"), html).context("writing index.html")?;
    println!(
        "{}: {} people, {} requests, {} audit events written to {}",
        org.name,
        doc.people.len(),
        doc.requests.len(),
        doc.events.len(),
        dir.display()
    );
    Ok(())
}

/// `org offboard ORG --after-days N [--tokens-lost] [--confirm ORG]`: without `--confirm`
/// (the organisation's name again) only what would happen is printed.
pub(super) async fn offboard(
    gw: &crate::service::Gateway,
    org: &str,
    after_days: u32,
    tokens_lost: bool,
    confirm: Option<String>,
) -> anyhow::Result<()> {
    let org = gw.org(org).await?;
    let tokens = if tokens_lost {
        TokenFate::Lost
    } else {
        TokenFate::Return
    };
    let confirmed = confirm.as_deref().map(str::trim) == Some(org.name.as_str());
    if confirm.is_some() && !confirmed {
        anyhow::bail!(
            "--confirm {:?} is not the organisation's name {:?}: nothing was done",
            confirm.unwrap_or_default(),
            org.name
        );
    }
    let plan = gw
        .org_offboard(&Actor::cli(), &org, after_days, tokens, !confirmed, now())
        .await?;
    let fate = if tokens_lost {
        "marked lost"
    } else {
        "back to the provider's stock via the organisation"
    };
    if !confirmed {
        println!(
            "{}: {} people would be removed (devices unlinked, hardware tokens {fate}), {} are removed already; their identities erased after {after_days} days.\nNothing was done: run again with --confirm {:?} to offboard.",
            org.name,
            plan.removed.len(),
            plan.already_removed,
            org.name
        );
        for u in &plan.removed {
            println!("  - {u}");
        }
        return Ok(());
    }
    println!(
        "{} offboarded: {} people removed, {} were removed already; identities {}",
        org.name,
        plan.removed.len(),
        plan.already_removed,
        if after_days == 0 {
            "erased now".to_owned()
        } else {
            format!(
                "erased on {} (the gateway does it daily; or `org erase-due`)",
                plan.erase_at
                    .map(crate::audit::format_time)
                    .unwrap_or_default()
            )
        }
    );
    Ok(())
}

/// `org erase-due [--at WHEN]`: erase the identities of offboarded organisations whose time
/// has come (the gateway does this daily).
pub(super) async fn erase_due(
    gw: &crate::service::Gateway,
    at: Option<String>,
) -> anyhow::Result<()> {
    let at = match at {
        Some(t) => crate::audit::parse_time(&t, false).with_context(|| {
            format!("--at {t:?}: not unix seconds, an RFC 3339 time or a date (YYYY-MM-DD)")
        })?,
        None => now(),
    };
    let n = gw.erase_offboarded(at).await?;
    println!("{n} people of offboarded organisations erased");
    Ok(())
}

/// What `org policy` may change (every flag optional: none shows the policy).
#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    pub org: String,
    /// The second factors that count, comma-separated: totp_app, hardware_token,
    /// security_key, push, temporary_code, recovery_code; or `all`.
    #[arg(long)]
    pub factors: Option<String>,
    /// Out-of-band approvals (push, sign-in requests): yes or no.
    #[arg(long)]
    pub approvals: Option<String>,
    /// Wrong codes before the person is locked (3 to 20), or `default`.
    #[arg(long)]
    pub lockout_threshold: Option<String>,
    /// The organisation's default language: nl, en or `default`.
    #[arg(long)]
    pub language: Option<String>,
    /// CLIENT=CIDR[,CIDR...]: that RADIUS client accepts this organisation's people only
    /// from these end-user addresses (repeat for more clients).
    #[arg(long)]
    pub client_range: Vec<String>,
    /// Remove a client's ranges (repeatable).
    #[arg(long)]
    pub clear_client_range: Vec<String>,
    /// OIDC single sign-on lifetime in hours (0: off), or `default` (8).
    #[arg(long)]
    pub sso_hours: Option<String>,
    /// OIDC single sign-on ends after this many minutes unused, or `default` (60).
    #[arg(long)]
    pub sso_idle_minutes: Option<String>,
    /// Web logins offer "Remember this browser" for this many days (1 to 90; the password
    /// is still asked, the code is not), or `off` (the default).
    #[arg(long)]
    pub remember_days: Option<String>,
}

/// `org policy ORG [...]`: show, or change and show, an organisation's policy.
pub(super) async fn policy(gw: &crate::service::Gateway, a: PolicyArgs) -> anyhow::Result<()> {
    use crate::policy::FactorKind;
    let org = gw.org(&a.org).await?;
    let mut p = gw.org_policy(org.id).await?;
    let before = p.clone();
    if let Some(f) = &a.factors {
        p.factors = if f.trim() == "all" {
            None
        } else {
            Some(
                f.split(',')
                    .map(|k| {
                        FactorKind::parse(k).with_context(|| {
                            format!("--factors: {k:?} is not one of totp_app, hardware_token, security_key, push, temporary_code, recovery_code, all")
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?,
            )
        };
    }
    if let Some(v) = &a.approvals {
        p.no_approvals = match v.trim() {
            "yes" => false,
            "no" => true,
            other => anyhow::bail!("--approvals {other:?}: yes or no"),
        };
    }
    if let Some(t) = &a.lockout_threshold {
        p.lockout_threshold = match t.trim() {
            "default" => None,
            n => Some(
                n.parse()
                    .with_context(|| format!("--lockout-threshold {n:?}: a number or default"))?,
            ),
        };
    }
    let number = |flag: &str, v: &str| -> anyhow::Result<Option<u32>> {
        match v.trim() {
            "default" => Ok(None),
            n => Ok(Some(n.parse().with_context(|| {
                format!("{flag} {n:?}: a number or default")
            })?)),
        }
    };
    if let Some(v) = &a.sso_hours {
        p.sso_hours = number("--sso-hours", v)?;
    }
    if let Some(v) = &a.sso_idle_minutes {
        p.sso_idle_minutes = number("--sso-idle-minutes", v)?;
    }
    if let Some(v) = &a.remember_days {
        p.remember_days = match v.trim() {
            "off" | "default" => None,
            n => Some(
                n.parse()
                    .with_context(|| format!("--remember-days {n:?}: a number or off"))?,
            ),
        };
    }
    if let Some(l) = &a.language {
        p.language = (l.trim() != "default").then(|| l.trim().to_owned());
    }
    for c in &a.client_range {
        let (client, ranges) = c
            .split_once('=')
            .with_context(|| format!("--client-range {c:?}: CLIENT=CIDR[,CIDR]"))?;
        let ranges = ranges
            .split(',')
            .map(|r| {
                r.trim()
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| r.trim().parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .with_context(|| {
                        format!("--client-range: {r:?} is not an address or CIDR range")
                    })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        p.client_ranges.insert(client.trim().to_owned(), ranges);
    }
    for c in &a.clear_client_range {
        p.client_ranges.remove(c.trim());
    }
    if p != before {
        gw.set_org_policy(&Actor::cli(), &org, &p, now()).await?;
        println!("policy of {} changed:", org.name);
    } else {
        println!("policy of {}:", org.name);
    }
    for line in p.describe() {
        println!("  {line}");
    }
    Ok(())
}

/// `index.html` of an organisation's export, in the organisation's language.
#[derive(Template)]
#[template(path = "export/index.html")]
struct ExportIndex<'a> {
    ctx: &'a crate::web::templates::Ctx,
    org: &'a str,
    made: &'a str,
    events: usize,
    people: Vec<ExportPerson>,
    requests: Vec<ExportRequest>,
}

impl ExportIndex<'_> {
    fn title(&self) -> String {
        self.ctx.ta("export-title", &[("name", self.org.into())])
    }

    fn heading(&self) -> String {
        self.ctx.ta("export-heading", &[("name", self.org.into())])
    }

    fn intro(&self) -> String {
        self.ctx.ta(
            "export-intro",
            &[
                ("at", self.made.into()),
                (
                    "events",
                    i64::try_from(self.events).unwrap_or(i64::MAX).into(),
                ),
            ],
        )
    }
}

struct ExportPerson {
    file: String,
    username: String,
    full_name: String,
    state: &'static str,
    devices: usize,
    events: usize,
}

struct ExportRequest {
    id: i64,
    kind: String,
    status: String,
    made: String,
}
