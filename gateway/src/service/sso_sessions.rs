//! The single sign-on sessions a person has (their "browsers"), listed for them and their
//! organisation's administrators, and the ONE way a session ends: `Gateway::end_sso`. Every
//! ending (RP-initiated logout, a revocation in the portal or on /admin, the person blocked,
//! disabled or removed, a session found dead at use, expiry) goes through it, so each is
//! audited (`sso_session_ended`, with the actor, channel and reason) and every relying party
//! that got tokens in the session is told by back-channel logout (`backchannel.rs`).
//!
//! A session's public id (`sid`: in forms, pages and the ID tokens' `sid` claim) is derived
//! one way from the stored token hash under a domain-separation prefix: 128 bits, base64url.
//! Neither the cookie's token nor its hash is ever shown.

use super::{Actor, Gateway, Result};
use crate::audit::{AuditEvent, Channel, EventKind, Outcome};
use crate::model::{Person, PersonId, UnixTime};
use crate::store::SsoSessionRow;
use sha2::{Digest as _, Sha256};

/// The domain-separation prefix of the public session id.
const SID_PREFIX: &[u8] = b"mfa-gateway/sso-sid/v1\0";
/// Expired sessions ended per look (the daily task loops until none is left).
const EXPIRED_BATCH: u32 = 200;

/// The public id of the session stored under `token_hash`.
pub fn sso_sid(token_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(SID_PREFIX);
    h.update(token_hash.as_bytes());
    let digest = h.finalize();
    data_encoding::BASE64URL_NOPAD.encode(&digest[..16])
}

/// The public id of the session behind a cookie's `token`.
pub fn sso_sid_for_token(token: &str) -> String {
    sso_sid(&super::sso::token_hash(token))
}

/// Why a session ended (a closed set: the audit trail counts them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoEndReason {
    /// RP-initiated logout at the end_session endpoint.
    Logout,
    /// The person signed this browser out in the portal, or an administrator did.
    Revoked,
    PersonBlocked,
    PersonDisabled,
    PersonRemoved,
    /// Found dead at use (idle too long, past its lifetime, the person inactive or locked,
    /// single sign-on turned off).
    Dead,
    /// Past its lifetime (the daily task).
    Expired,
}

impl SsoEndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::Revoked => "revoked",
            Self::PersonBlocked => "person_blocked",
            Self::PersonDisabled => "person_disabled",
            Self::PersonRemoved => "person_removed",
            Self::Dead => "dead",
            Self::Expired => "expired",
        }
    }
}

/// Who ends sessions, where, and why (copied into each `sso_session_ended` event).
#[derive(Debug, Clone)]
pub struct SsoEnd {
    /// `person:ID`, `cli`, `system`...; empty: the session's own person.
    pub actor: String,
    pub channel: Channel,
    pub reason: SsoEndReason,
    /// The client it was done from (`portal`, `admin`, an OIDC client id).
    pub client: Option<String>,
    pub source: Option<String>,
    pub request_id: Option<String>,
}

impl SsoEnd {
    /// The system ends sessions (found dead, expired).
    pub fn system(reason: SsoEndReason) -> Self {
        Self {
            actor: "system".into(),
            channel: Channel::System,
            reason,
            client: None,
            source: None,
            request_id: None,
        }
    }

    /// As `origin` (an admin or portal event: its actor, channel, source, request id).
    pub fn from_event(origin: &AuditEvent, reason: SsoEndReason) -> Self {
        Self {
            actor: origin.actor.clone(),
            channel: origin.channel,
            reason,
            client: origin.client.clone(),
            source: origin.source.clone(),
            request_id: origin.request_id.clone(),
        }
    }
}

/// Which sessions to end.
#[derive(Debug, Clone, Copy)]
pub enum SsoWhich<'a> {
    /// The one behind a cookie's token.
    Token(&'a str),
    /// The one stored under this hash.
    Hash(&'a str),
    /// The one with this public id, if it is `person`'s.
    Sid { person: PersonId, sid: &'a str },
    /// Every one of this person's.
    Person(PersonId),
}

/// A session as shown to the person and their administrators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoSessionView {
    /// The public id (forms use it).
    pub sid: String,
    pub auth_time: UnixTime,
    /// The login's methods (RFC 8176), space-separated.
    pub amr: String,
    pub created_at: UnixTime,
    pub last_used_at: UnixTime,
    pub expires_at: UnixTime,
    /// The relying parties it served.
    pub clients: Vec<String>,
}

impl From<&SsoSessionRow> for SsoSessionView {
    fn from(r: &SsoSessionRow) -> Self {
        Self {
            sid: sso_sid(&r.token_hash),
            auth_time: r.session.auth_time,
            amr: r.session.amr.clone(),
            created_at: r.session.created_at,
            last_used_at: r.session.last_used_at,
            expires_at: r.session.expires_at,
            clients: r.clients.clone(),
        }
    }
}

impl Gateway {
    /// The back-channel sender, once the OpenID Provider is up (serve sets it).
    pub fn set_backchannel(&self, backchannel: crate::backchannel::Backchannel) {
        let _ = self.backchannel.set(backchannel);
    }

    /// The back-channel sender, when this process serves OIDC.
    pub(crate) fn backchannel(&self) -> Option<&crate::backchannel::Backchannel> {
        self.backchannel.get()
    }

    /// `person`'s single sign-on sessions, newest first.
    pub async fn sso_sessions(&self, person: PersonId) -> Result<Vec<SsoSessionView>> {
        Ok(self
            .store
            .sso_sessions_of(person)
            .await?
            .iter()
            .map(SsoSessionView::from)
            .collect())
    }

    /// `client_id` got tokens in the session `sid` of the person whose public id is `sub`
    /// (kept for back-channel logout); nothing when there is no such live session.
    pub async fn record_sso_client(
        &self,
        sub: &str,
        sid: &str,
        client_id: &str,
        now: UnixTime,
    ) -> Result<()> {
        let Some(person) = self.store.person_by_public_id(sub).await? else {
            return Ok(());
        };
        for row in self.store.sso_sessions_of(person.id).await? {
            if constant_eq(&sso_sid(&row.token_hash), sid) {
                self.store
                    .add_sso_client(&row.token_hash, client_id, now)
                    .await?;
            }
        }
        Ok(())
    }

    /// End single sign-on sessions: each deleted with its `sso_session_ended` event (once,
    /// however many enders race), then its relying parties told by back-channel logout off
    /// this path. THE way sessions end. How many were ended.
    pub async fn end_sso(&self, which: SsoWhich<'_>, why: &SsoEnd, now: UnixTime) -> Result<usize> {
        let rows = match which {
            SsoWhich::Token(token) => {
                if token.is_empty() || token.len() > 64 {
                    return Ok(0);
                }
                let hash = super::sso::token_hash(token);
                self.store
                    .sso_session_row(&hash)
                    .await?
                    .into_iter()
                    .collect()
            }
            SsoWhich::Hash(hash) => self
                .store
                .sso_session_row(hash)
                .await?
                .into_iter()
                .collect(),
            SsoWhich::Sid { person, sid } => self
                .store
                .sso_sessions_of(person)
                .await?
                .into_iter()
                .filter(|r| constant_eq(&sso_sid(&r.token_hash), sid))
                .collect(),
            SsoWhich::Person(person) => self.store.sso_sessions_of(person).await?,
        };
        let mut ended = 0;
        let mut people: Vec<Person> = Vec::new();
        for row in rows {
            let person = match people.iter().find(|p| p.id == row.session.person_id) {
                Some(p) => Some(p.clone()),
                None => {
                    let p = self.store.person_by_id(row.session.person_id).await?;
                    people.extend(p.clone());
                    p
                }
            };
            let sid = sso_sid(&row.token_hash);
            let bc = self.backchannel.get();
            let mut event = ended_event(&row, person.as_ref(), &sid, why, now);
            if let Some(serde_json::Value::Object(detail)) = &mut event.detail {
                // Without a provider here (the CLI) the serving process sends them, from
                // this event (`backchannel::follow`).
                let state = match (row.clients.is_empty(), bc.is_some()) {
                    (true, _) => "none",
                    (false, true) => "sent",
                    (false, false) => "pending",
                };
                detail.insert("backchannel".into(), state.into());
            }
            let Some(clients) = self.store.end_sso_session(&row.token_hash, &event).await? else {
                continue;
            };
            ended += 1;
            if let (Some(person), Some(bc), false) = (person, bc, clients.is_empty()) {
                bc.notify(
                    self.store.clone(),
                    crate::backchannel::EndedSession {
                        sub: person.public_id,
                        sid,
                        clients,
                        cause: event,
                    },
                );
            }
        }
        Ok(ended)
    }

    /// End every session past its lifetime at `now` (the daily task); how many.
    pub async fn end_expired_sso(&self, now: UnixTime) -> Result<usize> {
        let why = SsoEnd::system(SsoEndReason::Expired);
        let mut total = 0;
        loop {
            let rows = self.store.expired_sso_sessions(now, EXPIRED_BATCH).await?;
            if rows.is_empty() {
                return Ok(total);
            }
            let mut ended = 0;
            for row in &rows {
                ended += self
                    .end_sso(SsoWhich::Hash(&row.token_hash), &why, now)
                    .await?;
            }
            total += ended;
            if ended == 0 {
                // Someone else ended them meanwhile; do not spin.
                return Ok(total);
            }
        }
    }
}

impl Gateway {
    /// The person's own sessions (the portal's My devices).
    pub async fn portal_sso_sessions(&self, actor: &Actor) -> Result<Vec<SsoSessionView>> {
        self.sso_sessions(actor.own()?.id).await
    }

    /// The person signs one of their sessions out (`sid`), or all (None), in the portal;
    /// audited with them as actor, channel portal. How many ended (0: already gone).
    pub async fn portal_end_sso(
        &self,
        actor: &Actor,
        sid: Option<&str>,
        now: UnixTime,
    ) -> Result<usize> {
        let person = actor.own()?.id;
        let origin = actor.event(EventKind::SsoSessionEnded, now);
        let why = SsoEnd::from_event(&origin, SsoEndReason::Revoked);
        let which = match sid {
            Some(sid) => SsoWhich::Sid { person, sid },
            None => SsoWhich::Person(person),
        };
        self.end_sso(which, &why, now).await
    }

    /// A person's sessions, for an operator or an org admin of their organisation (another
    /// organisation's person: `NotFound`, audited `access_denied`).
    pub async fn admin_sso_sessions(
        &self,
        actor: &Actor,
        id: PersonId,
        now: UnixTime,
    ) -> Result<Vec<SsoSessionView>> {
        let (person, _) = self.admin_person(actor, id, now).await?;
        self.sso_sessions(person.id).await
    }

    /// An administrator signs one of a person's sessions out (`sid`) or all (None): the
    /// checks of the other credential actions (`admin_person_to_change`), audited with the
    /// actor. How many ended.
    pub async fn admin_end_sso(
        &self,
        actor: &Actor,
        id: PersonId,
        sid: Option<&str>,
        now: UnixTime,
    ) -> Result<usize> {
        let person = self.admin_person_to_change(actor, id, now).await?;
        let origin = actor.event(EventKind::SsoSessionEnded, now);
        let why = SsoEnd::from_event(&origin, SsoEndReason::Revoked);
        let which = match sid {
            Some(sid) => SsoWhich::Sid {
                person: person.id,
                sid,
            },
            None => SsoWhich::Person(person.id),
        };
        self.end_sso(which, &why, now).await
    }
}

fn constant_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn ended_event(
    row: &SsoSessionRow,
    person: Option<&Person>,
    sid: &str,
    why: &SsoEnd,
    now: UnixTime,
) -> AuditEvent {
    let actor = if why.actor.is_empty() {
        format!("person:{}", row.session.person_id)
    } else {
        why.actor.clone()
    };
    let mut e = AuditEvent::admin(now, EventKind::SsoSessionEnded, &actor);
    e.person_id = Some(row.session.person_id);
    e.username = person.map(|p| p.username.clone());
    e.org_id = person.map(|p| p.org_id);
    e.channel = why.channel;
    e.client = why.client.clone();
    e.source = why.source.clone();
    e.request_id = why.request_id.clone();
    e.outcome = Outcome::Done;
    e.reason = Some(why.reason.as_str().to_owned());
    e.detail = Some(serde_json::json!({
        "sid": sid,
        "clients": row.clients,
        "created_at": row.session.created_at,
    }));
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_are_one_way_128_bit_and_stable() {
        let a = sso_sid("ab12");
        assert_eq!(a, sso_sid("ab12"));
        assert_ne!(a, sso_sid("ab13"));
        assert_eq!(a.len(), 22);
        assert!(!a.contains("ab12"));
        assert_eq!(
            sso_sid_for_token("t"),
            sso_sid(&super::super::sso::token_hash("t"))
        );
        assert!(constant_eq("x", "x") && !constant_eq("x", "y") && !constant_eq("x", "xx"));
    }
}
