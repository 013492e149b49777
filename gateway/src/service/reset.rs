//! Self-service password reset ("Forgot password?" on the sign-in page): a link mailed to
//! the person, a code from any of their devices, then the new password.
//!
//! - The request never tells whether the username or address is known: the web answers the
//!   same page at once and `request_password_reset` does the work on a task of its own, so
//!   the answer also takes the same time. Per person at most `RESET_LINKS_PER_HOUR` links.
//! - A link is `<id>.<secret>` (256 random bits); the store keeps HMAC-SHA256 of the person
//!   id and the secret under a key derived from the master key (`CodeKey`, as one-time
//!   codes), compared in constant time. One hour, once; a newer link voids the older.
//! - The code goes through the engine like any second factor (`CodeAfterPassword`: replay
//!   rule, wrong codes counted, lockout, audited as a login attempt that `confirms`
//!   `password_reset`). Then the new password must follow within `RESET_PASSWORD_SECONDS`;
//!   it meets the central policy (`PasswordHasherCfg::check`: length, breached list).
//! - A person whose password is not kept here (their organisation's directory password, or
//!   no password yet) gets no link but a mail saying where to change it.
//! - Requested, refused and completed are audited (`password_reset_*`); no token, code or
//!   password is ever in an event or a log line.

use super::*;
use crate::audit::Outcome;
use crate::store::ResetLink;

/// How long a reset link works.
pub const RESET_LINK_SECONDS: i64 = 3600;
/// How long after the code step the new password may be set.
pub const RESET_PASSWORD_SECONDS: i64 = 600;
/// Reset links (or "your password is your organisation's" mails) one person may be sent per
/// hour; more requests are refused, audited.
pub const RESET_LINKS_PER_HOUR: u32 = 3;
/// The client reset steps are audited under (channel portal).
pub const RESET_CLIENT: &str = "password-reset";
/// People one e-mail address may name in one request.
const PEOPLE_PER_ADDRESS: u32 = 5;

pub const RESET_LINK_INVALID: &str = "svc-reset-link-invalid";
pub const RESET_WRONG_CODE: &str = "svc-reset-wrong-code";
pub const RESET_NO_DEVICE: &str = "svc-reset-no-device";
pub const RESET_CODE_FIRST: &str = "svc-reset-code-first";
use super::refusal::PASSWORDS_DIFFER as DIFFERENT;

/// Where a reset step comes from (audited with it).
#[derive(Debug, Clone, Default)]
pub struct ResetOrigin {
    pub source: Option<IpAddr>,
    pub request_id: Option<String>,
}

/// What became of a request for one person (for tests and the audit; never shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetRequestOutcome {
    /// A link was mailed.
    LinkSent,
    /// The password is not kept here: a mail says where to change it.
    NotLocal,
    /// Nothing was sent; the audit reason.
    Refused(&'static str),
}

/// The step a live link is at.
#[derive(Debug, Clone)]
pub enum ResetStep {
    /// A code from a device is asked for.
    Code(Person),
    /// The code was given: the new password is asked for.
    Password(Person),
}

/// Is the password of this person kept here (an argon2 hash)? No hash: a password of their
/// organisation's directory, or an account never activated.
fn has_local_password(hash: Option<&str>) -> bool {
    hash.is_some_and(|h| h.starts_with("$argon2"))
}

/// Split `<id>.<secret>`.
fn split_token(token: &str) -> Option<(i64, &str)> {
    let (id, secret) = token.trim().split_once('.')?;
    let id = id.parse::<i64>().ok()?;
    if secret.is_empty() || secret.len() > 128 {
        return None;
    }
    Some((id, secret))
}

fn invalid(key: &'static str) -> ServiceError {
    refused(key)
}

impl Gateway {
    /// The key reset links are hashed under (HMAC over the person id and the secret).
    fn reset_key(&self) -> CodeKey {
        CodeKey::new(*self.key.derive("password-reset-links"))
    }

    /// An event of a reset step: channel portal, client `password-reset`.
    fn reset_event(
        person: Option<&Person>,
        kind: EventKind,
        origin: &ResetOrigin,
        now: UnixTime,
    ) -> AuditEvent {
        let mut e = match person {
            Some(p) => Self::person_event(p, kind, &format!("person:{}", p.id), now),
            None => AuditEvent::admin(now, kind, "anonymous"),
        };
        e.channel = Channel::Portal;
        e.client = Some(RESET_CLIENT.into());
        e.source = origin.source.map(|s| s.to_string());
        e.request_id = origin.request_id.clone();
        e
    }

    /// Audit a refusal (`reason`); a failure to write is logged, never returned.
    async fn reset_refused(
        &self,
        person: Option<&Person>,
        username: Option<String>,
        reason: &'static str,
        origin: &ResetOrigin,
        now: UnixTime,
    ) {
        let mut e = Self::reset_event(person, EventKind::PasswordResetRefused, origin, now);
        e.outcome = Outcome::Reject;
        e.reason = Some(reason.into());
        if person.is_none() {
            e.username = username;
        }
        if let Err(err) = self.store.append_event(&e).await {
            crate::ops::count_audit_write_failure();
            tracing::error!(error = %err, "cannot audit a refused password reset");
        }
    }

    /// "Forgot password": returns at once; the lookup, the link and the mail happen on a
    /// task of their own, so neither the answer nor its time tells whether `identifier` (a
    /// username or an e-mail address) is known. `base_url`: the public URL the link starts
    /// with (the configured one, never a request's Host).
    pub fn request_password_reset(
        &self,
        identifier: &str,
        base_url: &str,
        origin: ResetOrigin,
        now: UnixTime,
    ) {
        let gateway = self.clone();
        let identifier = identifier.to_owned();
        let base_url = base_url.to_owned();
        tokio::spawn(async move {
            if let Err(e) = gateway
                .request_password_reset_wait(&identifier, &base_url, &origin, now)
                .await
            {
                tracing::error!(error = %e, "a password reset request failed");
            }
        });
    }

    /// As `request_password_reset`, waiting for the outcome per person named.
    pub async fn request_password_reset_wait(
        &self,
        identifier: &str,
        base_url: &str,
        origin: &ResetOrigin,
        now: UnixTime,
    ) -> Result<Vec<ResetRequestOutcome>> {
        let identifier = identifier.trim();
        if identifier.is_empty() || identifier.chars().count() > 254 {
            return Ok(Vec::new());
        }
        let mut people: Vec<Person> = self
            .store
            .person_by_username(identifier)
            .await?
            .into_iter()
            .collect();
        if people.is_empty() && identifier.contains('@') {
            people = self
                .store
                .people_by_email(identifier, PEOPLE_PER_ADDRESS)
                .await?;
        }
        if people.is_empty() {
            let unknown = Some(crate::store::normalise_username(identifier));
            self.reset_refused(None, unknown, "unknown_user", origin, now)
                .await;
            return Ok(vec![ResetRequestOutcome::Refused("unknown_user")]);
        }
        let mut out = Vec::with_capacity(people.len());
        for person in people {
            out.push(self.reset_for(&person, base_url, origin, now).await?);
        }
        Ok(out)
    }

    /// One person's request: a link, the "your password is your organisation's" mail, or a
    /// refusal; audited.
    async fn reset_for(
        &self,
        person: &Person,
        base_url: &str,
        origin: &ResetOrigin,
        now: UnixTime,
    ) -> Result<ResetRequestOutcome> {
        let refuse = |reason: &'static str| async move {
            self.reset_refused(Some(person), None, reason, origin, now)
                .await;
            Ok::<_, ServiceError>(ResetRequestOutcome::Refused(reason))
        };
        if person.state != PersonState::Active || person.blocked_at.is_some() {
            return refuse("not_active").await;
        }
        if person.email.as_deref().is_none_or(|e| e.trim().is_empty()) {
            return refuse("no_email").await;
        }
        if !has_local_password(self.store.password_hash(person.id).await?.as_deref()) {
            // The same cap as for links: the mails already sent this hour, from the trail.
            let told = self
                .store
                .events(&crate::store::EventFilter {
                    person_id: Some(person.id),
                    kind: Some(EventKind::PasswordResetRefused.as_str().into()),
                    reason: Some("no_local_password".into()),
                    from: Some(now - 3600),
                    limit: RESET_LINKS_PER_HOUR,
                    ..Default::default()
                })
                .await?
                .len();
            if told >= RESET_LINKS_PER_HOUR as usize {
                return refuse("too_many_requests").await;
            }
            let mut event =
                Self::reset_event(Some(person), EventKind::PasswordResetRefused, origin, now);
            event.outcome = Outcome::Reject;
            event.reason = Some("no_local_password".into());
            self.store.append_event(&event).await?;
            let lang = self.lang_of(person).await;
            self.notify(person, Self::not_local_notice(person, lang), &event);
            return Ok(ResetRequestOutcome::NotLocal);
        }
        let recent = self.store.reset_links_since(person.id, now - 3600).await?;
        if recent >= RESET_LINKS_PER_HOUR {
            return refuse("too_many_requests").await;
        }
        let (url, expires_at, event) = self.issue_reset_link(person, base_url, origin, now).await?;
        let lang = self.lang_of(person).await;
        let notice = self.reset_notice(person, &url, expires_at, lang);
        self.notify(person, notice, &event);
        Ok(ResetRequestOutcome::LinkSent)
    }

    /// A new link for `person` (older ones void), audited: its URL (a credential), expiry
    /// and event. No check here: `reset_for` decides whether one is sent.
    pub(crate) async fn issue_reset_link(
        &self,
        person: &Person,
        base_url: &str,
        origin: &ResetOrigin,
        now: UnixTime,
    ) -> Result<(SecretString, UnixTime, AuditEvent)> {
        let bytes =
            random_bytes(32).map_err(|_| ServiceError::Crypto("random generator".into()))?;
        let secret = SecretString::new(data_encoding::BASE32_NOPAD.encode(&bytes).to_lowercase());
        let hash = self.reset_key().hash(person.id, secret.expose());
        let expires_at = now + RESET_LINK_SECONDS;
        let mut event =
            Self::reset_event(Some(person), EventKind::PasswordResetRequested, origin, now);
        event.detail = Some(serde_json::json!({ "expires_at": expires_at }));
        let id = self
            .store
            .issue_reset_link(person.id, &hash, now, expires_at, event.clone())
            .await?;
        let url = SecretString::new(format!(
            "{}/reset/{id}.{}",
            base_url.trim_end_matches('/'),
            secret.expose()
        ));
        Ok((url, expires_at, event))
    }

    /// The mail with the link (a credential: never in the audit detail).
    fn reset_notice(
        &self,
        person: &Person,
        url: &SecretString,
        expires_at: UnixTime,
        lang: crate::i18n::Lang,
    ) -> notify::Notice {
        use crate::i18n::{t, t_args};
        let args = [
            ("username", person.username.as_str().into()),
            ("until", self.time_in(expires_at, lang).into()),
        ];
        notify::Notice {
            subject: t(lang, "mail-reset-subject"),
            body: notify::letter(
                lang,
                &person.full_name,
                &[
                    &t_args(lang, "mail-reset-body", &args),
                    url.expose(),
                    &t(lang, "mail-reset-ignore"),
                ],
            ),
            audit_body: None,
        }
    }

    /// The mail for a person whose password is not kept here.
    fn not_local_notice(person: &Person, lang: crate::i18n::Lang) -> notify::Notice {
        use crate::i18n::{t, t_args};
        let body = notify::letter(
            lang,
            &person.full_name,
            &[
                &t_args(
                    lang,
                    "mail-reset-not-local-body",
                    &[("username", person.username.as_str().into())],
                ),
                &t(lang, "mail-reset-not-local-ignore"),
            ],
        );
        notify::Notice {
            subject: t(lang, "mail-reset-not-local-subject"),
            audit_body: Some(body.clone()),
            body,
        }
    }

    /// The live link `token` names and its person (active, not blocked), or `Invalid`.
    async fn live_reset_link(&self, token: &str, now: UnixTime) -> Result<(ResetLink, Person)> {
        let (id, secret) = split_token(token).ok_or_else(|| invalid(RESET_LINK_INVALID))?;
        let link = self
            .store
            .reset_link(id)
            .await?
            .filter(|l| {
                let hash = self.reset_key().hash(l.person_id, secret);
                crate::secret::ct_eq(&l.token_hash, &hash)
            })
            .filter(|l| l.used_at.is_none() && l.expires_at > now)
            .ok_or_else(|| invalid(RESET_LINK_INVALID))?;
        let person = self
            .store
            .person_by_id(link.person_id)
            .await?
            .filter(|p| p.state == PersonState::Active && p.blocked_at.is_none())
            .ok_or_else(|| invalid(RESET_LINK_INVALID))?;
        Ok((link, person))
    }

    /// Which step the link `token` is at (`Invalid` when it is not live).
    pub async fn open_reset(&self, token: &str, now: UnixTime) -> Result<ResetStep> {
        let (link, person) = self.live_reset_link(token, now).await?;
        Ok(match link.verified_at {
            Some(at) if at >= now - RESET_PASSWORD_SECONDS => ResetStep::Password(person),
            _ => ResetStep::Code(person),
        })
    }

    /// The code step: `code` from any device of the person (or a recovery code), decided by
    /// the engine and written like any login attempt (counted, lockout). `Invalid` with a
    /// message for the person when it is not accepted.
    pub async fn reset_check_code(
        &self,
        token: &str,
        code: &str,
        origin: &ResetOrigin,
        now: UnixTime,
    ) -> Result<Person> {
        let (link, person) = self.live_reset_link(token, now).await?;
        let attempt = Attempt {
            username: person.username.clone(),
            credentials: Credentials::CodeAfterPassword {
                code: SecretString::new(code.trim()),
            },
            channel: Channel::Portal,
            client: Some(RESET_CLIENT.into()),
            source: origin.source,
            request_id: origin.request_id.clone(),
            nas: None,
            typed_username: None,
        };
        let fresh = self.store.person_by_id(person.id).await?;
        let subject = self.subject(fresh, None).await?;
        let mut decision = self.engine.decide(&attempt, subject.as_ref(), now);
        let mut detail = match decision.event.detail.take() {
            Some(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        detail.insert("confirms".into(), "password_reset".into());
        decision.event.detail = Some(serde_json::Value::Object(detail));
        let decision = self
            .record_decision(&attempt, subject.as_ref(), decision, now)
            .await?;
        match decision.verdict {
            Verdict::Accept { .. } => {
                if !self.store.verify_reset_link(link.id, now).await? {
                    return Err(invalid(RESET_LINK_INVALID));
                }
                Ok(person)
            }
            Verdict::Reject(Reason::NoDevice) => Err(invalid(RESET_NO_DEVICE)),
            _ => Err(invalid(RESET_WRONG_CODE)),
        }
    }

    /// The last step: the new password (twice), after the code. The policy applies (length,
    /// breached list); on success the password is replaced and every reset link of the
    /// person void in one transaction, and a mail tells them. The caller ends their web
    /// sessions.
    pub async fn reset_set_password(
        &self,
        token: &str,
        password: SecretString,
        again: SecretString,
        origin: &ResetOrigin,
        now: UnixTime,
    ) -> Result<Person> {
        let (link, person) = self.live_reset_link(token, now).await?;
        if link
            .verified_at
            .is_none_or(|at| at < now - RESET_PASSWORD_SECONDS)
        {
            return Err(invalid(RESET_CODE_FIRST));
        }
        if !crate::secret::ct_eq(password.expose().as_bytes(), again.expose().as_bytes()) {
            self.reset_refused(Some(&person), None, "passwords_differ", origin, now)
                .await;
            return Err(invalid(DIFFERENT));
        }
        let hash = match self.hash_password(password).await {
            Ok(h) => h,
            Err(ServiceError::Password(e)) => {
                let reason = match e {
                    PasswordError::Breached => "breached_password",
                    PasswordError::TooShort(_) => "password_too_short",
                    _ => "password_refused",
                };
                self.reset_refused(Some(&person), None, reason, origin, now)
                    .await;
                return Err(super::refusal::password_refused(e));
            }
            Err(e) => return Err(e),
        };
        let events = [
            EventKind::PasswordResetCompleted,
            EventKind::PasswordChanged,
        ]
        .into_iter()
        .map(|kind| Self::reset_event(Some(&person), kind, origin, now))
        .collect();
        self.store
            .complete_reset(link.id, &hash, now - RESET_PASSWORD_SECONDS, now, events)
            .await
            .map_err(|e| match e {
                StoreError::Invalid(_) => invalid(RESET_LINK_INVALID),
                e => e.into(),
            })?;
        let lang = self.lang_of(&person).await;
        let body = notify::letter(
            lang,
            &person.full_name,
            &[
                &crate::i18n::t_args(
                    lang,
                    "mail-reset-done-body",
                    &[
                        ("username", person.username.as_str().into()),
                        ("when", self.time_in(now, lang).into()),
                    ],
                ),
                &crate::i18n::t(lang, "mail-tell-admin"),
            ],
        );
        let context = Self::reset_event(
            Some(&person),
            EventKind::PasswordResetCompleted,
            origin,
            now,
        );
        self.notify(
            &person,
            notify::Notice {
                subject: crate::i18n::t(lang, "mail-reset-done-subject"),
                audit_body: Some(body.clone()),
                body,
            },
            &context,
        );
        Ok(person)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_local_passwords() {
        assert_eq!(split_token(" 12.abc "), Some((12, "abc")));
        assert_eq!(split_token("12."), None);
        assert_eq!(split_token("x.abc"), None);
        assert_eq!(split_token("12"), None);
        assert_eq!(split_token(&format!("1.{}", "a".repeat(129))), None);
        assert!(has_local_password(Some(
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA"
        )));
        assert!(!has_local_password(None));
        assert!(!has_local_password(Some("")));
    }
}
