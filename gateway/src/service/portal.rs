//! The self-service portal's operations: a person acting on their own devices and recovery
//! codes, each change confirmed where needed by a fresh code and audited (channel `portal`).

use super::*;
use crate::engine::KeyAssertion;
use crate::webauthn::KeyError;
use webauthn_rs::prelude::{Passkey, Webauthn};

const WRONG_CODE: &str = "svc-wrong-code";
const NO_SUCH_TOKEN: &str = "svc-no-such-token";
const WRONG_TOKEN_CODE: &str = "svc-wrong-token-code";
/// A wrong code for a phone being added (the portal, the activation).
pub const WRONG_NEW_CODE: &str = "svc-wrong-new-code";
const NO_SUCH_DEVICE: &str = "svc-no-such-device";
const KEY_NOT_ACCEPTED: &str = "svc-key-not-accepted";
const KEY_LINKED: &str = "svc-key-linked";
const WRONG_KEY: &str = "svc-wrong-key";
const WRONG_STEP_UP: &str = "svc-wrong-step-up";

impl Gateway {
    // ---- the self-service portal -----------------------------------------------------------

    pub async fn person_by_id(&self, id: PersonId) -> Result<Person> {
        self.store
            .person_by_id(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("person {id}")))
    }

    /// Run the engine on a code against `devices` only (no password: the portal session
    /// vouches for it); the caller writes the decision with `record`. Its event is a login
    /// attempt that names the change it `confirms` (detail), so My logins can tell it from a
    /// sign-in.
    fn check_code(
        &self,
        actor: &Actor,
        confirms: &str,
        devices: Vec<UsableDevice>,
        recovery_codes: Vec<RecoveryCode>,
        code: &str,
        now: UnixTime,
    ) -> Result<(Attempt, Decision)> {
        let attempt = actor.attempt(actor.own()?, code);
        let decision =
            self.check_factor(actor, confirms, devices, recovery_codes, &attempt, now)?;
        Ok((attempt, decision))
    }

    /// `check_code` for any second factor (a code, or a security key checked already).
    fn check_factor(
        &self,
        actor: &Actor,
        confirms: &str,
        devices: Vec<UsableDevice>,
        recovery_codes: Vec<RecoveryCode>,
        attempt: &Attempt,
        now: UnixTime,
    ) -> Result<Decision> {
        let subject = Subject {
            person: actor.own()?.clone(),
            password_hash: None,
            devices,
            recovery_codes,
            source_blocked_until: None,
            directory: None,
            policy: None,
        };
        let mut decision = self.engine.decide(attempt, Some(&subject), now);
        let mut detail = match decision.event.detail.take() {
            Some(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        detail.insert("confirms".into(), confirms.into());
        decision.event.detail = Some(serde_json::Value::Object(detail));
        Ok(decision)
    }

    /// Write a portal decision (see `record_decision`): the decision written, which is a
    /// reject when a concurrent attempt used the code or locked the person first.
    async fn record(
        &self,
        actor: &Actor,
        attempt: &Attempt,
        decision: Decision,
        now: UnixTime,
    ) -> Result<Decision> {
        let subject = Subject {
            person: actor.own()?.clone(),
            password_hash: None,
            devices: Vec::new(),
            recovery_codes: Vec::new(),
            source_blocked_until: None,
            directory: None,
            policy: None,
        };
        self.record_decision(attempt, Some(&subject), decision, now)
            .await
    }

    /// The token of the "this was not me" link for a newly linked device: an HMAC of the
    /// device's id and random uid under a key derived from the master key (no state).
    pub fn not_me_token(&self, device: &Device) -> String {
        use hmac::Mac as _;
        let key = self.key.derive("not-me-link");
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_slice()) else {
            return String::new();
        };
        mac.update(&device.id.to_be_bytes());
        mac.update(device.uid.as_bytes());
        data_encoding::BASE64URL_NOPAD.encode(&mac.finalize().into_bytes()[..18])
    }

    /// Where the "this was not me" link of `device` points.
    pub fn not_me_url(&self, device: &Device) -> Option<String> {
        self.public_url().map(|u| {
            format!(
                "{}/portal/not-me/{}/{}",
                u.trim_end_matches('/'),
                device.id,
                self.not_me_token(device)
            )
        })
    }

    /// The device a "this was not me" link names, if the link is genuine and the device is
    /// still active.
    pub async fn not_me_device(&self, id: DeviceId, token: &str) -> Result<Device> {
        let device = self
            .store
            .device_by_id(id)
            .await?
            .filter(|d| d.state == DeviceState::Active && d.person_id.is_some())
            .filter(|d| crate::secret::ct_eq(self.not_me_token(d).as_bytes(), token.as_bytes()))
            .ok_or_else(|| ServiceError::NotFound("device".into()))?;
        Ok(device)
    }

    /// "This was not me": the link from the notice mail disables the new device at once
    /// (audited, the person told). Returns the device and its person.
    pub async fn not_me_disable(
        &self,
        id: DeviceId,
        token: &str,
        source: Option<IpAddr>,
        request_id: Option<String>,
        now: UnixTime,
    ) -> Result<(Device, Person)> {
        let device = self.not_me_device(id, token).await?;
        let person = self
            .person_by_id(device.person_id.unwrap_or_default())
            .await?;
        let actor = Actor::portal(person.clone(), source, request_id);
        let mut event = actor.event(EventKind::DeviceDisabled, now);
        event.device_label = Some(device.label.clone());
        event.detail = Some(serde_json::json!({ "why": "not_me_link" }));
        if !self.store.disable_device(device.id, event.clone()).await? {
            return Err(ServiceError::NotFound("device".into()));
        }
        self.announce(
            &person,
            &event,
            "mail-what-device-disabled-not-me",
            vec![("label", device.label.clone().into())],
        );
        Ok((device, person))
    }

    /// Announce a newly linked device, with the link that disables it if it was not the
    /// person who linked it. `what`: the catalogue's key of the first line, with `args`.
    pub(super) fn announce_new_device(
        &self,
        person: &Person,
        event: &AuditEvent,
        device: &Device,
        what: &'static str,
        args: Vec<(&'static str, crate::i18n::Arg)>,
    ) {
        let link = self.not_me_url(device);
        self.announce_with(person, event, what, args, link);
    }

    /// Tell the person by e-mail what changed on their account, in their language (`what`:
    /// the catalogue's key of the first line, with `args`; from the event's source).
    pub(super) fn announce(
        &self,
        person: &Person,
        event: &AuditEvent,
        what: &'static str,
        args: Vec<(&'static str, crate::i18n::Arg)>,
    ) {
        self.announce_with(person, event, what, args, None);
    }

    fn announce_with(
        &self,
        person: &Person,
        event: &AuditEvent,
        what: &'static str,
        args: Vec<(&'static str, crate::i18n::Arg)>,
        not_me: Option<String>,
    ) {
        use crate::i18n::{Arg, t, t_args};
        let source = event.source.clone();
        let time = event.time;
        self.notify_in(
            person,
            move |gw, lang| {
                let what = t_args(lang, what, &args);
                let source = source.unwrap_or_else(|| t(lang, "mail-unknown-address"));
                let body = |link: &str| {
                    let mut body = format!(
                        "{what}.\n\n{}\n{}\n\n",
                        t_args(
                            lang,
                            "mail-when",
                            &[("when", Arg::from(gw.time_in(time, lang)))]
                        ),
                        t_args(
                            lang,
                            "mail-from-portal",
                            &[("source", Arg::from(source.as_str()))]
                        ),
                    );
                    if !link.is_empty() {
                        body.push_str(&format!("{}\n{link}\n\n", t(lang, "mail-not-me-link")));
                    }
                    body.push_str(&t(lang, "mail-tell-admin"));
                    body.push('\n');
                    body
                };
                super::notify::Notice {
                    subject: t_args(
                        lang,
                        "mail-account-subject",
                        &[("what", Arg::from(what.as_str()))],
                    ),
                    body: body(not_me.as_deref().unwrap_or("")),
                    // The "not me" link disables a device: not for the audit trail's readers.
                    audit_body: Some(body(if not_me.is_some() { "(link)" } else { "" })),
                }
            },
            event,
        );
    }

    /// A device not stored (yet) but held by `person`, for checking a code against it.
    fn unsaved_device(person: &Person, template: Device, secret: SecretBytes) -> UsableDevice {
        UsableDevice {
            device: Device {
                person_id: Some(person.id),
                state: DeviceState::Active,
                ..template
            },
            secret,
        }
    }

    /// Save a phone whose secret the person was shown, once `code` from it verifies.
    /// A wrong code: `Refused` (counted toward the lockout, audited).
    pub async fn portal_add_totp(
        &self,
        actor: &Actor,
        label: &str,
        seed: &SecretBytes,
        code: &str,
        now: UnixTime,
    ) -> Result<Device> {
        let person = actor.own()?;
        let params = crate::otp::OtpParams::totp_default();
        let new = self.new_phone(person, label, params, seed)?;
        let template = Device {
            id: 0,
            uid: new.uid.clone(),
            person_id: new.person_id,
            org_id: new.org_id,
            kind: new.kind,
            label: new.label.clone(),
            serial: None,
            manufacturer: None,
            otp: params,
            sealed_secret: Vec::new(),
            counter: 0,
            last_step: None,
            state: DeviceState::Active,
            created_at: now,
            last_used_at: None,
        };
        let unsaved = Self::unsaved_device(person, template, seed.clone());
        let (attempt, mut decision) =
            self.check_code(actor, "add_phone", vec![unsaved], Vec::new(), code, now)?;
        if !matches!(decision.verdict, Verdict::Accept { .. }) {
            self.record(actor, &attempt, decision, now).await?;
            return Err(refused(WRONG_NEW_CODE));
        }
        let event = actor.event(EventKind::DeviceLinked, now);
        let device = self.store.add_device(&new, now, event.clone()).await?;
        self.announce_new_device(
            person,
            &event,
            &device,
            "mail-what-phone-linked",
            vec![("label", device.label.clone().into())],
        );
        // The code just used is spent on the saved device.
        if let Some(DeviceUse::TotpStep { step, .. }) = decision.changes.device_use {
            decision.changes.device_use = Some(DeviceUse::TotpStep {
                device_id: device.id,
                step,
            });
        }
        decision.event.device_id = Some(device.id);
        self.record(actor, &attempt, decision, now).await?;
        Ok(device)
    }

    /// Link a hardware token from stock (the person's organisation's, or no organisation's)
    /// once `code` from it verifies.
    pub async fn portal_link_token(
        &self,
        actor: &Actor,
        serial: &str,
        label: &str,
        code: &str,
        now: UnixTime,
    ) -> Result<Device> {
        let person = actor.own()?;
        let serial = serial.trim();
        let token = self
            .store
            .device_by_serial(serial)
            .await?
            .filter(|d| d.kind == DeviceKind::HardwareToken && d.state == DeviceState::InStock)
            .filter(|d| d.org_id.is_none_or(|o| o == person.org_id))
            .ok_or_else(|| refused(NO_SUCH_TOKEN))?;
        let secret = self.open_secret(&token)?;
        let unsaved = Self::unsaved_device(person, token, secret);
        let (attempt, decision) =
            self.check_code(actor, "link_token", vec![unsaved], Vec::new(), code, now)?;
        if !matches!(decision.verdict, Verdict::Accept { .. }) {
            self.record(actor, &attempt, decision, now).await?;
            return Err(refused(WRONG_TOKEN_CODE));
        }
        let event = actor.event(EventKind::DeviceLinked, now);
        let label = label_or(label, &format!("token {serial}"))?;
        let mut decision = decision;
        decision.event.device_label = Some(label.clone());
        let device = self
            .store
            .assign_token(serial, person.id, &label, event.clone())
            .await?;
        self.announce_new_device(
            person,
            &event,
            &device,
            "mail-what-token-linked",
            vec![
                ("serial", serial.to_owned().into()),
                ("label", label.clone().into()),
            ],
        );
        // Linked and active now: the code is spent on it (a lost race only means the same
        // code was used at once elsewhere; the link stands).
        self.record(actor, &attempt, decision, now).await?;
        Ok(device)
    }

    /// A device of the actor's that is still linked.
    async fn own_device(&self, actor: &Actor, id: DeviceId) -> Result<Device> {
        let person = actor.own()?.id;
        self.store
            .device_by_id(id)
            .await?
            .filter(|d| d.person_id == Some(person))
            .filter(|d| matches!(d.state, DeviceState::Active | DeviceState::Disabled))
            .ok_or_else(|| refused(NO_SUCH_DEVICE))
    }

    pub async fn portal_rename(
        &self,
        actor: &Actor,
        id: DeviceId,
        label: &str,
        now: UnixTime,
    ) -> Result<()> {
        let person = actor.own()?;
        let label = check_label(label)?;
        let label = label.as_str();
        let device = self.own_device(actor, id).await?;
        let mut event = actor.event(EventKind::DeviceRenamed, now);
        event.detail = Some(serde_json::json!({ "from": device.label, "to": label }));
        self.store
            .rename_device(device.id, person.id, label, event.clone())
            .await?;
        self.announce(
            person,
            &event,
            "mail-what-device-renamed",
            vec![
                ("from", device.label.clone().into()),
                ("to", label.to_owned().into()),
            ],
        );
        Ok(())
    }

    /// The person's other active devices, seeds opened (a code from one of them, or one of
    /// the security keys among them, confirms removing `id`).
    async fn other_devices(&self, actor: &Actor, id: DeviceId) -> Result<Vec<UsableDevice>> {
        let mut out = Vec::new();
        for device in self.store.devices_of(actor.own()?.id).await? {
            if device.id == id || device.state != DeviceState::Active {
                continue;
            }
            // A push subscription gives no code: it only receives approval requests.
            if device.kind == DeviceKind::PushSubscription {
                continue;
            }
            if device.kind == DeviceKind::SecurityKey {
                out.push(UsableDevice {
                    device,
                    secret: SecretBytes::new(Vec::new()),
                });
                continue;
            }
            match self.open_secret(&device) {
                Ok(secret) => out.push(UsableDevice { device, secret }),
                Err(e) => {
                    tracing::error!(device = device.id, error = %e, "device seed does not open")
                }
            }
        }
        Ok(out)
    }

    /// May `id` be removed (it is linked and another active device remains)? The refusal
    /// says why.
    pub async fn portal_can_remove(&self, actor: &Actor, id: DeviceId) -> Result<Device> {
        let device = self.own_device(actor, id).await?;
        if self.other_devices(actor, id).await?.is_empty() {
            return Err(refused(LAST_DEVICE));
        }
        Ok(device)
    }

    /// Step-up before a factor is added: `code` must be a current code of one of the
    /// person's active devices (or a recovery code). A wrong code counts toward the lockout
    /// and is audited (a login attempt that `confirms` "step_up").
    pub async fn portal_step_up(&self, actor: &Actor, code: &str, now: UnixTime) -> Result<()> {
        let devices = self.other_devices(actor, 0).await?;
        let recovery = self.store.recovery_codes(actor.own()?.id).await?;
        let (attempt, decision) =
            self.check_code(actor, "step_up", devices, recovery, code, now)?;
        let written = self.record(actor, &attempt, decision, now).await?;
        if matches!(written.verdict, Verdict::Accept { .. }) {
            Ok(())
        } else {
            Err(refused(WRONG_STEP_UP))
        }
    }

    /// Unused recovery codes left to the actor.
    pub async fn recovery_codes_left(&self, actor: &Actor) -> Result<usize> {
        Ok(self.store.recovery_codes(actor.own()?.id).await?.len())
    }

    /// A new set of 10 recovery codes (`ABCDE-FGHIJ`), to show once; the old set is void.
    pub async fn portal_recovery_codes(
        &self,
        actor: &Actor,
        now: UnixTime,
    ) -> Result<Vec<SecretString>> {
        let person = actor.own()?;
        let mut codes = Vec::with_capacity(10);
        let mut hashes = Vec::with_capacity(10);
        for _ in 0..10 {
            let bytes =
                random_bytes(7).map_err(|_| ServiceError::Crypto("random generator".into()))?;
            let mut normal = data_encoding::BASE32_NOPAD.encode(&bytes);
            normal.truncate(RECOVERY_CODE_LEN);
            hashes.push(self.engine.code_key().hash(person.id, &normal));
            let (a, b) = normal.split_at(RECOVERY_CODE_LEN / 2);
            codes.push(SecretString::new(format!("{a}-{b}")));
        }
        let mut event = actor.event(EventKind::RecoveryCodesGenerated, now);
        event.detail = Some(serde_json::json!({ "count": hashes.len() }));
        self.store
            .replace_recovery_codes(person.id, &hashes, now, event.clone())
            .await?;
        self.announce(person, &event, "mail-what-recovery-codes", vec![]);
        Ok(codes)
    }

    /// Remove a device of the actor's, with a fresh code from another active device (or a
    /// recovery code).
    pub async fn portal_remove(
        &self,
        actor: &Actor,
        id: DeviceId,
        code: &str,
        now: UnixTime,
    ) -> Result<()> {
        let person = actor.own()?;
        let device = self.own_device(actor, id).await?;
        let others = self.other_devices(actor, id).await?;
        if others.is_empty() {
            return Err(refused(LAST_DEVICE));
        }
        let recovery = self.store.recovery_codes(person.id).await?;
        let (attempt, decision) =
            self.check_code(actor, "remove_device", others, recovery, code, now)?;
        // A code used at once elsewhere (a replay) or a lock set meanwhile: a reject.
        let written = self.record(actor, &attempt, decision, now).await?;
        if !matches!(written.verdict, Verdict::Accept { .. }) {
            return Err(refused(WRONG_CODE));
        }
        let event = actor.event(EventKind::DeviceRemoved, now);
        self.store.remove_device(device.id, event.clone()).await?;
        self.announce(
            person,
            &event,
            "mail-what-device-removed",
            vec![("label", device.label.clone().into())],
        );
        Ok(())
    }

    // ---- security keys and passkeys (WebAuthn) ---------------------------------------------

    /// The person's active security keys, their credentials opened, except `except`.
    async fn passkeys(
        &self,
        person: PersonId,
        except: Option<DeviceId>,
    ) -> Result<Vec<(DeviceId, Passkey)>> {
        let mut out = Vec::new();
        for key in self.store.security_keys(person).await? {
            if Some(key.device.id) == except {
                continue;
            }
            let opened = self
                .key
                .open(&key.sealed_passkey, key.device.uid.as_bytes())
                .map_err(|e| ServiceError::Crypto(format!("device {}: {e}", key.device.id)))
                .and_then(|json| {
                    serde_json::from_slice::<Passkey>(json.expose()).map_err(|e| {
                        ServiceError::Internal(format!("device {}: {e}", key.device.id))
                    })
                });
            match opened {
                Ok(passkey) => out.push((key.device.id, passkey)),
                // Never authenticates; the operator must see it.
                Err(e) => {
                    tracing::error!(device = key.device.id, error = %e, "security key does not open")
                }
            }
        }
        Ok(out)
    }

    /// Does `username` have an active security key? (Asked after the password step only.)
    /// Does `username` have a device that gets sign-in requests (Web Push)?
    pub async fn has_push_device(&self, username: &str) -> Result<bool> {
        let Some(person) = self.store.person_by_username(username).await? else {
            return Ok(false);
        };
        // The organisation's policy may refuse approvals: then none is offered.
        if !self.org_policy(person.org_id).await?.allows_approvals() {
            return Ok(false);
        }
        Ok(self
            .store
            .devices_of(person.id)
            .await?
            .iter()
            .any(|d| d.kind == DeviceKind::PushSubscription && d.state == DeviceState::Active))
    }

    pub async fn has_security_key(&self, username: &str) -> Result<bool> {
        let Some(person) = self.store.person_by_username(username).await? else {
            return Ok(false);
        };
        if !self
            .org_policy(person.org_id)
            .await?
            .allows(crate::policy::FactorKind::SecurityKey)
        {
            return Ok(false);
        }
        Ok(!self.store.security_keys(person.id).await?.is_empty())
    }

    /// Start a key check for `username` (any active key but `except`): (options JSON for the
    /// browser, state JSON to keep); None when they have no such key.
    pub async fn key_challenge(
        &self,
        username: &str,
        rp: &Webauthn,
        except: Option<DeviceId>,
    ) -> Result<Option<(String, String)>> {
        let Some(person) = self.store.person_by_username(username).await? else {
            return Ok(None);
        };
        let keys: Vec<Passkey> = self
            .passkeys(person.id, except)
            .await?
            .into_iter()
            .map(|(_, k)| k)
            .collect();
        if keys.is_empty() {
            return Ok(None);
        }
        crate::webauthn::start_authentication(rp, &keys)
            .map(Some)
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// Verify the browser's answer to a key check against the person's keys (but `except`):
    /// the key that signed and its counter, or None when it does not verify.
    async fn verify_key(
        &self,
        person: PersonId,
        rp: &Webauthn,
        state: &str,
        response: &str,
        except: Option<DeviceId>,
    ) -> Result<Option<KeyAssertion>> {
        let result = match crate::webauthn::finish_authentication(rp, state, response) {
            Ok(r) => r,
            Err(KeyError::Rejected(e)) => {
                tracing::info!(person, error = %e, "security key assertion refused");
                return Ok(None);
            }
            Err(e) => return Err(ServiceError::Internal(e.to_string())),
        };
        let id = crate::webauthn::credential_id_text(result.cred_id());
        Ok(self
            .store
            .security_keys(person)
            .await?
            .into_iter()
            .filter(|k| Some(k.device.id) != except)
            .find(|k| crate::secret::ct_eq(k.credential_id.as_bytes(), id.as_bytes()))
            .map(|k| KeyAssertion {
                device_id: k.device.id,
                counter: result.counter(),
            }))
    }

    /// The second login step with a security key: `attempt` (its credentials are replaced)
    /// is decided like a code, through the same limits, lockout and audit; an answer that
    /// does not verify is a failed attempt.
    pub async fn key_login(
        &self,
        mut attempt: Attempt,
        rp: &Webauthn,
        state: &str,
        response: &str,
        now: UnixTime,
    ) -> Result<Decision> {
        let key = match self
            .resolve_login_name(
                attempt.channel,
                attempt.client.as_deref(),
                &attempt.username,
            )
            .await?
        {
            crate::store::NameMatch::Found(p) => {
                self.verify_key(p.id, rp, state, response, None).await?
            }
            _ => None,
        };
        attempt.credentials = Credentials::KeyAfterPassword { key };
        self.login(attempt, now).await
    }

    /// Start linking a security key or passkey to the actor: (options JSON for the browser,
    /// state JSON to keep). Their linked keys are excluded.
    pub async fn portal_start_key(&self, actor: &Actor, rp: &Webauthn) -> Result<(String, String)> {
        let person = actor.own()?;
        let mut exclude = Vec::new();
        for k in self.store.security_keys(person.id).await? {
            if let Ok(id) = base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                &k.credential_id,
            ) {
                exclude.push(id);
            }
        }
        crate::webauthn::start_registration(
            rp,
            crate::webauthn::user_handle(&person.public_id),
            &person.username,
            &person.full_name,
            exclude,
        )
        .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// Is `label` a name a device may have? The trimmed name.
    pub fn device_label(label: &str) -> Result<String> {
        check_label(label)
    }

    /// Finish linking a key: verify the browser's answer against the kept state, save the
    /// key (its credential sealed), audit and announce it.
    pub async fn portal_finish_key(
        &self,
        actor: &Actor,
        rp: &Webauthn,
        label: &str,
        state: &str,
        response: &str,
        now: UnixTime,
    ) -> Result<Device> {
        let label = Self::device_label(label)?;
        let person = actor.own()?;
        let passkey = match crate::webauthn::finish_registration(rp, state, response) {
            Ok(p) => p,
            Err(KeyError::Rejected(e)) => {
                tracing::info!(person = person.id, error = %e, "security key registration refused");
                return Err(refused(KEY_NOT_ACCEPTED));
            }
            Err(e) => return Err(ServiceError::Internal(e.to_string())),
        };
        let credential_id = crate::webauthn::credential_id_text(passkey.cred_id());
        let json =
            serde_json::to_vec(&passkey).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let uid = new_uid();
        let sealed = self.seal(&json, &uid)?;
        let new = NewDevice {
            uid,
            person_id: Some(person.id),
            org_id: Some(person.org_id),
            kind: DeviceKind::SecurityKey,
            label: label.clone(),
            serial: None,
            manufacturer: None,
            otp: crate::otp::OtpParams::totp_default(),
            sealed_secret: Vec::new(),
            counter: 0,
            state: DeviceState::Active,
        };
        let mut event = actor.event(EventKind::DeviceLinked, now);
        event.detail = Some(serde_json::json!({ "kind": DeviceKind::SecurityKey.as_str() }));
        let device = match self
            .store
            .add_security_key(&new, &credential_id, &sealed, now, event.clone())
            .await
        {
            Ok(d) => d,
            Err(StoreError::Conflict(_)) => return Err(refused(KEY_LINKED)),
            Err(e) => return Err(e.into()),
        };
        event.device_id = Some(device.id);
        event.device_label = Some(device.label.clone());
        self.announce_new_device(
            person,
            &event,
            &device,
            "mail-what-key-linked",
            vec![("label", device.label.clone().into())],
        );
        Ok(device)
    }

    /// Remove a device of the actor's, confirmed with another of their security keys (the
    /// answer to `key_challenge(.., Some(id))`).
    pub async fn portal_remove_with_key(
        &self,
        actor: &Actor,
        id: DeviceId,
        rp: &Webauthn,
        state: &str,
        response: &str,
        now: UnixTime,
    ) -> Result<()> {
        let person = actor.own()?;
        let device = self.own_device(actor, id).await?;
        let others = self.other_devices(actor, id).await?;
        if others.is_empty() {
            return Err(refused(LAST_DEVICE));
        }
        let key = self
            .verify_key(person.id, rp, state, response, Some(id))
            .await?;
        let attempt = actor.attempt_with(person, Credentials::KeyAfterPassword { key });
        let decision =
            self.check_factor(actor, "remove_device", others, Vec::new(), &attempt, now)?;
        // The key's counter did not go up (a replay or a cloned key) or a lock was set
        // meanwhile: a reject.
        let written = self.record(actor, &attempt, decision, now).await?;
        if !matches!(written.verdict, Verdict::Accept { .. }) {
            return Err(refused(WRONG_KEY));
        }
        let event = actor.event(EventKind::DeviceRemoved, now);
        self.store.remove_device(device.id, event.clone()).await?;
        self.announce(
            person,
            &event,
            "mail-what-device-removed",
            vec![("label", device.label.clone().into())],
        );
        Ok(())
    }

    /// May another of the actor's security keys confirm removing `id`?
    pub async fn portal_key_confirms(&self, actor: &Actor, id: DeviceId) -> Result<bool> {
        Ok(self
            .store
            .security_keys(actor.own()?.id)
            .await?
            .iter()
            .any(|k| k.device.id != id))
    }
}
