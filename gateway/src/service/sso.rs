//! OpenID Connect single sign-on (issue 16): after a login on the OIDC login page the browser
//! keeps a session cookie (`mfa_sso`, a random token; only its SHA-256 is stored), and a
//! further authorization, of the same relying party or another, is answered without a new
//! login while the session lives: its lifetime and idle time come from the organisation's
//! policy (8 h and 1 h by default; 0 hours: off). A person who is blocked, disabled, removed
//! or locked, or a client that does not serve their organisation, ends it.

use super::{Gateway, Result, ServiceError, SsoEnd, SsoEndReason, SsoWhich};
use crate::audit::{AuditEvent, Channel, EventKind, Outcome};
use crate::model::{Person, PersonState, UnixTime};
use crate::policy::{SSO_HOURS, SSO_IDLE_MINUTES};
use crate::store::SsoSession;
use sha2::{Digest as _, Sha256};

pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Gateway {
    /// Start a single sign-on session for `person`, who logged in at `auth_time` with `amr`:
    /// the cookie's token and its lifetime in seconds; None when their organisation has
    /// single sign-on off.
    pub async fn start_sso(
        &self,
        person: &Person,
        auth_time: UnixTime,
        amr: &[String],
        now: UnixTime,
    ) -> Result<Option<(String, i64)>> {
        let policy = self.org_policy(person.org_id).await?;
        let hours = policy.sso_hours.unwrap_or(SSO_HOURS);
        if hours == 0 {
            return Ok(None);
        }
        let lifetime = i64::from(hours) * 3600;
        let bytes = crate::secret::random_bytes(32)
            .map_err(|_| ServiceError::Crypto("random generator".into()))?;
        let token = data_encoding::BASE64URL_NOPAD.encode(&bytes);
        self.store
            .create_sso(
                &token_hash(&token),
                &SsoSession {
                    person_id: person.id,
                    auth_time,
                    amr: amr.join(" "),
                    created_at: now,
                    last_used_at: now,
                    expires_at: now + lifetime,
                },
            )
            .await?;
        Ok(Some((token, lifetime)))
    }

    /// End the single sign-on session behind a cookie's `token` (RP-initiated logout, by its
    /// person, channel oidc) through `end_sso`; true when there was one.
    pub async fn end_sso_token(&self, token: &str, now: UnixTime) -> Result<bool> {
        let why = SsoEnd {
            actor: String::new(),
            channel: Channel::Oidc,
            reason: SsoEndReason::Logout,
            client: None,
            source: None,
            request_id: None,
        };
        Ok(self.end_sso(SsoWhich::Token(token), &why, now).await? > 0)
    }

    /// The person and their login behind a cookie's `token`, when the session is live for
    /// `client_id`, its login no older than `max_age` seconds and its person the one
    /// `login_hint` names, if any (used: audited `sso_login`, its idle time starts again);
    /// None otherwise (a dead session is deleted).
    #[allow(clippy::too_many_arguments)]
    pub async fn sso_login(
        &self,
        token: &str,
        client_id: &str,
        max_age: Option<u64>,
        login_hint: Option<&str>,
        source: Option<std::net::IpAddr>,
        now: UnixTime,
    ) -> Result<Option<(Person, SsoSession)>> {
        if token.is_empty() || token.len() > 64 {
            return Ok(None);
        }
        let hash = token_hash(token);
        let Some(s) = self.store.sso(&hash).await? else {
            return Ok(None);
        };
        let person = self.store.person_by_id(s.person_id).await?;
        let live = match &person {
            Some(p) => {
                let policy = self.org_policy(p.org_id).await?;
                let idle = i64::from(policy.sso_idle_minutes.unwrap_or(SSO_IDLE_MINUTES)) * 60;
                policy.sso_hours.unwrap_or(SSO_HOURS) > 0
                    && now < s.expires_at
                    && now - s.last_used_at <= idle
                    && p.state == PersonState::Active
                    && p.blocked_at.is_none()
                    && p.locked_until.is_none_or(|t| t <= now)
            }
            None => false,
        };
        let Some(person) = person.filter(|_| live) else {
            let why = SsoEnd::system(SsoEndReason::Dead);
            self.end_sso(SsoWhich::Hash(&hash), &why, now).await?;
            return Ok(None);
        };
        if self
            .client_refuses_for(Channel::Oidc, Some(client_id), &person)
            .await?
        {
            // This client is not for their organisation: a login shows the usual refusal.
            return Ok(None);
        }
        // The relying party asks for someone else: the login page (this session stays).
        if let Some(h) = login_hint.map(str::trim).filter(|h| !h.is_empty())
            && h != person.public_id
            && crate::store::normalise_username(h) != person.username
        {
            // A qualified name (`ann@praktijk-zuid`) or the client's default organisation
            // may still name this person.
            let named = self
                .resolve_login_name(Channel::Oidc, Some(client_id), h)
                .await?;
            if !matches!(named, crate::store::NameMatch::Found(p) if p.id == person.id) {
                return Ok(None);
            }
        }
        // max_age=0 asks for a login now (as prompt=login does).
        if max_age.is_some_and(|age| {
            age == 0 || now - s.auth_time > i64::try_from(age).unwrap_or(i64::MAX)
        }) {
            // The relying party wants a fresher login: the login page, the session stays.
            return Ok(None);
        }
        self.store.touch_sso(&hash, now).await?;
        let mut event =
            AuditEvent::admin(now, EventKind::SsoLogin, &format!("person:{}", person.id));
        event.person_id = Some(person.id);
        event.username = Some(person.username.clone());
        event.org_id = Some(person.org_id);
        event.channel = Channel::Oidc;
        event.client = Some(client_id.to_owned());
        event.source = source.map(|s| s.to_string());
        event.outcome = Outcome::Accept;
        event.detail = Some(serde_json::json!({ "auth_time": s.auth_time }));
        self.store.append_event(&event).await?;
        Ok(Some((person, s)))
    }
}
