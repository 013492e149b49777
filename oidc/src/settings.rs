//! Provider-wide settings.

use crate::error::{OidcError, Result};

/// Paths of the endpoints, relative to the issuer.
pub(crate) const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
pub(crate) const JWKS_PATH: &str = "/oauth2/jwks";
pub(crate) const AUTHORIZE_PATH: &str = "/oauth2/authorize";
pub(crate) const TOKEN_PATH: &str = "/oauth2/token";
pub(crate) const USERINFO_PATH: &str = "/oauth2/userinfo";
pub(crate) const LOGOUT_PATH: &str = "/oauth2/logout";

/// How the provider behaves as a whole (clients have their own [`crate::ClientRegistration`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The issuer identifier, `https://host[:port]` with no path and no trailing slash; the
    /// endpoints live under it. Plain `http` is accepted for loopback hosts only (development).
    pub issuer: String,
    /// How long an authorization code may wait to be exchanged, in seconds (default 60).
    pub code_lifetime: u64,
    /// How long a login may take, from /authorize to [`crate::Provider::complete`], in seconds
    /// (default 600).
    pub pending_lifetime: u64,
    /// A new signing key takes over every this many days (default 30; 0: never rotate).
    pub key_rotation_days: u64,
    /// A new key is published in the JWKS this many seconds before it signs anything, so that
    /// relying parties that cache the JWKS know it in time (default 86400).
    pub key_publish_ahead: u64,
    /// The acr values the provider's logins can give (discovery's `acr_values_supported`;
    /// empty: not listed). Requests' `acr_values` reach the gateway in the pending
    /// authorization.
    pub acr_values_supported: Vec<String>,
}

impl Settings {
    /// Settings for `issuer`, with the documented defaults.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            code_lifetime: 60,
            pending_lifetime: 600,
            key_rotation_days: 30,
            key_publish_ahead: 86_400,
            acr_values_supported: Vec::new(),
        }
    }

    /// Checks the settings; the error names the key and the problem.
    pub fn validate(&self) -> Result<()> {
        let url = url::Url::parse(&self.issuer)
            .map_err(|e| OidcError::Config(format!("issuer: not a URL ({e})")))?;
        let loopback = matches!(
            url.host(),
            Some(url::Host::Domain("localhost"))
                | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
        );
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(OidcError::Config(
                "issuer: must be https (http only for localhost)".into(),
            ));
        }
        if self.issuer.ends_with('/')
            || url.path() != "/"
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(OidcError::Config(
                "issuer: must be scheme://host[:port] with no path, query, user or trailing slash"
                    .into(),
            ));
        }
        if !(1..=600).contains(&self.code_lifetime) {
            return Err(OidcError::Config(
                "code_lifetime: must be 1..=600 seconds".into(),
            ));
        }
        if !(10..=86_400).contains(&self.pending_lifetime) {
            return Err(OidcError::Config(
                "pending_lifetime: must be 10..=86400 seconds".into(),
            ));
        }
        if self.key_rotation_days > 3650 {
            return Err(OidcError::Config("key_rotation_days: at most 3650".into()));
        }
        if self.key_rotation_days > 0 && self.key_publish_ahead >= self.key_rotation_days * 86_400 {
            return Err(OidcError::Config(
                "key_publish_ahead: must be shorter than the rotation period".into(),
            ));
        }
        Ok(())
    }

    /// The absolute URL of an endpoint path.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_forms() {
        assert!(Settings::new("https://idp.example").validate().is_ok());
        assert!(Settings::new("https://idp.example:8443").validate().is_ok());
        assert!(Settings::new("http://127.0.0.1:8080").validate().is_ok());
        assert!(Settings::new("http://localhost").validate().is_ok());
        for bad in [
            "https://idp.example/",
            "https://idp.example/oidc",
            "http://idp.example",
            "https://idp.example?x=1",
            "https://u:p@idp.example",
            "idp.example",
            "",
        ] {
            assert!(Settings::new(bad).validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn lifetimes_and_rotation() {
        let mut s = Settings::new("https://idp.example");
        s.code_lifetime = 0;
        assert!(s.validate().is_err());
        let mut s = Settings::new("https://idp.example");
        s.key_rotation_days = 1;
        s.key_publish_ahead = 86_400;
        assert!(s.validate().is_err());
        s.key_rotation_days = 0;
        assert!(s.validate().is_ok());
        assert_eq!(s.url(TOKEN_PATH), "https://idp.example/oauth2/token");
    }
}
