//! `[http]`, `[admin]` and `[tls]`: the HTTPS and admin listeners and the certificate paths.

use super::{ConfigError, invalid, socket_addrs};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawHttp {
    pub listen: Vec<String>,
    pub tls: bool,
    pub public_url: String,
    pub trusted_proxies: Vec<String>,
}

impl Default for RawHttp {
    fn default() -> Self {
        Self {
            listen: vec![],
            tls: true,
            public_url: String::new(),
            trusted_proxies: vec![],
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAdmin {
    pub listen: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTls {
    pub cert: String,
    pub key: String,
    pub client_ca: String,
}

impl Default for RawTls {
    fn default() -> Self {
        Self {
            cert: "certs/server.pem".into(),
            key: "certs/server.key".into(),
            client_ca: "certs/ca.pem".into(),
        }
    }
}

/// The web listener (OpenID Provider, login pages, metrics).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub listen: Vec<std::net::SocketAddr>,
    pub tls: bool,
    /// The issuer; None: derived from the first bound address.
    pub public_url: Option<String>,
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

#[derive(Debug, Clone)]
pub struct TlsPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: PathBuf,
}

pub(super) fn validate_http(h: RawHttp) -> Result<HttpSettings, ConfigError> {
    let listen = socket_addrs("http.listen", &h.listen)?;
    let public_url = match h.public_url.trim().trim_end_matches('/') {
        "" => None,
        u if u.starts_with("https://") || (!h.tls && u.starts_with("http://")) => {
            Some(u.to_owned())
        }
        u => {
            return Err(invalid(
                "http.public_url",
                format!(
                    "`{u}` must be an https:// URL (http:// only with tls = false behind a proxy)"
                ),
            ));
        }
    };
    let trusted_proxies = h
        .trusted_proxies
        .iter()
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    invalid(
                        "http.trusted_proxies",
                        format!("`{p}` is not an IP address or CIDR network"),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if h.tls && !trusted_proxies.is_empty() {
        return Err(invalid(
            "http.trusted_proxies",
            "only used with tls = false (behind a reverse proxy that terminates TLS)",
        ));
    }
    Ok(HttpSettings {
        listen,
        tls: h.tls,
        public_url,
        trusted_proxies,
    })
}
