//! `directory sync`: keep the people of directory organisations in step (see
//! `directory/sync.rs`); `directory check`: can the directories be reached?

use crate::model::now;
use clap::Subcommand;
use std::path::Path;

#[derive(Debug, Subcommand)]
pub enum DirectoryCmd {
    /// Make, update and retire the people each directory's people_filter lists (in its first
    /// organisation). A failed or partial read of the directory changes nothing.
    Sync {
        /// Only this directory (by name); default: every one with a people_filter.
        #[arg(long)]
        name: Option<String>,
        /// Print what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Allow retiring more than half of a directory's people at once.
        #[arg(long)]
        force: bool,
        /// Where the activation links point (default: http.public_url).
        #[arg(long)]
        base_url: Option<String>,
    },
    /// Reach each directory as its service account and say whether it answers.
    Check,
}

pub(super) async fn directory(config: &Path, cmd: DirectoryCmd) -> anyhow::Result<()> {
    let (cfg, gw) = super::open_gateway(config).await?;
    if gw.directories().is_empty() {
        anyhow::bail!("no [[directories]] in {}", config.display());
    }
    match cmd {
        DirectoryCmd::Check => {
            let mut down = 0;
            for d in gw.directories().all() {
                match d.probe().await {
                    Ok(()) => println!("{}: answers", d.name()),
                    Err(e) => {
                        down += 1;
                        println!("{e}");
                    }
                }
            }
            if down > 0 {
                anyhow::bail!("{down} directory(ies) did not answer");
            }
        }
        DirectoryCmd::Sync {
            name,
            dry_run,
            force,
            base_url,
        } => {
            let base = base_url
                .or(cfg.http.public_url.clone())
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_default();
            let mut failed = 0;
            let mut any = false;
            for d in gw.directories().all() {
                if name.as_deref().is_some_and(|n| n != d.name()) {
                    continue;
                }
                if d.settings().people_filter.is_none() {
                    if name.is_some() {
                        anyhow::bail!("directory {} has no people_filter", d.name());
                    }
                    continue;
                }
                any = true;
                if !dry_run && base.is_empty() {
                    anyhow::bail!(
                        "no base URL for the activation links: set http.public_url or pass --base-url"
                    );
                }
                match gw.directory_sync(d, dry_run, force, &base, now()).await {
                    Ok(plan) => {
                        let verb = if dry_run { "would be" } else { "were" };
                        println!(
                            "{} → {}: {} listed; {} {verb} made, {} updated, {} retired{}",
                            plan.directory,
                            plan.org,
                            plan.listed,
                            plan.create.len(),
                            plan.update.len(),
                            plan.retire.len(),
                            if dry_run {
                                " (dry run: nothing written)"
                            } else {
                                ""
                            }
                        );
                        for p in &plan.create {
                            println!(
                                "  + {:<24} {:<30} {}",
                                p.username.to_lowercase(),
                                p.full_name,
                                p.email
                            );
                        }
                        for (p, d) in &plan.update {
                            println!("  ~ {:<24} {:<30} {}", p.username, d.full_name, d.email);
                        }
                        for p in &plan.retire {
                            println!("  - {:<24} {}", p.username, p.full_name);
                        }
                        for (u, why) in &plan.skipped {
                            println!("  ! {u:<24} skipped: {why}");
                        }
                        for (u, why) in &plan.failed {
                            eprintln!("  ! {u:<24} not changed: {why}");
                        }
                        if !plan.failed.is_empty() {
                            failed += 1;
                        }
                    }
                    Err(e) => {
                        failed += 1;
                        eprintln!("{e}");
                    }
                }
            }
            if !any {
                anyhow::bail!(
                    "no directory to sync (none with a people_filter{})",
                    name.map(|n| format!(" named {n}")).unwrap_or_default()
                );
            }
            if failed > 0 {
                anyhow::bail!(
                    "{failed} directory sync(s) failed or did not finish (see above); a failed read changed nothing"
                );
            }
        }
    }
    Ok(())
}
