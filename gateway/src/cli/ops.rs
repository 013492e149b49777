//! `mfa-gateway backup | restore | key | cert`: the operator's kit (docs/operations.md).

use super::*;
use crate::audit_chain;

#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Make a new master key and reseal every secret under it (device seeds, security keys,
    /// activation seeds, OIDC signing keys, the audit checkpoint key) in one transaction.
    /// Stop every gateway instance first. The old key file is kept next to it as
    /// `<key file>.<time>.old`.
    Rotate {
        /// Write the new key here instead of replacing the key file (needed when the key
        /// comes from the environment variable).
        #[arg(long)]
        new_key_file: Option<PathBuf>,
    },
    /// Which key opens the database's secrets: the configured one, or (after an interrupted
    /// rotation) `<key file>.new`.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum CertCmd {
    /// The expiry of the TLS certificate (`tls.cert`, its chain) and the RadSec client CA
    /// (`tls.client_ca`); exit code 1 when one expires within --warn-days or has expired.
    Check {
        #[arg(long, default_value_t = 30)]
        warn_days: i64,
    },
}

/// `backup DEST`: sign the chain's head, copy the database online into DEST (SQLite,
/// `VACUUM INTO`: one consistent snapshot while the gateway serves), then check the copy
/// against that checkpoint.
pub(super) async fn backup(config_path: &Path, dest: &Path) -> anyhow::Result<()> {
    let (config, gw) = open_gateway(config_path).await?;
    let store = gw.store();
    if store.database() == "postgres" {
        bail!(
            "the database is PostgreSQL: back it up with pg_dump, e.g. \
             `pg_dump --format=custom --file=mfa.dump \"$URL\"` (docs/operations.md)"
        );
    }
    let cp = audit_chain::checkpoint_now(store.as_ref(), gw.master_key(), now()).await?;
    let started = std::time::Instant::now();
    store
        .backup_into(dest)
        .await
        .with_context(|| format!("backing up into {}", dest.display()))?;
    std::fs::File::open(dest)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {}", dest.display()))?;
    let secs = started.elapsed().as_secs_f64();
    let size = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    // The copy holds the checkpoint signed just before, and a chain that reaches it.
    let copy = open_copy(dest).await?;
    let key = audit_chain::load_key(&copy, gw.master_key()).await?;
    let public = key.map(|k| *k.verifying_key().as_bytes());
    let (report, _) = audit_chain::verify_since_checkpoint(&copy, public.as_ref()).await?;
    if let Some(problem) = report.problem {
        bail!("the backup {} does not verify: {problem}", dest.display());
    }
    let head = report.head.map_or(0, |(id, _)| id);
    println!(
        "backup {}: {size} bytes in {secs:.1} s, audit events up to {head}, checkpoint {} (event {}) verified",
        dest.display(),
        cp.id,
        cp.last_event_id
    );
    println!(
        "keep the master key ({}) apart from the backups, and safe: the backup's secrets are sealed with it",
        config.key_file.display()
    );
    Ok(())
}

/// A backup file opened read-only as a store (no migration, nothing written).
async fn open_copy(path: &Path) -> anyhow::Result<crate::store::SqliteStore> {
    use sqlx::sqlite::SqliteConnectOptions;
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false);
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    Ok(crate::store::SqliteStore::from_pool(pool))
}

/// `restore SRC`: check the backup (a SQLite database whose chain verifies under this
/// config's key), then put it in place of the configured database file. The gateway must
/// be stopped. An existing database is replaced only with `--force` (and kept as
/// `<file>.<time>.replaced`).
pub(super) async fn restore(config_path: &Path, src: &Path, force: bool) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    let Some(target) = sqlite_path(&config.store_url) else {
        bail!(
            "the database is PostgreSQL: restore it with pg_restore, e.g. \
             `pg_restore --clean --if-exists --dbname=\"$URL\" mfa.dump` (docs/operations.md)"
        );
    };
    let key = MasterKey::load(&config.key_file, &config.key_env)?;
    if !src.is_file() {
        bail!("{} is not a file", src.display());
    }
    // Check the copy before anything is touched: integrity, then the chain and key.
    let copy = open_copy(src).await?;
    let check: String = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_one(copy.pool())
        .await
        .with_context(|| format!("{} is not a SQLite database", src.display()))?;
    if check != "ok" {
        bail!("{} is damaged: {check}", src.display());
    }
    let audit_key = audit_chain::load_key(&copy, &key)
        .await
        .context("the backup's audit key does not open with this config's master key")?;
    let public = audit_key.map(|k| *k.verifying_key().as_bytes());
    let (report, _) = audit_chain::verify_since_checkpoint(&copy, public.as_ref()).await?;
    if let Some(problem) = report.problem {
        bail!("the backup {} does not verify: {problem}", src.display());
    }
    if crate::ops::key_that_opens(&copy, &[&key]).await? != Some(0) {
        bail!("the backup's secrets do not open with this config's master key");
    }
    copy.pool().close().await;
    let stamp = crate::audit::format_time(now())
        .replace([':', '-'], "")
        .replace('T', "-");
    if target.exists() {
        if !force {
            bail!(
                "{} exists: stop the gateway and give --force to replace it (it is kept as {}.{stamp}.replaced)",
                target.display(),
                target.display()
            );
        }
        let kept = PathBuf::from(format!("{}.{stamp}.replaced", target.display()));
        std::fs::rename(&target, &kept)
            .with_context(|| format!("moving {} aside", target.display()))?;
        println!("the database that was there is kept as {}", kept.display());
    }
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
    }
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = PathBuf::from(format!("{}.restoring", target.display()));
    std::fs::copy(src, &tmp).with_context(|| format!("copying to {}", tmp.display()))?;
    std::fs::File::open(&tmp).and_then(|f| f.sync_all())?;
    std::fs::rename(&tmp, &target)
        .with_context(|| format!("moving {} into place", tmp.display()))?;
    // Open it as the gateway will (migrations, WAL) and verify once more.
    let (_, gw) = open_gateway(config_path).await?;
    let k = audit_chain::load_key(gw.store().as_ref(), gw.master_key()).await?;
    let public = k.map(|k| *k.verifying_key().as_bytes());
    let (report, _) =
        audit_chain::verify_since_checkpoint(gw.store().as_ref(), public.as_ref()).await?;
    if let Some(problem) = report.problem {
        bail!("the restored database does not verify: {problem}");
    }
    println!(
        "restored {} from {}: audit chain ok up to event {} (run `audit verify` for the whole chain)",
        target.display(),
        src.display(),
        report.head.map_or(0, |(id, _)| id)
    );
    Ok(())
}

/// The file of a `sqlite://` URL (None: PostgreSQL).
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    let file = rest.split_once('?').map_or(rest, |(f, _)| f);
    Some(PathBuf::from(file))
}

/// `key rotate`.
pub(super) async fn key(config_path: &Path, cmd: KeyCmd) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    let from_env = !config.key_env.is_empty() && std::env::var_os(&config.key_env).is_some();
    let staged = PathBuf::from(format!("{}.new", config.key_file.display()));
    let store = crate::store::open(&config.store_url, config.store_max_connections)
        .await
        .with_context(|| format!("opening the store {}", redact_url(&config.store_url)))?;
    match cmd {
        KeyCmd::Check => {
            let current = MasterKey::load(&config.key_file, &config.key_env)?;
            let mut keys = vec![&current];
            let staged_key = staged
                .exists()
                .then(|| MasterKey::load(&staged, ""))
                .transpose()?;
            if let Some(k) = &staged_key {
                keys.push(k);
            }
            match crate::ops::key_that_opens(store.as_ref(), &keys).await? {
                Some(0) => println!(
                    "the configured key ({}) opens every secret",
                    current.fingerprint()
                ),
                Some(_) => bail!(
                    "the database is sealed under {} (a rotation was interrupted after the database was resealed): \
                     move it over the key file (`mv {} {}`)",
                    staged.display(),
                    staged.display(),
                    config.key_file.display()
                ),
                None => bail!("no key at hand opens every secret in the database"),
            }
        }
        KeyCmd::Rotate { new_key_file } => {
            let old = MasterKey::load(&config.key_file, &config.key_env)?;
            let target = match (&new_key_file, from_env) {
                (Some(p), _) => p.clone(),
                (None, true) => bail!(
                    "the key comes from ${}: give --new-key-file FILE for the new one, then put it in ${} for every instance",
                    config.key_env,
                    config.key_env
                ),
                (None, false) => staged.clone(),
            };
            if target.exists() {
                bail!(
                    "{} exists: a rotation was started before. Run `key check` to see which key the database needs",
                    target.display()
                );
            }
            let new = MasterKey::generate_file(&target)?;
            let report = match crate::ops::rotate_key(
                store.as_ref(),
                &old,
                &new,
                &Actor::cli(),
                now(),
            )
            .await
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = std::fs::remove_file(&target);
                    return Err(anyhow::Error::new(e).context("nothing was changed"));
                }
            };
            for (column, n) in &report.resealed {
                println!("{column}: {n} resealed");
            }
            println!(
                "master key rotated: {} secrets resealed in one transaction (key {} -> {})",
                report.total(),
                report.old_fingerprint,
                report.new_fingerprint
            );
            if new_key_file.is_none() {
                let stamp = crate::audit::format_time(now())
                    .replace([':', '-'], "")
                    .replace('T', "-");
                let kept = PathBuf::from(format!("{}.{stamp}.old", config.key_file.display()));
                let old_text = std::fs::read(&config.key_file)
                    .with_context(|| format!("reading {}", config.key_file.display()))?;
                crate::crypto::write_private(&kept, &old_text)
                    .with_context(|| format!("keeping the old key as {}", kept.display()))?;
                std::fs::rename(&target, &config.key_file).with_context(|| {
                    format!(
                        "moving {} over {} (do it by hand: the database is sealed under the new key)",
                        target.display(),
                        config.key_file.display()
                    )
                })?;
                println!(
                    "new key in {}; the old one kept as {} (needed only for backups made before now)",
                    config.key_file.display(),
                    kept.display()
                );
            } else {
                println!(
                    "new key in {}: install it (e.g. in ${}) on every instance before starting them",
                    target.display(),
                    config.key_env
                );
            }
            println!(
                "keys derived from the master key change too: people re-enable push notifications \
                 on their phones, unused recovery and temporary codes are void (people make new \
                 recovery codes in the portal), and pseudonyms of events purged from now on \
                 differ from earlier ones"
            );
        }
    }
    Ok(())
}

/// `cert check`.
pub(super) fn cert(config_path: &Path, cmd: CertCmd) -> anyhow::Result<()> {
    let CertCmd::Check { warn_days } = cmd;
    let config = Config::load(config_path)?;
    let t = now();
    let mut soon = Vec::new();
    for (what, path) in [
        ("tls.cert", &config.tls.cert),
        ("tls.client_ca", &config.tls.client_ca),
    ] {
        if !path.exists() {
            println!("{what}: {} (none)", path.display());
            continue;
        }
        for c in crate::ops::certificates(path)? {
            let days = c.days_left(t);
            let state = if days < 0 {
                "EXPIRED"
            } else if days < warn_days {
                "expires soon"
            } else {
                "ok"
            };
            println!(
                "{what}: {} expires {} ({days} days): {state}",
                c.subject,
                crate::audit::format_time(c.not_after)
            );
            if days < warn_days {
                soon.push(format!("{what} {}", c.subject));
            }
        }
    }
    if !soon.is_empty() {
        bail!("within {warn_days} days or expired: {}", soon.join("; "));
    }
    Ok(())
}
