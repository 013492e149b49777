//! The client table: which NAS may talk to us, with which secret and rules. A request from
//! an address in no client's network is dropped; the most specific network wins.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::address::AddressAttribute;
use crate::auth::SharedSecret;

/// The shared secret RFC 6614 section 2.3 fixes for RADIUS over TLS.
pub const RADSEC_DEFAULT_SECRET: &str = "radsec";

/// How often, at most, a bad Message-Authenticator from one client is logged.
pub(crate) const BAD_MA_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// How a client sends the second factor; the policy interprets it, the protocol only
/// passes it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMode {
    /// The one-time code is appended to the password, optionally after a separator.
    Append {
        /// Character between password and code, if any.
        separator: Option<char>,
    },
    /// The password comes first; the code is asked for with an Access-Challenge.
    Challenge,
    /// The client checked the password itself and sends only the user (and maybe a code).
    SecondFactorOnly,
    /// The client checked the password itself (NetScaler with LDAP as primary, a VPN's
    /// second step): User-Password holds only a one-time code; empty, absent or `push` asks
    /// for an out-of-band approval.
    CodeOnly,
}

/// When requests from a client must carry a Message-Authenticator (RFC 3579, BlastRADIUS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageAuthenticatorPolicy {
    /// Every request must carry one (the default).
    #[default]
    Required,
    /// Checked when present, not demanded.
    NotRequired,
    /// Required from the first request of that client that carries a valid one.
    Auto,
}

/// One NAS (or a network of them) sharing a secret.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Name for logs and for the policy.
    pub name: String,
    /// Source addresses this entry covers.
    pub network: IpNet,
    /// Shared secret over UDP.
    pub secret: SharedSecret,
    /// Shared secret over RadSec; `None` means "radsec" as RFC 6614 says.
    pub radsec_secret: Option<SharedSecret>,
    /// How the client sends the second factor.
    pub mode: ClientMode,
    /// Message-Authenticator rule for requests.
    pub message_authenticator: MessageAuthenticatorPolicy,
    /// Class attribute added to every Access-Accept.
    pub class: Option<Vec<u8>>,
    /// Session-Timeout added to every Access-Accept.
    pub session_timeout: Option<u32>,
    /// Attributes that carry the end user's address, in the order they are believed.
    pub end_user_address: Vec<AddressAttribute>,
    /// RadSec: the name the client certificate must carry (a DNS subjectAltName or the
    /// subject CN). Unset, and no `radsec_cert_sha256` either: the client's `name`.
    pub radsec_identity: Option<String>,
    /// RadSec: SHA-256 fingerprints of the client certificates this client may use; when
    /// set, they bind the client instead of the identity.
    pub radsec_cert_sha256: Vec<[u8; 32]>,
}

impl ClientConfig {
    /// A client in `Challenge` mode with a required Message-Authenticator, no Class and no
    /// Session-Timeout.
    pub fn new(name: impl Into<String>, network: IpNet, secret: SharedSecret) -> Self {
        ClientConfig {
            name: name.into(),
            network,
            secret,
            radsec_secret: None,
            mode: ClientMode::Challenge,
            message_authenticator: MessageAuthenticatorPolicy::Required,
            class: None,
            session_timeout: None,
            end_user_address: Vec::new(),
            radsec_identity: None,
            radsec_cert_sha256: Vec::new(),
        }
    }
}

/// What the policy learns about the client a request came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's configured name.
    pub name: String,
    /// How it sends the second factor.
    pub mode: ClientMode,
}

/// A configured client plus the little state the protocol keeps about it.
#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) config: ClientConfig,
    pub(crate) info: Arc<ClientInfo>,
    radsec_secret: SharedSecret,
    /// For `Auto`: a valid Message-Authenticator has been seen.
    seen_message_authenticator: AtomicBool,
    last_bad_ma_log: Mutex<Option<Instant>>,
}

impl Client {
    fn new(config: ClientConfig) -> Self {
        let info = Arc::new(ClientInfo {
            name: config.name.clone(),
            mode: config.mode.clone(),
        });
        let radsec_secret = config
            .radsec_secret
            .clone()
            .unwrap_or_else(|| SharedSecret::from(RADSEC_DEFAULT_SECRET));
        Client {
            config,
            info,
            radsec_secret,
            seen_message_authenticator: AtomicBool::new(false),
            last_bad_ma_log: Mutex::new(None),
        }
    }

    /// The secret for the given transport.
    pub(crate) fn secret(&self, tls: bool) -> &SharedSecret {
        if tls {
            &self.radsec_secret
        } else {
            &self.config.secret
        }
    }

    /// Whether a request without Message-Authenticator must be dropped.
    pub(crate) fn requires_message_authenticator(&self) -> bool {
        match self.config.message_authenticator {
            MessageAuthenticatorPolicy::Required => true,
            MessageAuthenticatorPolicy::NotRequired => false,
            MessageAuthenticatorPolicy::Auto => {
                self.seen_message_authenticator.load(Ordering::Relaxed)
            }
        }
    }

    /// Records a valid Message-Authenticator (latches `Auto`). Returns true the first time.
    pub(crate) fn saw_message_authenticator(&self) -> bool {
        self.config.message_authenticator == MessageAuthenticatorPolicy::Auto
            && !self
                .seen_message_authenticator
                .swap(true, Ordering::Relaxed)
    }

    /// Whether a RadSec client certificate (`der`, the leaf) is this client's: its SHA-256
    /// is listed in `radsec_cert_sha256`, or (when none is listed) it names
    /// `radsec_identity`, or the client's name, as a DNS subjectAltName or the subject CN.
    pub(crate) fn certificate_matches(&self, der: &[u8]) -> bool {
        use sha2::{Digest as _, Sha256};
        if !self.config.radsec_cert_sha256.is_empty() {
            let fingerprint: [u8; 32] = Sha256::digest(der).into();
            return self.config.radsec_cert_sha256.contains(&fingerprint);
        }
        let identity = self
            .config
            .radsec_identity
            .as_deref()
            .unwrap_or(&self.config.name);
        certificate_names(der)
            .iter()
            .any(|n| n.eq_ignore_ascii_case(identity.trim()))
    }

    /// Whether a bad Message-Authenticator seen at `now` should be logged (once a minute).
    pub(crate) fn should_log_bad_ma(&self, now: Instant) -> bool {
        let Ok(mut last) = self.last_bad_ma_log.lock() else {
            return false;
        };
        match *last {
            Some(at) if now.saturating_duration_since(at) < BAD_MA_LOG_INTERVAL => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }
}

/// The DNS subjectAltNames and subject common names of a certificate (none if it does not
/// parse).
fn certificate_names(der: &[u8]) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Vec::new();
    };
    let mut names: Vec<String> = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_owned))
        .collect();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let GeneralName::DNSName(dns) = name {
                names.push((*dns).to_owned());
            }
        }
    }
    names
}

/// Clients sorted most specific network first.
#[derive(Debug)]
pub(crate) struct ClientTable {
    clients: Vec<Arc<Client>>,
}

impl ClientTable {
    pub(crate) fn new(configs: &[ClientConfig]) -> Self {
        let mut clients: Vec<Arc<Client>> = configs
            .iter()
            .cloned()
            .map(|c| Arc::new(Client::new(c)))
            .collect();
        // Longest prefix first; the sort is stable, so equal networks keep config order.
        clients.sort_by_key(|c| std::cmp::Reverse(c.config.network.prefix_len()));
        ClientTable { clients }
    }

    /// The most specific client whose network holds `ip` (IPv4-mapped IPv6 counts as IPv4).
    pub(crate) fn lookup(&self, ip: IpAddr) -> Option<&Arc<Client>> {
        let ip = ip.to_canonical();
        self.clients.iter().find(|c| c.config.network.contains(&ip))
    }
}

/// The clients every server of one process looks up, replaceable while serving (a reload):
/// a request under way keeps the client it started with.
#[derive(Debug)]
pub struct Clients {
    table: std::sync::RwLock<Arc<ClientTable>>,
}

impl Clients {
    pub fn new(configs: &[ClientConfig]) -> Arc<Self> {
        Arc::new(Self {
            table: std::sync::RwLock::new(Arc::new(ClientTable::new(configs))),
        })
    }

    /// Replace the client list.
    pub fn replace(&self, configs: &[ClientConfig]) {
        let table = Arc::new(ClientTable::new(configs));
        *self
            .table
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = table;
    }

    pub(crate) fn lookup(&self, ip: IpAddr) -> Option<Arc<Client>> {
        self.table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .lookup(ip)
            .cloned()
    }

    /// How many clients are known.
    pub fn len(&self) -> usize {
        self.table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clients
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn client(name: &str, net: &str) -> ClientConfig {
        ClientConfig::new(name, net.parse().unwrap(), SharedSecret::from("s"))
    }

    #[test]
    fn most_specific_network_wins() {
        let table = ClientTable::new(&[
            client("wide", "10.0.0.0/8"),
            client("narrow", "10.1.2.0/24"),
            client("host", "10.1.2.3/32"),
            client("v6", "2001:db8::/32"),
        ]);
        let name = |ip: &str| {
            table
                .lookup(ip.parse().unwrap())
                .map(|c| c.info.name.clone())
        };
        assert_eq!(name("10.1.2.3").as_deref(), Some("host"));
        assert_eq!(name("10.1.2.4").as_deref(), Some("narrow"));
        assert_eq!(name("10.9.9.9").as_deref(), Some("wide"));
        assert_eq!(name("::ffff:10.9.9.9").as_deref(), Some("wide"));
        assert_eq!(name("2001:db8::1").as_deref(), Some("v6"));
        assert_eq!(name("192.0.2.1"), None);
    }

    #[test]
    fn auto_policy_latches_on_first_valid_message_authenticator() {
        let mut config = client("auto", "10.0.0.0/8");
        config.message_authenticator = MessageAuthenticatorPolicy::Auto;
        let table = ClientTable::new(&[config]);
        let c = table.lookup("10.0.0.1".parse().unwrap()).unwrap();
        assert!(!c.requires_message_authenticator());
        assert!(c.saw_message_authenticator());
        assert!(!c.saw_message_authenticator());
        assert!(c.requires_message_authenticator());
    }

    #[test]
    fn radsec_secret_defaults_to_radsec() {
        let table = ClientTable::new(&[client("c", "10.0.0.0/8")]);
        let c = table.lookup("10.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(c.secret(true).expose(), b"radsec");
        assert_eq!(c.secret(false).expose(), b"s");
    }

    #[test]
    fn bad_ma_logging_is_rate_limited() {
        let table = ClientTable::new(&[client("c", "10.0.0.0/8")]);
        let c = table.lookup("10.0.0.1".parse().unwrap()).unwrap();
        let t0 = Instant::now();
        assert!(c.should_log_bad_ma(t0));
        assert!(!c.should_log_bad_ma(t0 + Duration::from_secs(59)));
        assert!(c.should_log_bad_ma(t0 + Duration::from_secs(61)));
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let text = format!("{:?}", client("c", "10.0.0.0/8"));
        assert!(text.contains("<redacted>"), "{text}");
    }
}
