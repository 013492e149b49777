//! `[oidc]` and `[[oidc.clients]]`: the OpenID Connect provider and its relying parties.

use super::{ConfigError, invalid};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawOidc {
    pub code_lifetime_seconds: u64,
    pub login_timeout_seconds: u64,
    pub key_rotation_days: u64,
    pub key_publish_ahead_seconds: u64,
    pub clients: Vec<RawOidcClient>,
}

impl Default for RawOidc {
    fn default() -> Self {
        Self {
            code_lifetime_seconds: 60,
            login_timeout_seconds: 600,
            key_rotation_days: 30,
            key_publish_ahead_seconds: 86400,
            clients: vec![],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawOidcClient {
    pub client_id: String,
    pub name: String,
    pub secret_sha256: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub flows: Vec<String>,
    pub require_pkce: bool,
    pub refresh_tokens: bool,
    pub id_token_alg: String,
    pub id_token_lifetime_seconds: u64,
    pub access_token_lifetime_seconds: u64,
    pub refresh_token_lifetime_seconds: u64,
    /// The organisations (by name) whose people may sign in to it; empty: all.
    pub orgs: Vec<String>,
    /// The organisation (by name) an unqualified username is looked up in first.
    pub default_org: Option<String>,
    /// Back-Channel Logout 1.0: where logout tokens go when a single sign-on session it got
    /// tokens in ends (https; http only to loopback). Default: none.
    pub backchannel_logout_uri: Option<String>,
    /// The client needs `sid` in logout tokens (they always carry it). Default false.
    pub backchannel_logout_session_required: bool,
}

impl Default for RawOidcClient {
    fn default() -> Self {
        Self {
            client_id: String::new(),
            name: String::new(),
            secret_sha256: None,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            flows: vec!["code".into()],
            require_pkce: true,
            refresh_tokens: false,
            id_token_alg: "EdDSA".into(),
            id_token_lifetime_seconds: 300,
            access_token_lifetime_seconds: 300,
            refresh_token_lifetime_seconds: 86400,
            orgs: Vec::new(),
            default_org: None,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub code_lifetime: u64,
    pub login_timeout: u64,
    pub key_rotation_days: u64,
    pub key_publish_ahead: u64,
    pub clients: Vec<OidcClient>,
}

/// A relying party registered in config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcClient {
    pub client_id: String,
    pub name: String,
    pub secret_sha256: Option<[u8; 32]>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub code_flow: bool,
    pub implicit_flow: bool,
    pub require_pkce: bool,
    pub refresh_tokens: bool,
    /// "EdDSA" or "RS256".
    pub id_token_alg: String,
    pub id_token_lifetime: u64,
    pub access_token_lifetime: u64,
    pub refresh_token_lifetime: u64,
    /// The organisations (by name) whose people may sign in to it; empty: all.
    pub orgs: Vec<String>,
    /// The organisation (by name) an unqualified username is looked up in first.
    pub default_org: Option<String>,
    /// Where logout tokens are POSTed (Back-Channel Logout 1.0), if anywhere.
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
}

/// A redirect URI must be absolute, without fragment; plain http only to loopback.
fn redirect_uri_ok(u: &str) -> bool {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"];
    !u.contains('#')
        && (u.starts_with("https://") || loopback.iter().any(|l| u.starts_with(l)))
        && !u.chars().any(char::is_whitespace)
}

pub(super) fn validate_oidc(o: RawOidc) -> Result<OidcSettings, ConfigError> {
    if !(1..=600).contains(&o.code_lifetime_seconds) {
        return Err(invalid("oidc.code_lifetime_seconds", "must be 1 to 600"));
    }
    if !(60..=3600).contains(&o.login_timeout_seconds) {
        return Err(invalid("oidc.login_timeout_seconds", "must be 60 to 3600"));
    }
    let mut clients: Vec<OidcClient> = Vec::new();
    for c in o.clients {
        let id = c.client_id.trim().to_owned();
        if id.is_empty() || id.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
            return Err(invalid(
                "oidc.clients.client_id",
                "every client needs an id without blanks",
            ));
        }
        if clients.iter().any(|k| k.client_id == id) {
            return Err(invalid(
                "oidc.clients.client_id",
                format!("`{id}` is used twice"),
            ));
        }
        let at = |problem: String| invalid("oidc.clients", format!("client `{id}`: {problem}"));
        let secret_sha256 = match &c.secret_sha256 {
            None => None,
            Some(h) => {
                let bytes = hex::decode(h.trim())
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok());
                Some(bytes.ok_or_else(|| at("secret_sha256 must be 64 hex digits (`mfa-gateway oidc hash-secret` makes it)".into()))?)
            }
        };
        if c.redirect_uris.is_empty() {
            return Err(at("needs at least one redirect_uris entry".into()));
        }
        for u in c.redirect_uris.iter().chain(&c.post_logout_redirect_uris) {
            if !redirect_uri_ok(u) {
                return Err(at(format!(
                    "`{u}` must be an absolute https:// URL without fragment (http:// only to loopback)"
                )));
            }
        }
        let mut code_flow = false;
        let mut implicit_flow = false;
        for f in &c.flows {
            match f.as_str() {
                "code" => code_flow = true,
                "implicit" => implicit_flow = true,
                other => return Err(at(format!("flow `{other}` is not one of code, implicit"))),
            }
        }
        if !code_flow && !implicit_flow {
            return Err(at("flows must name code and/or implicit".into()));
        }
        if secret_sha256.is_none() && code_flow && !c.require_pkce {
            return Err(at(
                "a public client (no secret) must use PKCE: set require_pkce = true".into(),
            ));
        }
        if !matches!(c.id_token_alg.as_str(), "EdDSA" | "RS256") {
            return Err(at(format!(
                "id_token_alg `{}` is not EdDSA or RS256",
                c.id_token_alg
            )));
        }
        for (k, v) in [
            ("id_token_lifetime_seconds", c.id_token_lifetime_seconds),
            (
                "access_token_lifetime_seconds",
                c.access_token_lifetime_seconds,
            ),
            (
                "refresh_token_lifetime_seconds",
                c.refresh_token_lifetime_seconds,
            ),
        ] {
            if !(30..=30 * 86400).contains(&v) {
                return Err(at(format!("{k} must be 30 s to 30 days")));
            }
        }
        let orgs = crate::radius_field::org_names(&c.orgs).map_err(at)?;
        let default_org =
            crate::radius_field::default_org(c.default_org.as_deref(), &orgs).map_err(at)?;
        let backchannel_logout_uri = match c.backchannel_logout_uri.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(u) => {
                mfa_oidc::check_backchannel_uri(u).map_err(|why| {
                    at(format!(
                        "backchannel_logout_uri `{u}`: {why} (https://, or http:// to loopback)"
                    ))
                })?;
                Some(u.to_owned())
            }
        };
        clients.push(OidcClient {
            name: if c.name.trim().is_empty() {
                id.clone()
            } else {
                c.name.trim().to_owned()
            },
            client_id: id,
            secret_sha256,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            code_flow,
            implicit_flow,
            require_pkce: c.require_pkce,
            refresh_tokens: c.refresh_tokens,
            id_token_alg: c.id_token_alg,
            id_token_lifetime: c.id_token_lifetime_seconds,
            access_token_lifetime: c.access_token_lifetime_seconds,
            refresh_token_lifetime: c.refresh_token_lifetime_seconds,
            orgs,
            default_org,
            backchannel_logout_uri,
            backchannel_logout_session_required: c.backchannel_logout_session_required,
        });
    }
    if !(1..=365).contains(&o.key_rotation_days) {
        return Err(invalid("oidc.key_rotation_days", "must be 1 to 365"));
    }
    Ok(OidcSettings {
        code_lifetime: o.code_lifetime_seconds,
        login_timeout: o.login_timeout_seconds,
        key_rotation_days: o.key_rotation_days,
        key_publish_ahead: o.key_publish_ahead_seconds,
        clients,
    })
}
