//! Registered clients (relying parties).

use crate::error::{OidcError, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

/// The algorithm a client's ID tokens are signed with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    /// Ed25519 (RFC 8037); the default.
    #[default]
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256, for relying parties without EdDSA.
    Rs256,
}

impl SigningAlg {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
        }
    }

    pub(crate) fn jose(self) -> openidconnect::core::CoreJwsSigningAlgorithm {
        use openidconnect::core::CoreJwsSigningAlgorithm as A;
        match self {
            Self::EdDsa => A::EdDsa,
            Self::Rs256 => A::RsaSsaPkcs1V15Sha256,
        }
    }
}

/// A relying party allowed to use this provider.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRegistration {
    pub client_id: String,
    /// Shown on the login page.
    pub name: String,
    /// Confidential client: SHA-256 of its secret ([`hash_client_secret`]); secrets are long
    /// random strings, so a fast hash is right. `None`: a public client (PKCE always required).
    pub secret_sha256: Option<[u8; 32]>,
    /// Exact match only.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser back to (exact match).
    pub post_logout_redirect_uris: Vec<String>,
    /// Authorization code flow (default true).
    pub allow_code: bool,
    /// `response_type=id_token` (default false; Apache Guacamole needs it).
    pub allow_implicit_id_token: bool,
    /// PKCE with S256 required (default true); public clients always require it.
    pub require_pkce: bool,
    /// Issue refresh tokens, rotated on every use (default false).
    pub refresh_tokens: bool,
    pub id_token_alg: SigningAlg,
    /// Seconds (default 300).
    pub id_token_lifetime: u64,
    /// Seconds (default 300).
    pub access_token_lifetime: u64,
    /// Seconds; each use gives a new refresh token valid this long (default 28800).
    pub refresh_token_lifetime: u64,
    /// OIDC Back-Channel Logout 1.0: where a logout token is POSTed when a single sign-on
    /// session this client got tokens in ends (https; http only on loopback). None: off.
    pub backchannel_logout_uri: Option<String>,
    /// The client needs `sid` in logout tokens (ours always carry it).
    pub backchannel_logout_session_required: bool,
}

impl std::fmt::Debug for ClientRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRegistration")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("confidential", &self.secret_sha256.is_some())
            .field("redirect_uris", &self.redirect_uris)
            .field("post_logout_redirect_uris", &self.post_logout_redirect_uris)
            .field("allow_code", &self.allow_code)
            .field("allow_implicit_id_token", &self.allow_implicit_id_token)
            .field("require_pkce", &self.require_pkce)
            .field("refresh_tokens", &self.refresh_tokens)
            .field("id_token_alg", &self.id_token_alg)
            .field("backchannel_logout_uri", &self.backchannel_logout_uri)
            .finish_non_exhaustive()
    }
}

/// SHA-256 of a client secret, as kept in [`ClientRegistration::secret_sha256`].
pub fn hash_client_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl ClientRegistration {
    /// A public code-flow client with the documented defaults.
    pub fn new(client_id: impl Into<String>, name: impl Into<String>, redirect_uri: &str) -> Self {
        Self {
            client_id: client_id.into(),
            name: name.into(),
            secret_sha256: None,
            redirect_uris: vec![redirect_uri.to_owned()],
            post_logout_redirect_uris: Vec::new(),
            allow_code: true,
            allow_implicit_id_token: false,
            require_pkce: true,
            refresh_tokens: false,
            id_token_alg: SigningAlg::EdDsa,
            id_token_lifetime: 300,
            access_token_lifetime: 300,
            refresh_token_lifetime: 28_800,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
        }
    }

    /// A public client has no secret.
    pub fn is_public(&self) -> bool {
        self.secret_sha256.is_none()
    }

    /// PKCE is required for this client's code flow.
    pub fn pkce_required(&self) -> bool {
        self.require_pkce || self.is_public()
    }

    fn validate(&self) -> Result<()> {
        let id = &self.client_id;
        let fail = |what: &str| Err(OidcError::Config(format!("client {id:?}: {what}")));
        if id.is_empty() || id.len() > 255 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return fail("client_id must be 1-255 visible ASCII characters");
        }
        if self.name.trim().is_empty() {
            return fail("name is empty");
        }
        if !self.allow_code && !self.allow_implicit_id_token {
            return fail("allows no flow");
        }
        if self.redirect_uris.is_empty() {
            return fail("has no redirect_uris");
        }
        for uri in self
            .redirect_uris
            .iter()
            .chain(&self.post_logout_redirect_uris)
        {
            if let Err(why) = check_redirect_uri(uri) {
                return fail(&format!("redirect URI {uri:?}: {why}"));
            }
        }
        if let Some(uri) = &self.backchannel_logout_uri
            && let Err(why) = check_backchannel_uri(uri)
        {
            return fail(&format!("backchannel_logout_uri {uri:?}: {why}"));
        }
        for (what, secs, max) in [
            ("id_token_lifetime", self.id_token_lifetime, 86_400),
            ("access_token_lifetime", self.access_token_lifetime, 86_400),
            (
                "refresh_token_lifetime",
                self.refresh_token_lifetime,
                90 * 86_400,
            ),
        ] {
            if secs == 0 || secs > max {
                return fail(&format!("{what} must be 1..={max} seconds"));
            }
        }
        Ok(())
    }
}

/// A registered redirect URI: absolute, no fragment; https, http on loopback, or a private-use
/// scheme of a native app (RFC 8252 7.1); never a scheme that runs code.
fn check_redirect_uri(uri: &str) -> std::result::Result<(), &'static str> {
    let url = url::Url::parse(uri).map_err(|_| "not an absolute URL")?;
    if url.fragment().is_some() {
        return Err("has a fragment");
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => match url.host() {
            Some(url::Host::Domain("localhost"))
            | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
            | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST)) => Ok(()),
            _ => Err("http only for loopback"),
        },
        "javascript" | "data" | "vbscript" | "file" | "blob" | "about" => Err("scheme not allowed"),
        _ => Ok(()),
    }
}

/// A back-channel logout URI (Back-Channel Logout 1.0 2.2): absolute, no fragment, https;
/// http only on a loopback address (tests).
pub fn check_backchannel_uri(uri: &str) -> std::result::Result<(), &'static str> {
    let url = url::Url::parse(uri).map_err(|_| "not an absolute URL")?;
    if url.fragment().is_some() {
        return Err("has a fragment");
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" => match url.host() {
            Some(url::Host::Domain("localhost")) => Ok(()),
            Some(url::Host::Ipv4(a)) if a.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(a)) if a.is_loopback() => Ok(()),
            _ => Err("http only for loopback"),
        },
        _ => Err("must be https"),
    }
}

/// Checks the registrations and indexes them by client_id.
pub(crate) fn index(
    clients: Vec<ClientRegistration>,
) -> Result<HashMap<String, ClientRegistration>> {
    let mut map = HashMap::new();
    for c in clients {
        c.validate()?;
        if map.contains_key(&c.client_id) {
            return Err(OidcError::Config(format!(
                "client {:?} registered twice",
                c.client_id
            )));
        }
        map.insert(c.client_id.clone(), c);
    }
    Ok(map)
}

/// The algorithms some client uses.
pub(crate) fn algs_in_use<'a>(
    clients: impl Iterator<Item = &'a ClientRegistration>,
) -> Vec<SigningAlg> {
    let mut set: HashSet<SigningAlg> = clients.map(|c| c.id_token_alg).collect();
    set.insert(SigningAlg::EdDsa);
    let mut algs: Vec<_> = set.into_iter().collect();
    algs.sort_by_key(|a| a.as_str());
    algs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> HashMap<String, ClientRegistration> {
        let mut conf = ClientRegistration::new("app:1", "App", "https://app.example/cb");
        conf.secret_sha256 = Some(hash_client_secret("s3cr+t &x"));
        let public = ClientRegistration::new("spa", "SPA", "https://spa.example/cb");
        index(vec![conf, public]).unwrap()
    }

    #[test]
    fn registrations_are_checked() {
        let ok = ClientRegistration::new("a", "A", "https://a.example/cb");
        assert!(index(vec![ok.clone()]).is_ok());
        assert!(index(vec![ok.clone(), ok.clone()]).is_err());
        for bad in [
            "http://a.example/cb",
            "javascript:alert(1)",
            "https://a.example/cb#x",
            "/cb",
        ] {
            let c = ClientRegistration::new("a", "A", bad);
            assert!(index(vec![c]).is_err(), "{bad}");
        }
        assert!(
            index(vec![ClientRegistration::new(
                "a",
                "A",
                "http://127.0.0.1:9/cb"
            )])
            .is_ok()
        );
        assert!(
            index(vec![ClientRegistration::new(
                "a",
                "A",
                "com.example.app:/cb"
            )])
            .is_ok()
        );
        let mut none = ok.clone();
        none.allow_code = false;
        assert!(index(vec![none]).is_err());
        let mut spaces = ok;
        spaces.client_id = "a b".into();
        assert!(index(vec![spaces]).is_err());
        assert!(format!("{:?}", registry()).contains("confidential: true"));
    }

    #[test]
    fn backchannel_uris_are_https_or_loopback() {
        for (uri, ok) in [
            ("https://rp.example/bc", true),
            ("http://127.0.0.1:8080/bc", true),
            ("http://[::1]:8080/bc", true),
            ("http://localhost/bc", true),
            ("http://rp.example/bc", false),
            ("https://rp.example/bc#f", false),
            ("ftp://rp.example/bc", false),
            ("com.example.app:/bc", false),
            ("/bc", false),
        ] {
            let mut c = ClientRegistration::new("a", "A", "https://a.example/cb");
            c.backchannel_logout_uri = Some(uri.to_owned());
            assert_eq!(index(vec![c]).is_ok(), ok, "{uri}");
        }
    }
}
