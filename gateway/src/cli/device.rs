//! `device ...`: enrol authenticator apps, remove devices, resynchronise tokens.

use super::{Actor, fmt_time, open_gateway, print_qr, tell};
use crate::model::now;
use crate::otp::{OtpHash, OtpKind, OtpParams};
use anyhow::Context;
use clap::Subcommand;
use std::path::Path;

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

pub(super) async fn device(config: &Path, cmd: DeviceCmd) -> anyhow::Result<()> {
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
            let enrolled = gw
                .add_totp(&username, &label, params, &Actor::cli(), now())
                .await?;
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
            gw.remove_device(id, &Actor::cli(), now()).await?;
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
            let next = gw.resync(id, &first, &second, &Actor::cli(), now()).await?;
            println!("device {id} resynchronised; next counter {next}");
        }
    }
    Ok(())
}

pub(super) fn print_devices(devices: &[crate::model::Device]) {
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
