//! `[audit]` and `[audit.siem]`: retention, the hash chain and the SIEM sink.

use super::{ConfigError, invalid, resolve};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAudit {
    pub retention_days: std::collections::BTreeMap<String, u32>,
    pub erase_removed_after_days: u32,
    pub siem: RawSiem,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSiem {
    pub sink: String,
    pub path: String,
    pub address: String,
    pub protocol: String,
    pub position_file: String,
}

impl Default for RawSiem {
    fn default() -> Self {
        Self {
            sink: "off".into(),
            path: "audit-stream.jsonl".into(),
            address: String::new(),
            protocol: "udp".into(),
            position_file: "siem.position".into(),
        }
    }
}

impl Default for RawAudit {
    fn default() -> Self {
        Self {
            retention_days: [
                ("login_attempt".to_owned(), 365),
                ("default".to_owned(), 2557),
            ]
            .into_iter()
            .collect(),
            erase_removed_after_days: 30,
            siem: RawSiem::default(),
        }
    }
}

/// Audit retention: days per event kind (`default` for kinds not named).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    pub retention_days: std::collections::BTreeMap<String, u32>,
    pub default_retention_days: u32,
    /// A removed person's identity is replaced by a pseudonym this long after removal.
    pub erase_removed_after_days: u32,
    /// Where events are streamed as they are written (a SIEM), if anywhere.
    pub siem: Option<SiemSink>,
    /// Where the stream remembers the last event it sent.
    pub siem_position_file: PathBuf,
}

/// A SIEM stream: JSON lines to a file, or RFC 5424 syslog messages over UDP or TCP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiemSink {
    File(PathBuf),
    SyslogUdp(std::net::SocketAddr),
    SyslogTcp(std::net::SocketAddr),
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            retention_days: [("login_attempt".to_owned(), 365)].into_iter().collect(),
            default_retention_days: 2557,
            erase_removed_after_days: 30,
            siem: None,
            siem_position_file: PathBuf::from("siem.position"),
        }
    }
}

pub(super) fn validate_siem(s: &RawSiem, base: &Path) -> Result<Option<SiemSink>, ConfigError> {
    let address = || -> Result<std::net::SocketAddr, ConfigError> {
        s.address.trim().parse().map_err(|_| {
            invalid(
                "audit.siem.address",
                format!(
                    "`{}` is not an address:port such as 192.0.2.5:514",
                    s.address
                ),
            )
        })
    };
    match s.sink.as_str() {
        "off" => Ok(None),
        "file" => {
            if s.path.trim().is_empty() {
                return Err(invalid("audit.siem.path", "give the file to append to"));
            }
            Ok(Some(SiemSink::File(resolve(base, &s.path))))
        }
        "syslog" => match s.protocol.as_str() {
            "udp" => Ok(Some(SiemSink::SyslogUdp(address()?))),
            "tcp" => Ok(Some(SiemSink::SyslogTcp(address()?))),
            other => Err(invalid(
                "audit.siem.protocol",
                format!("`{other}` is not one of: udp, tcp"),
            )),
        },
        other => Err(invalid(
            "audit.siem.sink",
            format!("`{other}` is not one of: off, file, syslog"),
        )),
    }
}

pub(super) fn validate_audit(a: RawAudit, base: &Path) -> Result<AuditSettings, ConfigError> {
    let siem = validate_siem(&a.siem, base)?;
    let siem_position_file = resolve(base, &a.siem.position_file);
    let mut retention_days = std::collections::BTreeMap::new();
    let mut default_retention_days = 2557;
    for (kind, days) in a.retention_days {
        if days == 0 {
            return Err(invalid(
                "audit.retention_days",
                format!("`{kind}`: 0 days would purge at once; give at least 1"),
            ));
        }
        if kind == "default" {
            default_retention_days = days;
        } else if crate::audit::EventKind::ALL
            .iter()
            .any(|k| k.as_str() == kind)
        {
            retention_days.insert(kind, days);
        } else {
            return Err(invalid(
                "audit.retention_days",
                format!(
                    "`{kind}` is not `default` or an event kind ({})",
                    crate::audit::EventKind::ALL.map(|k| k.as_str()).join(", ")
                ),
            ));
        }
    }
    Ok(AuditSettings {
        retention_days,
        default_retention_days,
        erase_removed_after_days: a.erase_removed_after_days,
        siem,
        siem_position_file,
    })
}
