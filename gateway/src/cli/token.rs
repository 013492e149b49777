//! `token ...`: import hardware tokens (PSKC) and hand them out.

use super::{Actor, open_gateway, tell};
use crate::model::now;
use crate::otp::OtpKind;
use anyhow::Context;
use clap::Subcommand;
use std::path::{Path, PathBuf};

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

pub(super) async fn token(config: &Path, cmd: TokenCmd) -> anyhow::Result<()> {
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
                .import_tokens(
                    &keys,
                    org,
                    &file.display().to_string(),
                    &Actor::cli(),
                    now(),
                    &tick,
                )
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
                .assign_token(&serial, &username, &label, &Actor::cli(), now())
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
