//! `mfa-gateway audit ...`: search, export, verify and checkpoint the audit trail.

use super::*;

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Newest events first (kept for scripts: `audit search` with fewer filters).
    List {
        /// Only events about this person.
        #[arg(long)]
        person: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Find events: newest first, every filter given must match.
    Search {
        #[command(flatten)]
        filter: AuditFilterArgs,
        /// At most this many (0: all).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// table, csv (RFC 4180, with a header line) or jsonl (one JSON object per line).
        #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
        format: AuditFormat,
    },
    /// Write a search to a file (or standard output) as CSV or JSON lines; audited.
    /// With `--person` and no `--format`: the GDPR subject access document instead, i.e.
    /// everything held about that person (profile, devices without secrets, every event
    /// about them) as one JSON document (`--html FILE` also writes it as a readable page).
    Export {
        #[command(flatten)]
        filter: AuditFilterArgs,
        /// At most this many (0: all).
        #[arg(long, default_value_t = 0)]
        limit: u32,
        /// csv (RFC 4180, with a header line; the default), jsonl (one JSON object per line)
        /// or table.
        #[arg(long, value_enum)]
        format: Option<AuditFormat>,
        /// The file to write (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Subject access only: also write the document as an HTML page to this file.
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Apply the retention rules of `[audit]`: redact events past retention (keyed
    /// pseudonyms; the chain still verifies) and erase the identity of people removed long
    /// enough ago. The gateway also does this once a day.
    Purge {
        /// Act as if it were this time (unix seconds, RFC 3339 or a date); default now.
        #[arg(long)]
        at: Option<String>,
    },
    /// Check the hash chain and every checkpoint; names the first event that does not fit
    /// (exit code 1).
    Verify {
        /// Only from the newest checkpoint on (its signature and event, the rows after it):
        /// seconds on a year of events. Run the full verify now and then (weekly).
        #[arg(long)]
        from_checkpoint: bool,
    },
    /// Sign and store the chain's current head (catches later deletion of the newest events).
    Checkpoint,
}

/// The filters of `audit search` and `audit export`.
#[derive(Debug, Args, serde::Serialize)]
pub struct AuditFilterArgs {
    /// Events about this person (username).
    #[arg(long)]
    pub person: Option<String>,
    /// Organisation name or id.
    #[arg(long)]
    pub org: Option<String>,
    /// From this time: unix seconds, RFC 3339 (2026-11-25T08:00:00Z) or a date (2026-11-25).
    #[arg(long)]
    pub from: Option<String>,
    /// Up to this time (a date: to its end), same forms as --from.
    #[arg(long)]
    pub to: Option<String>,
    /// radius, oidc, portal, api, cli or system.
    #[arg(long)]
    pub channel: Option<String>,
    /// The RADIUS client or OIDC client id.
    #[arg(long)]
    pub client: Option<String>,
    /// accept, reject, challenge, done or failed.
    #[arg(long)]
    pub outcome: Option<String>,
    /// A reject reason (e.g. bad_code, locked_out).
    #[arg(long)]
    pub reason: Option<String>,
    /// Source address.
    #[arg(long)]
    pub source: Option<String>,
    /// Event kind (e.g. login_attempt, device_linked).
    #[arg(long)]
    pub kind: Option<String>,
    /// Skip this many.
    #[arg(long, default_value_t = 0)]
    pub offset: u32,
    /// Oldest first.
    #[arg(long)]
    pub oldest_first: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    Table,
    Csv,
    Jsonl,
}

pub(super) async fn audit(config: &Path, cmd: AuditCmd) -> anyhow::Result<()> {
    use crate::audit_chain;
    let (_, gw) = open_gateway(config).await?;
    match cmd {
        AuditCmd::List {
            person,
            limit,
            json,
        } => {
            let filter = crate::store::EventFilter {
                person_id: match person {
                    Some(u) => Some(gw.person(&u).await?.id),
                    None => None,
                },
                limit,
                ..Default::default()
            };
            let format = if json {
                AuditFormat::Jsonl
            } else {
                AuditFormat::Table
            };
            let events = gw.store().events(&filter).await?;
            write_events(&mut std::io::stdout().lock(), &events, format)?;
        }
        AuditCmd::Search {
            filter,
            limit,
            format,
        } => {
            let filter = event_filter(&gw, filter, limit).await?;
            let events = gw.store().events(&filter).await?;
            write_events(&mut std::io::stdout().lock(), &events, format)?;
        }
        AuditCmd::Export {
            filter,
            limit: _,
            format: None,
            output,
            html,
        } if filter.person.is_some() => {
            let who = filter.person.clone().unwrap_or_default();
            let person = gw.find_person(&who).await?;
            let context = crate::audit::AuditEvent::admin(
                now(),
                crate::audit::EventKind::SubjectAccessExported,
                ACTOR,
            );
            let doc = gw.subject_access(&person, &context, now()).await?;
            let json = serde_json::to_string_pretty(&doc)?;
            match &output {
                Some(path) => std::fs::write(path, json.as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?,
                None => println!("{json}"),
            }
            if let Some(path) = &html {
                std::fs::write(
                    path,
                    crate::web::audit::pages::subject_html(&doc).0.as_bytes(),
                )
                .with_context(|| format!("writing {}", path.display()))?;
            }
            eprintln!(
                "subject access for person {}: {} events, {} devices",
                person.id,
                doc.events.len(),
                doc.devices.len()
            );
        }
        AuditCmd::Export {
            filter,
            limit,
            format,
            output,
            html,
        } => {
            if html.is_some() {
                anyhow::bail!(
                    "--html is for the subject access document: give --person and no --format"
                );
            }
            let format = format.unwrap_or(AuditFormat::Csv);
            let args = serde_json::to_value(&filter)?;
            let filter = event_filter(&gw, filter, limit).await?;
            // CSV and JSON lines are written page by page (memory stays flat); the table
            // needs every row.
            let mut out: Box<dyn std::io::Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let rows = match format {
                AuditFormat::Table => {
                    let events = gw.store().events(&filter).await?;
                    write_events(&mut out, &events, format)?;
                    events.len() as u64
                }
                AuditFormat::Csv | AuditFormat::Jsonl => {
                    let stream_format = if format == AuditFormat::Csv {
                        crate::audit_export::ExportFormat::Csv
                    } else {
                        crate::audit_export::ExportFormat::Jsonl
                    };
                    let pages = crate::audit_export::Pages::new(gw.store().clone(), filter);
                    crate::audit_export::write_to(pages, stream_format, &mut out).await?
                }
            };
            out.flush()?;
            drop(out);
            let mut event = crate::audit::AuditEvent::admin(
                now(),
                crate::audit::EventKind::AuditExported,
                ACTOR,
            );
            event.detail = Some(serde_json::json!({
                "filter": args,
                "limit": limit,
                "format": format!("{format:?}").to_lowercase(),
                "rows": rows,
                "output": output.as_ref().map(|p| p.display().to_string()),
            }));
            gw.store().append_event(&event).await?;
            if let Some(path) = &output {
                eprintln!("{rows} events written to {}", path.display());
            }
        }
        AuditCmd::Verify { from_checkpoint } => {
            let key = audit_chain::load_key(gw.store().as_ref(), gw.master_key()).await?;
            let public = key.map(|k| *k.verifying_key().as_bytes());
            let started = std::time::Instant::now();
            let (report, from) = if from_checkpoint {
                audit_chain::verify_since_checkpoint(gw.store().as_ref(), public.as_ref()).await?
            } else {
                (
                    audit_chain::verify(gw.store().as_ref(), public.as_ref()).await?,
                    None,
                )
            };
            let secs = started.elapsed().as_secs_f64();
            if let Some(problem) = report.problem {
                println!("audit chain BROKEN: {problem}");
                std::process::exit(1);
            }
            let scope = match &from {
                Some(cp) => format!(
                    "from checkpoint {} (event {}): {} events after it",
                    cp.id, cp.last_event_id, report.events
                ),
                None => format!("{} events", report.events),
            };
            let rate = if secs > 0.0 {
                report.events as f64 / secs
            } else {
                0.0
            };
            match report.head {
                Some((id, hash)) => println!(
                    "audit chain ok: {scope}, head event {id} ({}), {} checkpoints ok ({secs:.2} s, {rate:.0} events/s)",
                    hex::encode(hash),
                    report.checkpoints
                ),
                None => println!(
                    "audit chain ok: no events, {} checkpoints ok",
                    report.checkpoints
                ),
            }
        }
        AuditCmd::Purge { at } => {
            let at = match at {
                Some(t) => crate::audit::parse_time(&t, false).with_context(|| {
                    format!("--at {t:?}: not unix seconds, an RFC 3339 time or a date (YYYY-MM-DD)")
                })?,
                None => now(),
            };
            let report = gw.purge(&Actor::cli(), at).await?;
            for (kind, n) in &report.redacted {
                println!("{kind}: {n} events redacted");
            }
            println!(
                "purge done: {} events redacted, {} removed people erased",
                report.total(),
                report.erased_people
            );
        }
        AuditCmd::Checkpoint => {
            let cp =
                audit_chain::checkpoint_now(gw.store().as_ref(), gw.master_key(), now()).await?;
            println!(
                "checkpoint {}: event {} ({}) at {}, signed by {}",
                cp.id,
                cp.last_event_id,
                hex::encode(&cp.chain_hash),
                crate::audit::format_time(cp.time),
                hex::encode(&cp.public_key)
            );
        }
    }
    Ok(())
}

/// The store filter for the command-line filters.
async fn event_filter(
    gw: &Gateway,
    a: AuditFilterArgs,
    limit: u32,
) -> anyhow::Result<crate::store::EventFilter> {
    let time = |flag: &str, v: Option<String>, end: bool| -> anyhow::Result<Option<i64>> {
        v.map(|t| {
            crate::audit::parse_time(&t, end).with_context(|| {
                format!("--{flag} {t:?}: not unix seconds, an RFC 3339 time or a date (YYYY-MM-DD)")
            })
        })
        .transpose()
    };
    fn known<T: serde::de::DeserializeOwned>(
        flag: &str,
        v: &Option<String>,
        one_of: &str,
    ) -> anyhow::Result<()> {
        if let Some(v) = v {
            serde_json::from_value::<T>(serde_json::Value::String(v.clone()))
                .map_err(|_| anyhow::anyhow!("--{flag} {v:?}: not one of {one_of}"))?;
        }
        Ok(())
    }
    known::<crate::audit::Channel>(
        "channel",
        &a.channel,
        "radius, oidc, portal, api, cli, system",
    )?;
    known::<crate::audit::Outcome>(
        "outcome",
        &a.outcome,
        "accept, reject, challenge, done, failed",
    )?;
    let kinds = crate::audit::EventKind::ALL.map(|k| k.as_str()).join(", ");
    known::<crate::audit::EventKind>("kind", &a.kind, &kinds)?;
    let (person_id, username) = match a.person {
        Some(u) => match gw.store().person_by_username(&u).await? {
            Some(p) => (Some(p.id), None),
            // An unknown username: its attempts are still recorded under the name.
            None => (None, Some(crate::store::normalise_username(&u))),
        },
        None => (None, None),
    };
    Ok(crate::store::EventFilter {
        person_id,
        username,
        org_id: match a.org {
            Some(o) => Some(gw.org(&o).await?.id),
            None => None,
        },
        scope_org: None,
        from: time("from", a.from, false)?,
        to: time("to", a.to, true)?,
        channel: a.channel,
        client: a.client,
        outcome: a.outcome,
        reason: a.reason,
        source: a.source,
        kind: a.kind,
        limit,
        offset: a.offset,
        oldest_first: a.oldest_first,
    })
}

fn write_events(
    out: &mut dyn std::io::Write,
    events: &[crate::audit::StoredEvent],
    format: AuditFormat,
) -> anyhow::Result<()> {
    match format {
        AuditFormat::Jsonl => {
            for e in events {
                writeln!(out, "{}", serde_json::to_string(e)?)?;
            }
        }
        AuditFormat::Csv => {
            out.write_all(crate::audit::csv_record(&crate::audit::CSV_COLUMNS).as_bytes())?;
            for e in events {
                out.write_all(crate::audit::csv_record(&e.fields()).as_bytes())?;
            }
        }
        AuditFormat::Table => {
            writeln!(
                out,
                "{:>6} {:<20} {:<19} {:<7} {:<9} {:<16} {:<8} {:<16} {:<15} device",
                "id", "time", "kind", "channel", "outcome", "reason", "actor", "username", "source"
            )?;
            for e in events {
                let ev = &e.event;
                writeln!(
                    out,
                    "{:>6} {:<20} {:<19} {:<7} {:<9} {:<16} {:<8} {:<16} {:<15} {}",
                    e.id,
                    crate::audit::format_time(ev.time),
                    ev.kind.as_str(),
                    ev.channel.as_str(),
                    ev.outcome.as_str(),
                    ev.reason.as_deref().unwrap_or("-"),
                    ev.actor,
                    ev.username.as_deref().unwrap_or("-"),
                    ev.source.as_deref().unwrap_or("-"),
                    ev.device_label.as_deref().unwrap_or("-"),
                )?;
            }
        }
    }
    Ok(())
}
