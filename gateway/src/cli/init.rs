//! `init`: write the example configuration, a master key and an empty store.

use super::redact_url;
use crate::config::Config;
use crate::crypto::MasterKey;
use anyhow::Context;
use std::path::Path;

/// The example configuration, written by `init`.
pub const EXAMPLE_CONFIG: &str = include_str!("../../../config/gateway.toml");

/// Create what a gateway needs next to its config file; keeps what exists.
pub async fn init(config_path: &Path) -> anyhow::Result<Config> {
    init_with(config_path, EXAMPLE_CONFIG).await
}

/// `init`, writing `config_text` if there is no config file yet.
pub async fn init_with(config_path: &Path, config_text: &str) -> anyhow::Result<Config> {
    let dir = config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if config_path.exists() {
        println!("config      {} (kept)", config_path.display());
    } else {
        crate::crypto::write_private(config_path, config_text.as_bytes())
            .with_context(|| format!("writing {}", config_path.display()))?;
        println!("config      {}", config_path.display());
    }
    let config = Config::load(config_path)?;
    if config.key_file.exists() {
        println!("key         {} (kept)", config.key_file.display());
    } else {
        MasterKey::generate_file(&config.key_file)?;
        println!(
            "key         {} (new; back it up: without it no seed opens)",
            config.key_file.display()
        );
    }
    crate::store::open(&config.store_url, config.store_max_connections).await?;
    println!("database    {}", redact_url(&config.store_url));
    if config.tls.cert.exists() {
        println!("certificate {} (kept)", config.tls.cert.display());
    } else if let Some(certs_dir) = config.tls.cert.parent() {
        let made = crate::certs::generate_dev_certs(certs_dir)?;
        println!(
            "certificate {} (dev CA: {})",
            made.server_cert.display(),
            made.ca_cert.display()
        );
    }
    Ok(config)
}
