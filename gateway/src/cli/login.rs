//! `login`: try a sign-in from the command line (password, then a code).

use super::{open_gateway, read_password};
use crate::engine::{Credentials, Verdict};
use crate::model::now;
use crate::secret::SecretString;
use crate::service::cli_attempt;
use std::path::Path;

pub(super) async fn login(
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
