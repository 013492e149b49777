//! What the operator runs the gateway with, beyond serving: master-key rotation (reseal
//! every secret under a new key, in one transaction), certificate expiry, and the
//! operational metrics sampled for `/metrics` (database pool, memory, hashing pool).
//! The command-line side (files, messages) is in `cli/ops.rs`.

use crate::audit::EventKind;
use crate::crypto::MasterKey;
use crate::model::UnixTime;
use crate::service::Actor;
use crate::store::{SealedColumn, Store, StoreError};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{column} row {row} does not open with the current key: {problem}")]
    DoesNotOpen {
        column: &'static str,
        row: String,
        problem: String,
    },
    #[error("sealing under the new key failed: {0}")]
    Seal(String),
    #[error("after the rotation, {column} row {row} does not open with the new key")]
    NotResealed { column: &'static str, row: String },
    #[error("certificate file {file}: {problem}")]
    Certificate { file: String, problem: String },
}

/// What a rotation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RotateReport {
    /// Secrets resealed, per column.
    pub resealed: BTreeMap<&'static str, u64>,
    pub old_fingerprint: String,
    pub new_fingerprint: String,
}

impl RotateReport {
    pub fn total(&self) -> u64 {
        self.resealed.values().sum()
    }
}

/// Reseal every secret sealed with `old` under `new`, each with its own associated data, in
/// one transaction with its audit event (kind `signing_key_changed`, detail `master_key`).
/// Every secret is opened first: one that does not open stops the rotation before anything
/// is written. Afterwards every secret is read back and opened with `new`.
pub async fn rotate_key(
    store: &dyn Store,
    old: &MasterKey,
    new: &MasterKey,
    actor: &Actor,
    now: UnixTime,
) -> Result<RotateReport, OpsError> {
    let secrets = store.sealed_secrets().await?;
    let mut report = RotateReport {
        old_fingerprint: old.fingerprint(),
        new_fingerprint: new.fingerprint(),
        ..RotateReport::default()
    };
    for column in SealedColumn::ALL {
        report.resealed.insert(column.as_str(), 0);
    }
    let mut updates = Vec::with_capacity(secrets.len());
    for s in secrets {
        let plain = old
            .open(&s.sealed, &s.aad)
            .map_err(|e| OpsError::DoesNotOpen {
                column: s.column.as_str(),
                row: s.row.to_string(),
                problem: e.to_string(),
            })?;
        let sealed = new
            .seal(plain.expose(), &s.aad)
            .map_err(|e| OpsError::Seal(e.to_string()))?;
        *report.resealed.entry(s.column.as_str()).or_default() += 1;
        updates.push((s, sealed));
    }
    let mut event = actor.event(EventKind::SigningKeyChanged, now);
    event.detail = Some(serde_json::json!({
        "master_key": "rotated",
        "old_fingerprint": report.old_fingerprint,
        "new_fingerprint": report.new_fingerprint,
        "resealed": report.resealed,
    }));
    store.reseal(&updates, &event).await?;
    for s in store.sealed_secrets().await? {
        if new.open(&s.sealed, &s.aad).is_err() {
            return Err(OpsError::NotResealed {
                column: s.column.as_str(),
                row: s.row.to_string(),
            });
        }
    }
    Ok(report)
}

/// Which of `keys` opens every sealed secret in the store (the first that does), if any:
/// after an interrupted rotation, this names the key the database is sealed under.
pub async fn key_that_opens(
    store: &dyn Store,
    keys: &[&MasterKey],
) -> Result<Option<usize>, OpsError> {
    let secrets = store.sealed_secrets().await?;
    Ok(keys
        .iter()
        .position(|k| secrets.iter().all(|s| k.open(&s.sealed, &s.aad).is_ok())))
}

/// One certificate of a PEM file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    /// Unix seconds.
    pub not_after: UnixTime,
}

impl CertInfo {
    /// Whole days left at `now` (negative: expired).
    pub fn days_left(&self, now: UnixTime) -> i64 {
        (self.not_after - now).div_euclid(86_400)
    }
}

/// The certificates in a PEM file, in file order (the leaf first, for a server chain).
pub fn certificates(path: &Path) -> Result<Vec<CertInfo>, OpsError> {
    let problem = |p: String| OpsError::Certificate {
        file: path.display().to_string(),
        problem: p,
    };
    let pem = std::fs::read(path).map_err(|e| problem(e.to_string()))?;
    let mut out = Vec::new();
    for der in rustls_pemfile::certs(&mut pem.as_slice()) {
        let der = der.map_err(|e| problem(format!("not PEM: {e}")))?;
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
            .map_err(|e| problem(format!("not an X.509 certificate: {e}")))?;
        out.push(CertInfo {
            subject: cert.subject().to_string(),
            not_after: cert.validity().not_after.timestamp(),
        });
    }
    if out.is_empty() {
        return Err(problem("no certificate in it".into()));
    }
    Ok(out)
}

/// Describe the operational metrics (once, with the recorder).
pub fn describe_metrics() {
    use crate::telemetry as t;
    metrics::describe_gauge!(
        t::HASHING_THREADS,
        "Password-hashing threads (the login capacity)"
    );
    metrics::describe_counter!(t::SIEM_SENT, "Audit events sent to the SIEM");
    metrics::describe_counter!(t::SIEM_ERRORS, "SIEM sink errors (open or send)");
    metrics::describe_gauge!(
        t::SIEM_LAG,
        "Audit events written but not yet sent to the SIEM"
    );
    metrics::describe_counter!(
        t::AUDIT_WRITE_FAILURES,
        "Audit events that could not be written (the action was refused)"
    );
    metrics::describe_counter!(t::APPROVALS, "Out-of-band approvals by result");
    metrics::describe_counter!(t::PUSH, "Web Push deliveries by result");
    metrics::describe_counter!(t::MAIL, "Mails to people by result");
    metrics::describe_histogram!(
        t::DB_POOL_WAIT_SECONDS,
        "Time to take a database connection (sampled every 10 s)"
    );
    metrics::describe_gauge!(t::DB_POOL_CONNECTIONS, "Database connections open");
    metrics::describe_gauge!(t::DB_POOL_IDLE, "Database connections idle");
    metrics::describe_gauge!(
        t::CERT_EXPIRY,
        "When the served TLS certificate expires (Unix seconds)"
    );
    metrics::describe_gauge!(t::PROCESS_RSS, "Resident memory of the gateway process");
    metrics::describe_gauge!(t::BUILD_INFO, "The gateway's version (value 1)");
}

/// Count an audit event that could not be written (the action it describes was refused).
pub fn count_audit_write_failure() {
    metrics::counter!(crate::telemetry::AUDIT_WRITE_FAILURES).increment(1);
}

/// Sample the database pool (its wait too): the serve loop calls this every 10 seconds.
pub async fn sample_pool(store: &dyn Store) {
    use crate::telemetry as t;
    let stats = store.pool_stats();
    metrics::gauge!(t::DB_POOL_CONNECTIONS).set(f64::from(stats.size));
    metrics::gauge!(t::DB_POOL_IDLE).set(f64::from(stats.idle));
    match store.pool_wait().await {
        Ok(waited) => metrics::histogram!(t::DB_POOL_WAIT_SECONDS).record(waited.as_secs_f64()),
        Err(e) => tracing::warn!(error = %e, "database pool: no connection"),
    }
}

/// What is read when `/metrics` is rendered: resident memory, hashing threads.
pub fn sample_process(hashing_threads: usize) {
    use crate::telemetry as t;
    if let Some(rss) = resident_bytes() {
        metrics::gauge!(t::PROCESS_RSS).set(rss as f64);
    }
    metrics::gauge!(t::HASHING_THREADS).set(hashing_threads as f64);
    metrics::gauge!(t::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// The served certificate's expiry as a metric, and a warning in the log when it is near.
pub fn watch_certificate(path: &Path, now: UnixTime, warn_days: i64) {
    match certificates(path) {
        Ok(certs) => {
            if let Some(leaf) = certs.first() {
                metrics::gauge!(crate::telemetry::CERT_EXPIRY).set(leaf.not_after as f64);
                let days = leaf.days_left(now);
                if days < warn_days {
                    tracing::warn!(
                        file = %path.display(),
                        subject = %leaf.subject,
                        days_left = days,
                        "the TLS certificate expires soon: renew it and restart"
                    );
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the TLS certificate's expiry"),
    }
}

/// This process's resident memory (Linux: /proc/self/statm), in bytes.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn certificate_expiry_of_the_dev_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let certs = crate::certs::generate_dev_certs(dir.path()).unwrap();
        let server = certificates(&certs.server_cert).unwrap();
        assert_eq!(server.len(), 1);
        assert!(server[0].subject.contains("localhost"), "{:?}", server[0]);
        let now = crate::model::now();
        assert!(server[0].days_left(now) > 300, "{:?}", server[0]);
        let info = CertInfo {
            subject: "x".into(),
            not_after: now + 86_400 * 3 + 5,
        };
        assert_eq!(info.days_left(now), 3);
        assert_eq!(info.days_left(now + 86_400 * 4), -1);
        std::fs::write(dir.path().join("bad.pem"), "nothing here").unwrap();
        assert!(certificates(&dir.path().join("bad.pem")).is_err());
        assert!(certificates(&dir.path().join("missing.pem")).is_err());
    }
}
