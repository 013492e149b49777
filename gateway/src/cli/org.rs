//! `org ...`: list and add organisations.

use super::{Actor, open_gateway};
use crate::model::now;
use clap::Subcommand;
use std::path::Path;

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
    Policy(super::tenancy::PolicyArgs),
    /// Erase the identities of offboarded organisations whose time has come (the gateway
    /// does this daily).
    EraseDue {
        /// Act as if it were this time (unix seconds, RFC 3339 or a date); default now.
        #[arg(long)]
        at: Option<String>,
    },
}

pub(super) async fn org(config: &Path, cmd: OrgCmd) -> anyhow::Result<()> {
    let (_, gw) = open_gateway(config).await?;
    match cmd {
        OrgCmd::Add { name } => {
            let org = gw.create_org(&name, &Actor::cli(), now()).await?;
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
        OrgCmd::Export { org, output } => super::tenancy::export(&gw, &org, &output).await?,
        OrgCmd::Offboard {
            org,
            after_days,
            tokens_lost,
            confirm,
        } => super::tenancy::offboard(&gw, &org, after_days, tokens_lost, confirm).await?,
        OrgCmd::EraseDue { at } => super::tenancy::erase_due(&gw, at).await?,
        OrgCmd::Policy(a) => super::tenancy::policy(&gw, a).await?,
    }
    Ok(())
}
