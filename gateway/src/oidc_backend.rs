//! The gateway's side of the OpenID Provider: who a `sub` is now, the audit trail for token
//! events, signing keys sealed in the store, and the provider built from config.

use crate::audit::{AuditEvent, Channel, EventKind, Outcome};
use crate::config::{Config, OidcClient};
use crate::crypto::MasterKey;
use crate::model::{Organisation, Person, PersonState, SealedSigningKey};
use crate::service::Gateway;
use async_trait::async_trait;
use axum::http::{HeaderMap, HeaderValue, header};
use mfa_oidc::{
    ClientRegistration, KeyStore, OidcBackend, OidcError, OidcEvent, SigningAlg, StoredKey,
    UserClaims,
};
use std::sync::Arc;

/// The claims of a person as released to relying parties (by scope, in the provider).
pub fn claims(person: &Person, org: Option<&Organisation>) -> UserClaims {
    UserClaims {
        name: Some(person.full_name.clone()),
        email: person.email.clone(),
        // Only an address the person proved (the activation link mailed to it was used).
        email_verified: person.email.is_some() && person.email_verified_at.is_some(),
        preferred_username: Some(person.username.clone()),
        organisation: org.map(|o| o.name.clone()),
    }
}

/// `OidcBackend` for the gateway.
#[derive(Debug, Clone)]
pub struct Backend {
    gateway: Gateway,
    sessions: Arc<crate::web::session::Sessions>,
    /// Cookies get Secure (the public URL is https).
    tls: bool,
}

impl Backend {
    pub fn new(gateway: Gateway, sessions: Arc<crate::web::session::Sessions>, tls: bool) -> Self {
        Self {
            gateway,
            sessions,
            tls,
        }
    }

    async fn person_of(&self, sub: &str) -> Option<Person> {
        match self.gateway.store().person_by_public_id(sub).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "looking up an OIDC subject failed");
                None
            }
        }
    }
}

#[async_trait]
impl OidcBackend for Backend {
    fn login_url(&self, pending_id: &str) -> String {
        format!("/login?auth={pending_id}")
    }

    async fn current_user(&self, sub: &str) -> Option<UserClaims> {
        let person = self
            .person_of(sub)
            .await
            .filter(|p| p.state == PersonState::Active && p.blocked_at.is_none())?;
        let org = self
            .gateway
            .store()
            .org_by_id(person.org_id)
            .await
            .ok()
            .flatten();
        Some(claims(&person, org.as_ref()))
    }

    async fn record(&self, event: OidcEvent) {
        // Tokens under a single sign-on session: the session keeps the client, for
        // back-channel logout when it ends.
        if let OidcEvent::TokenIssued {
            client_id,
            sub,
            sid: Some(sid),
            ..
        } = &event
            && let Err(e) = self
                .gateway
                .record_sso_client(sub, sid, client_id, self.gateway.now())
                .await
        {
            tracing::error!(error = %e, "keeping a single sign-on session's client failed");
        }
        let (kind, outcome, client, sub, reason) = match &event {
            OidcEvent::TokenIssued {
                client_id,
                sub,
                grant,
                ..
            } => (
                EventKind::OidcTokenIssued,
                Outcome::Done,
                Some(client_id.clone()),
                Some(sub.clone()),
                serde_json::to_value(grant)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned)),
            ),
            OidcEvent::TokenRefused {
                client_id, reason, ..
            } => (
                EventKind::OidcTokenRefused,
                Outcome::Failed,
                client_id.clone(),
                None,
                serde_json::to_value(reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned)),
            ),
            OidcEvent::TokensRevoked {
                client_id,
                sub,
                cause,
            } => (
                EventKind::OidcTokenRefused,
                Outcome::Failed,
                Some(client_id.clone()),
                Some(sub.clone()),
                serde_json::to_value(cause)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned)),
            ),
            OidcEvent::LoggedOut { client_id, sub } => (
                EventKind::OidcLogout,
                Outcome::Done,
                client_id.clone(),
                sub.clone(),
                None,
            ),
        };
        let person = match &sub {
            Some(s) => self.person_of(s).await,
            None => None,
        };
        let e = AuditEvent {
            time: self.gateway.now(),
            kind,
            actor: person.as_ref().map_or_else(
                || format!("oidc-client:{}", client.clone().unwrap_or_default()),
                |p| format!("person:{}", p.id),
            ),
            person_id: person.as_ref().map(|p| p.id),
            username: person.as_ref().map(|p| p.username.clone()),
            org_id: person.as_ref().map(|p| p.org_id),
            channel: Channel::Oidc,
            client,
            source: None,
            device_id: None,
            device_label: None,
            outcome,
            reason,
            request_id: None,
            detail: serde_json::to_value(&event).ok(),
        };
        if let Err(err) = self.gateway.store().append_event(&e).await {
            crate::ops::count_audit_write_failure();
            tracing::error!(error = %err, "writing an OIDC audit event failed");
        }
    }

    async fn end_session(&self, _sub: Option<&str>, request_headers: &HeaderMap) -> HeaderMap {
        if let Some(id) = crate::web::session::session_id(request_headers) {
            self.sessions.remove(&id).await;
        }
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&crate::web::session::clear_cookie(self.tls)) {
            h.insert(header::SET_COOKIE, v);
        }
        // Single sign-on ends with the logout: the next authorization logs in again.
        if let Some(token) = crate::web::session::sso_token(request_headers) {
            if let Err(e) = self.gateway.end_sso_token(&token, self.gateway.now()).await {
                tracing::error!(error = %e, "ending a single sign-on session failed");
            }
            if let Ok(v) =
                HeaderValue::from_str(&crate::web::session::set_sso_cookie("", self.tls, 0))
            {
                h.append(header::SET_COOKIE, v);
            }
        }
        h
    }

    async fn logout_confirmation(&self, request_headers: &HeaderMap) -> Option<String> {
        let id = crate::web::session::session_id(request_headers)?;
        self.sessions
            .get(&id, self.gateway.now())
            .await
            .map(|s| s.csrf)
    }

    async fn logout_confirmed(&self, request_headers: &HeaderMap, token: &str) -> bool {
        let Some(id) = crate::web::session::session_id(request_headers) else {
            return false;
        };
        self.sessions
            .get(&id, self.gateway.now())
            .await
            .is_some_and(|s| s.csrf_ok(token))
    }
}

/// Signing keys in the store, each sealed under the operator's key with its kid bound in.
#[derive(Debug, Clone)]
pub struct SealedKeyStore {
    gateway: Gateway,
    key: MasterKey,
}

impl SealedKeyStore {
    pub fn new(gateway: Gateway, key: MasterKey) -> Self {
        Self { gateway, key }
    }
}

fn aad(kid: &str) -> Vec<u8> {
    format!("oidc-signing-key:{kid}").into_bytes()
}

fn alg_from(s: &str) -> Option<SigningAlg> {
    match s {
        "EdDSA" => Some(SigningAlg::EdDsa),
        "RS256" => Some(SigningAlg::Rs256),
        _ => None,
    }
}

#[async_trait]
impl KeyStore for SealedKeyStore {
    async fn load(&self) -> mfa_oidc::Result<Vec<StoredKey>> {
        let rows = self
            .gateway
            .store()
            .signing_keys()
            .await
            .map_err(|e| OidcError::Key(e.to_string()))?;
        let mut keys = Vec::with_capacity(rows.len());
        for r in rows {
            let alg = alg_from(&r.alg)
                .ok_or_else(|| OidcError::Key(format!("key {}: unknown alg {}", r.kid, r.alg)))?;
            let private = self
                .key
                .open(&r.sealed_key, &aad(&r.kid))
                .map_err(|e| OidcError::Key(format!("key {}: {e}", r.kid)))?;
            keys.push(StoredKey {
                kid: r.kid.clone(),
                alg,
                private_pkcs8_or_pem: private.expose().to_vec(),
                publish_at: r.publish_at,
                sign_from: r.sign_from,
                retire_at: r.retire_at,
            });
        }
        Ok(keys)
    }

    async fn save(&self, key: &StoredKey) -> mfa_oidc::Result<()> {
        let sealed = self
            .key
            .seal(&key.private_pkcs8_or_pem, &aad(&key.kid))
            .map_err(|e| OidcError::Key(e.to_string()))?;
        let row = SealedSigningKey {
            kid: key.kid.clone(),
            alg: key.alg.as_str().to_owned(),
            sealed_key: sealed,
            publish_at: key.publish_at,
            sign_from: key.sign_from,
            retire_at: key.retire_at,
        };
        let mut event =
            AuditEvent::admin(self.gateway.now(), EventKind::SigningKeyChanged, "system");
        event.channel = Channel::System;
        event.detail = Some(serde_json::json!({
            "kid": key.kid, "alg": key.alg.as_str(),
            "publish_at": key.publish_at, "sign_from": key.sign_from, "retire_at": key.retire_at,
        }));
        self.gateway
            .store()
            .save_signing_key(&row, event)
            .await
            .map_err(|e| OidcError::Key(e.to_string()))
    }
}

/// A configured client as the provider sees it.
pub fn registration(c: &OidcClient) -> ClientRegistration {
    ClientRegistration {
        client_id: c.client_id.clone(),
        name: c.name.clone(),
        secret_sha256: c.secret_sha256,
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        allow_code: c.code_flow,
        allow_implicit_id_token: c.implicit_flow,
        require_pkce: c.require_pkce,
        refresh_tokens: c.refresh_tokens,
        id_token_alg: alg_from(&c.id_token_alg).unwrap_or_default(),
        id_token_lifetime: c.id_token_lifetime,
        access_token_lifetime: c.access_token_lifetime,
        refresh_token_lifetime: c.refresh_token_lifetime,
        backchannel_logout_uri: c.backchannel_logout_uri.clone(),
        backchannel_logout_session_required: c.backchannel_logout_session_required,
    }
}

/// The provider for this config, with `issuer` (the public URL).
pub async fn provider(
    config: &Config,
    issuer: &str,
    gateway: Gateway,
    key: MasterKey,
    sessions: Arc<crate::web::session::Sessions>,
) -> anyhow::Result<Arc<mfa_oidc::Provider>> {
    let mut settings = mfa_oidc::Settings::new(issuer);
    settings.code_lifetime = config.oidc.code_lifetime;
    settings.pending_lifetime = config.oidc.login_timeout;
    settings.key_rotation_days = config.oidc.key_rotation_days;
    settings.key_publish_ahead = config.oidc.key_publish_ahead;
    settings.acr_values_supported = crate::service::remember::ACR_VALUES
        .map(str::to_owned)
        .to_vec();
    let clients = config.oidc.clients.iter().map(registration).collect();
    let https = crate::web::reached_over_https(config.http.tls, issuer);
    let backend = Arc::new(Backend::new(gateway.clone(), sessions, https));
    // Codes and tokens shared by every instance when there is a shared store.
    let state: Arc<dyn mfa_oidc::OidcState> = match gateway.shared() {
        Some(redis) => Arc::new(crate::shared::oidc::RedisOidcState::new(redis.clone())),
        None => Arc::new(mfa_oidc::MemoryState::new(100_000)),
    };
    let clock = gateway.clock().shared();
    // The provider's pages (an error, "Sign out?", signed out) on the gateway's templates.
    let pages = Arc::new(crate::web::login::oidc_pages::OidcPages::new(
        gateway.clone(),
    ));
    let keys = Arc::new(SealedKeyStore::new(gateway, key));
    let provider =
        mfa_oidc::Provider::new(settings, clients, backend, state, keys, clock, pages).await?;
    Ok(provider)
}
