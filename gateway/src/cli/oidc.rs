//! `oidc ...`: make OpenID Connect client registrations for the config file.

use super::read_password;
use crate::config::Config;
use crate::secret::SecretString;
use anyhow::bail;
use clap::Subcommand;
use std::path::Path;

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

pub(super) fn oidc(config_path: &Path, cmd: OidcCmd) -> anyhow::Result<()> {
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
