//! The gateway's side of the RADIUS front: `mfa_radius::AccessPolicy` on top of the engine.
//!
//! Per client mode: append (password and code in one User-Password), challenge (password,
//! then Access-Challenge with a single-use State bound to username and client, then the
//! code), second-factor-only (the NAS checked the password: the person approves the login
//! on a device of theirs, and the answer waits for it; see `service/approval.rs`), code-only
//! (the NAS checked the password: User-Password is the code; empty or `push` asks for an
//! approval). Rate limits come first, before any lookup or hashing.
//!
//! The attempt's `source` is the end user's address where the client's configured
//! attributes carry one, else the NAS's; the NAS's own address is audited as `detail.nas`
//! and a NAS is limited per client only. Usernames are mapped as typed (`PRAKTIJK\ann`,
//! `ann@praktijk.nl`, see `radius_field.rs`). A login refused because the hashing queue is
//! full is dropped without an answer (the NAS retransmits), never answered Reject.

use crate::audit::Channel;
use crate::config::RadiusSettings;
use crate::engine::{Attempt, Credentials, Reason, Verdict};
use crate::limits::Limits;
use crate::model::UnixTime;
use crate::secret::{SecretString, random_bytes};
use crate::service::Gateway;
use crate::store::normalise_username;
use mfa_radius::{AccessPolicy, AccessRequest, ClientMode, Decision};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;

/// How long a RADIUS login waits for a place in the hashing queue before it is dropped
/// (no answer: the NAS retransmits). Shorter than a NAS's usual retransmit interval (3 to 5
/// s), so a burst is taken in order instead of in waves.
const QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The most challenges pending at once; beyond it new ones are refused (memory bound).
const MAX_PENDING_CHALLENGES: usize = 100_000;

/// A challenge waiting for its code.
#[derive(Debug, Clone)]
struct Pending {
    username: String,
    client: String,
    expires: UnixTime,
}

/// `AccessPolicy` for the gateway.
#[derive(Debug)]
pub struct RadiusPolicy {
    gateway: Gateway,
    limits: Arc<Limits>,
    challenges: Mutex<HashMap<Vec<u8>, Pending>>,
    /// With `[shared]`: challenges in Redis (single use, GETDEL), answered on any instance.
    shared: Option<crate::shared::RedisShared>,
    challenge_timeout: i64,
    /// The configured challenge prompt; None: the catalogue's, in the person's language.
    prompt: Option<String>,
    /// Per-client settings, replaceable by a reload (SIGHUP).
    per_client: std::sync::RwLock<Arc<PerClient>>,
    /// Places in the gateway's hashing queue, handed out in arrival order (FIFO).
    admission: Arc<tokio::sync::Semaphore>,
    /// The language of each client's refusals and when it was looked up (see `reject_lang`).
    reject_langs: Mutex<HashMap<String, (crate::i18n::Lang, UnixTime)>>,
}

/// How long a client's refusal language is kept before it is looked up again (seconds).
const REJECT_LANG_SECONDS: UnixTime = 60;

impl RadiusPolicy {
    pub fn new(gateway: Gateway, settings: &RadiusSettings, limits: Arc<Limits>) -> Self {
        Self {
            limits,
            challenges: Mutex::new(HashMap::new()),
            reject_langs: Mutex::new(HashMap::new()),
            shared: None,
            challenge_timeout: i64::try_from(settings.challenge_timeout_seconds).unwrap_or(120),
            prompt: Some(settings.challenge_prompt.trim().to_owned()).filter(|p| !p.is_empty()),
            per_client: std::sync::RwLock::new(Arc::new(PerClient::of(settings))),
            admission: Arc::new(tokio::sync::Semaphore::new(
                gateway.hashing_queue_size().max(1),
            )),
            gateway,
        }
    }

    /// Keep challenges in the shared store (several instances).
    pub fn with_shared(mut self, shared: Option<crate::shared::RedisShared>) -> Self {
        self.shared = shared;
        self
    }

    /// Drop expired challenges; call every few seconds.
    pub fn housekeeping(&self, now: UnixTime) {
        if let Ok(mut map) = self.challenges.lock() {
            map.retain(|_, p| p.expires > now);
        }
    }

    async fn new_challenge(
        &self,
        username: &str,
        client: &str,
        now: UnixTime,
    ) -> Result<Option<Vec<u8>>, crate::shared::SharedError> {
        let state = match random_bytes(16) {
            Ok(s) => s,
            Err(_) => return Ok(None),
        };
        if let Some(sh) = &self.shared {
            // The State is a bearer value: only its HMAC is a key; the value names who and
            // which client it is for.
            let key = format!("rc:{}", sh.hide(&hex::encode(&state)));
            let value = format!("{}\0{client}", normalise_username(username));
            let ttl = std::time::Duration::from_secs(
                u64::try_from(self.challenge_timeout).unwrap_or(120),
            );
            sh.put(&key, value.as_bytes(), ttl).await?;
            return Ok(Some(state));
        }
        Ok(self.new_challenge_here(state, username, client, now))
    }

    fn new_challenge_here(
        &self,
        state: Vec<u8>,
        username: &str,
        client: &str,
        now: UnixTime,
    ) -> Option<Vec<u8>> {
        let mut map = self.challenges.lock().ok()?;
        if map.len() >= MAX_PENDING_CHALLENGES {
            map.retain(|_, p| p.expires > now);
            if map.len() >= MAX_PENDING_CHALLENGES {
                return None;
            }
        }
        map.insert(
            state.clone(),
            Pending {
                username: normalise_username(username),
                client: client.to_owned(),
                expires: now + self.challenge_timeout,
            },
        );
        Some(state)
    }

    /// Take (single use) the challenge `state` if it is live and bound to this user and client.
    async fn take_challenge(
        &self,
        state: &[u8],
        username: &str,
        client: &str,
        now: UnixTime,
    ) -> Result<bool, crate::shared::SharedError> {
        if let Some(sh) = &self.shared {
            let key = format!("rc:{}", sh.hide(&hex::encode(state)));
            let want = format!("{}\0{client}", normalise_username(username));
            return Ok(sh
                .take(&key)
                .await?
                .is_some_and(|v| crate::secret::ct_eq(&v, want.as_bytes())));
        }
        Ok(self.take_challenge_here(state, username, client, now))
    }

    fn take_challenge_here(
        &self,
        state: &[u8],
        username: &str,
        client: &str,
        now: UnixTime,
    ) -> bool {
        let Ok(mut map) = self.challenges.lock() else {
            return false;
        };
        match map.remove(state) {
            Some(p) => {
                p.expires > now && p.username == normalise_username(username) && p.client == client
            }
            None => false,
        }
    }

    /// The username to look up for what the person typed (see `ClientField::map_username`).
    pub fn map_username(&self, client: &str, typed: &str) -> String {
        self.per_client()
            .field
            .get(client)
            .map_or_else(|| typed.trim().to_owned(), |f| f.map_username(typed))
    }

    fn per_client(&self) -> Arc<PerClient> {
        self.per_client
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Take the clients' settings from a reloaded configuration.
    pub fn reload(&self, settings: &RadiusSettings) {
        *self
            .per_client
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(PerClient::of(settings));
    }

    async fn credentials(
        &self,
        req: &AccessRequest,
        username: &str,
        now: UnixTime,
    ) -> Result<Credentials, Reason> {
        let password = req
            .password
            .as_ref()
            .map(|p| SecretString::new(String::from_utf8_lossy(p.expose()).into_owned()))
            .unwrap_or_default();
        match &req.client.mode {
            ClientMode::SecondFactorOnly => Err(Reason::SecondFactorOnlyUnsupported),
            // The NAS checked the password; User-Password is the code (a push was handled
            // before).
            ClientMode::CodeOnly => Ok(Credentials::CodeAfterPassword { code: password }),
            ClientMode::Append { separator } => {
                let digits = self
                    .per_client()
                    .otp_digits
                    .get(&req.client.name)
                    .copied()
                    .unwrap_or(6);
                let (password, code) = split_append(password.expose(), *separator, digits);
                Ok(Credentials::PasswordAndCode { password, code })
            }
            ClientMode::Challenge => match &req.state {
                Some(state) => match self
                    .take_challenge(state, username, &req.client.name, now)
                    .await
                {
                    Ok(true) => Ok(Credentials::CodeAfterPassword { code: password }),
                    Ok(false) => Err(Reason::ChallengeExpired),
                    Err(e) => {
                        tracing::warn!(error = %e, "challenge state unavailable");
                        Err(Reason::SharedStateUnavailable)
                    }
                },
                None => Ok(Credentials::PasswordOnly { password }),
            },
        }
    }
}

/// What the policy keeps per RADIUS client (from `[[radius.clients]]`).
#[derive(Debug, Default)]
struct PerClient {
    otp_digits: HashMap<String, u8>,
    labels: HashMap<String, String>,
    field: HashMap<String, crate::radius_field::ClientField>,
}

impl PerClient {
    fn of(settings: &RadiusSettings) -> Self {
        Self {
            otp_digits: settings.otp_digits.clone(),
            labels: settings.labels.clone(),
            field: settings.field.clone(),
        }
    }
}

/// A held approval login across instances: ours to hold, or another instance's answer.
enum Joined {
    /// Nobody holds it: this instance does.
    Own,
    /// Another instance held it and answered (accepted or not).
    Answer(bool),
    /// Another instance holds it and no answer came in time: no answer here either (the
    /// NAS retransmits or gives up).
    Unknown,
    Unavailable,
}

impl RadiusPolicy {
    /// Claim the held login `key` (SET NX), or wait for the holder's answer.
    async fn join_held(&self, sh: &crate::shared::RedisShared, key: &str) -> Joined {
        let hold = self.gateway.approvals().settings().timeout_seconds + 10;
        let r: redis::RedisResult<Option<String>> = redis::cmd("SET")
            .arg(sh.key(key))
            .arg(sh.instance())
            .arg("NX")
            .arg("EX")
            .arg(hold)
            .query_async(&mut sh.conn())
            .await;
        match sh.seen(r) {
            Ok(Some(_)) => return Joined::Own,
            Ok(None) => {}
            Err(_) => return Joined::Unavailable,
        }
        // Held elsewhere: its answer is published, and kept a little under `<key>:done`.
        let mut messages = sh.messages();
        let done = format!("{key}:done");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(hold);
        loop {
            if let Ok(Some(v)) = sh.get(&done).await {
                return Joined::Answer(v == b"accept");
            }
            let wait = tokio::time::sleep(std::time::Duration::from_secs(2));
            tokio::select! {
                m = messages.recv() => {
                    if let Ok((channel, payload)) = m
                        && channel == "rf"
                        && let Some((k, answer)) = payload.split_once(' ')
                        && k == key
                    {
                        return Joined::Answer(answer == "accept");
                    }
                }
                () = wait => {}
            }
            if tokio::time::Instant::now() > deadline {
                return Joined::Unknown;
            }
        }
    }

    /// The held login `key` is answered: tell instances that joined it, then let it go.
    async fn release_held(&self, sh: &crate::shared::RedisShared, key: &str, accepted: bool) {
        let answer = if accepted { "accept" } else { "reject" };
        let _ = sh
            .put(
                &format!("{key}:done"),
                answer.as_bytes(),
                std::time::Duration::from_secs(30),
            )
            .await;
        let _ = sh.publish("rf", &format!("{key} {answer}")).await;
        let _ = sh.del(key).await;
    }
}

/// The id that ties a RADIUS request's audit event to its log lines: unique (a random
/// part), and naming the source and RADIUS packet id for the NAS's own logs.
fn request_id(req: &AccessRequest) -> String {
    let random = random_bytes(6).map_or_else(|_| "0".into(), hex::encode);
    format!("radius-{}-{}-{random}", req.source, req.packet_id)
}

/// Split "password" + "code" (after `separator`, or the last `digits` digits).
fn split_append(all: &str, separator: Option<char>, digits: u8) -> (SecretString, SecretString) {
    let split = match separator {
        Some(sep) => all.rsplit_once(sep),
        None => {
            let n = usize::from(digits);
            let cut = all
                .len()
                .checked_sub(n)
                .filter(|&c| c > 0 && all.is_char_boundary(c));
            cut.map(|c| all.split_at(c))
                .filter(|(_, code)| code.bytes().all(|b| b.is_ascii_digit()))
        }
    };
    match split {
        Some((p, c)) => (SecretString::new(p), SecretString::new(c)),
        None => (SecretString::new(all), SecretString::default()),
    }
}

#[async_trait::async_trait]
impl AccessPolicy for RadiusPolicy {
    async fn decide(&self, req: AccessRequest) -> Decision {
        use tracing::Instrument as _;
        let started = std::time::Instant::now();
        // The request id of the audit event, on every log line of this request too.
        let rid = request_id(&req);
        let span = tracing::info_span!("radius", request_id = %rid, client = %req.client.name);
        let decision = self.decide_inner(req, rid).instrument(span).await;
        metrics::histogram!(crate::telemetry::RADIUS_DECIDE_SECONDS)
            .record(started.elapsed().as_secs_f64());
        decision
    }

    async fn account(&self, req: mfa_radius::AccountingRequest) -> mfa_radius::AccountingDecision {
        let username = req
            .username
            .as_deref()
            .map(|typed| self.map_username(&req.client.name, typed));
        crate::radius_accounting::record(&self.gateway, &req, username, self.gateway.now()).await
    }
}

impl RadiusPolicy {
    /// The challenge's prompt: the configured one, else the catalogue's in the person's
    /// language (their password was right: the language may be theirs).
    async fn prompt_for(&self, person: Option<crate::model::PersonId>) -> String {
        if let Some(p) = &self.prompt {
            return p.clone();
        }
        let lang = match person {
            Some(id) => match self.gateway.store().person_by_id(id).await {
                Ok(Some(p)) => self.gateway.lang_of(&p).await,
                _ => self.gateway.i18n().default_language,
            },
            None => self.gateway.i18n().default_language,
        };
        crate::i18n::t(lang, "radius-challenge-prompt")
    }

    /// The language of `client`'s refusals: its organisation's, else the default. Looked up
    /// at most once a minute per client (clients are the configured NASes: the map stays
    /// small), so a change of the organisation's language reaches RADIUS within a minute.
    async fn reject_lang(&self, client: &str, now: UnixTime) -> crate::i18n::Lang {
        if let Ok(langs) = self.reject_langs.lock()
            && let Some((lang, at)) = langs.get(client)
            && now - at < REJECT_LANG_SECONDS
        {
            return *lang;
        }
        let lang = self
            .gateway
            .lang_of_client(Channel::Radius, Some(client))
            .await;
        if let Ok(mut langs) = self.reject_langs.lock() {
            langs.insert(client.to_owned(), (lang, now));
        }
        lang
    }

    async fn decide_inner(&self, req: AccessRequest, rid: String) -> Decision {
        let now = self.gateway.now();
        let nas = req.source.ip().to_canonical();
        let source = req.end_user_address.unwrap_or(nas);
        let username = self.map_username(&req.client.name, &req.username);
        let typed = (username != req.username).then(|| req.username.clone());
        let attempt = |credentials| Attempt {
            username: username.clone(),
            credentials,
            channel: Channel::Radius,
            client: Some(req.client.name.clone()),
            source: Some(source),
            request_id: Some(rid.clone()),
            nas: Some(nas),
            typed_username: typed.clone(),
        };
        // The same words for every refusal, in a language that does not depend on who the
        // name is (the client's organisation's, else the default); kept per client, so a
        // flood reaches no store before the rate limit.
        let lang = self.reject_lang(&req.client.name, now).await;
        let reject = Decision::Reject {
            reply_message: Some(crate::i18n::t(lang, "radius-reject")),
        };
        let anonymous = attempt(Credentials::PasswordOnly {
            password: SecretString::default(),
        });
        if !self
            .gateway
            .within_limits(&self.limits, &anonymous, now)
            .await
        {
            return reject;
        }
        let wants_push = req.client.mode == ClientMode::CodeOnly
            && req.password.as_ref().is_none_or(|p| {
                let text = String::from_utf8_lossy(p.expose());
                let text = text.trim();
                text.is_empty() || text.eq_ignore_ascii_case("push")
            });
        if req.client.mode == ClientMode::SecondFactorOnly || wants_push {
            // The NAS checked the password; the person approves on a device of theirs. The
            // answer is held (a retransmit joins it through the duplicate cache).
            let per_client = self.per_client();
            let label = per_client.labels.get(&req.client.name).map(String::as_str);
            let a = attempt(Credentials::PasswordOnly {
                password: SecretString::default(),
            });
            // Several instances: a login held for this person and client elsewhere (NPS
            // failing over with its retransmit) is joined, never prompted twice.
            let held = format!("rf:{}:{}", req.client.name, normalise_username(&username));
            if let Some(sh) = &self.shared {
                match self.join_held(sh, &held).await {
                    Joined::Own => {}
                    Joined::Answer(accepted) => {
                        return if accepted {
                            Decision::Accept {
                                reply_message: None,
                            }
                        } else {
                            reject
                        };
                    }
                    Joined::Unknown => return Decision::Drop,
                    Joined::Unavailable => {
                        let _ = self
                            .gateway
                            .reject_without_check(&a, Reason::SharedStateUnavailable, now)
                            .await;
                        return reject;
                    }
                }
            }
            let decided = self.gateway.login_by_approval(&a, label, now).await;
            let accepted = matches!(&decided, Ok(d) if matches!(d.verdict, Verdict::Accept { .. }));
            if let Some(sh) = &self.shared {
                self.release_held(sh, &held, accepted).await;
            }
            return match decided {
                Ok(d) if matches!(d.verdict, Verdict::Accept { .. }) => Decision::Accept {
                    reply_message: None,
                },
                Ok(d) if d.verdict == Verdict::Reject(Reason::Overloaded) => Decision::Drop,
                Ok(_) => reject,
                Err(e) => {
                    tracing::error!(error = %e, "approval failed inside the gateway; rejecting");
                    reject
                }
            };
        }
        let credentials = match self.credentials(&req, &username, now).await {
            Ok(c) => c,
            Err(reason) => {
                return match self
                    .gateway
                    .reject_without_check(&anonymous, reason, now)
                    .await
                {
                    Ok(_) => reject,
                    Err(e) => {
                        crate::ops::count_audit_write_failure();
                        tracing::error!(error = %e, "audit write failed; rejecting");
                        reject
                    }
                };
            }
        };
        let challenge_mode = matches!(credentials, Credentials::PasswordOnly { .. });
        // A place in the hashing queue, waiting a little for one in arrival order; none:
        // dropped, counted, and the NAS's retransmit tries again.
        let Ok(Ok(_place)) =
            tokio::time::timeout(QUEUE_WAIT, Arc::clone(&self.admission).acquire_owned()).await
        else {
            metrics::counter!(crate::telemetry::RADIUS_QUEUE_FULL).increment(1);
            return Decision::Drop;
        };
        let decision = match self.gateway.login(attempt(credentials), now).await {
            Ok(d) => d,
            Err(e) => {
                if matches!(e, crate::service::ServiceError::Store(_)) {
                    crate::ops::count_audit_write_failure();
                }
                tracing::error!(error = %e, user = %req.username, "login failed inside the gateway; rejecting");
                return reject;
            }
        };
        match decision.verdict {
            Verdict::Accept { .. } => Decision::Accept {
                reply_message: None,
            },
            // The hashing queue is full: no answer, so the NAS retransmits in a moment (an
            // Access-Reject would lock the person out and be repeated from the cache).
            Verdict::Reject(Reason::Overloaded) => Decision::Drop,
            Verdict::NeedSecondFactor if challenge_mode => {
                match self.new_challenge(&username, &req.client.name, now).await {
                    Ok(Some(state)) => Decision::Challenge {
                        state,
                        reply_message: self.prompt_for(decision.event.person_id).await,
                        session_timeout: u32::try_from(self.challenge_timeout).ok(),
                    },
                    Ok(None) => reject,
                    Err(e) => {
                        tracing::warn!(error = %e, "challenge state unavailable; rejecting");
                        reject
                    }
                }
            }
            Verdict::NeedSecondFactor | Verdict::Reject(_) => reject,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(all: &str, sep: Option<char>, digits: u8) -> (String, String) {
        let (p, c) = split_append(all, sep, digits);
        (p.expose().to_owned(), c.expose().to_owned())
    }

    #[test]
    fn append_split() {
        assert_eq!(
            split("secret123456", None, 6),
            ("secret".into(), "123456".into())
        );
        assert_eq!(
            split("secret12345678", None, 8),
            ("secret".into(), "12345678".into())
        );
        assert_eq!(
            split("secret,123456", Some(','), 6),
            ("secret".into(), "123456".into())
        );
        assert_eq!(
            split("se,cret,123456", Some(','), 6),
            ("se,cret".into(), "123456".into())
        );
        assert_eq!(split("secret", None, 6), ("secret".into(), String::new()));
        assert_eq!(split("123456", None, 6), ("123456".into(), String::new()));
        assert_eq!(
            split("secretabcdef", None, 6),
            ("secretabcdef".into(), String::new())
        );
        assert_eq!(
            split("pässwörd123456", None, 6),
            ("pässwörd".into(), "123456".into())
        );
    }
}
