//! The self-service portal's operations: a person acting on their own devices and recovery
//! codes, each change confirmed where needed by a fresh code and audited (channel `portal`).

use super::*;

const WRONG_CODE: &str =
    "That code is not right. Enter the current code from another of your devices.";
const NO_SUCH_TOKEN: &str = "No token with that serial number can be linked to your account. Check the number on the token, or ask your administrator.";
const WRONG_TOKEN_CODE: &str =
    "That code is not right for this token. Press the token's button and enter the code it shows.";
const WRONG_NEW_CODE: &str = "That code is not right. Check that the app shows the new account, then enter its current code.";
const NO_SUCH_DEVICE: &str = "That device is not linked to your account.";
const BAD_LABEL: &str = "Give the device a name of 1 to 64 characters.";

/// Who acts in the self-service portal: the logged-in person, and from where.
#[derive(Debug, Clone)]
pub struct PortalActor {
    pub person: Person,
    pub source: Option<IpAddr>,
    pub request_id: Option<String>,
}

impl PortalActor {
    /// An event about this person, done by them in the portal.
    pub(crate) fn event(&self, kind: EventKind, now: UnixTime) -> AuditEvent {
        let actor = format!("person:{}", self.person.id);
        let mut e = Gateway::person_event(&self.person, kind, &actor, now);
        e.channel = Channel::Portal;
        e.client = Some(PORTAL_CLIENT.into());
        e.source = self.source.map(|s| s.to_string());
        e.request_id = self.request_id.clone();
        e
    }

    /// A code presented in the portal (the session vouches for the password).
    fn attempt(&self, code: &str) -> Attempt {
        Attempt {
            username: self.person.username.clone(),
            credentials: Credentials::CodeAfterPassword {
                code: SecretString::new(code.trim()),
            },
            channel: Channel::Portal,
            client: Some(PORTAL_CLIENT.into()),
            source: self.source,
            request_id: self.request_id.clone(),
        }
    }
}

impl Gateway {
    // ---- the self-service portal -----------------------------------------------------------

    pub async fn person_by_id(&self, id: PersonId) -> Result<Person> {
        self.store
            .person_by_id(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("person {id}")))
    }

    /// Run the engine on a code against `devices` only (no password: the portal session
    /// vouches for it); the caller writes the decision. Its event is a login attempt that
    /// names the change it `confirms` (detail), so My logins can tell it from a sign-in.
    fn check_code(
        &self,
        actor: &PortalActor,
        confirms: &str,
        devices: Vec<UsableDevice>,
        recovery_codes: Vec<RecoveryCode>,
        code: &str,
        now: UnixTime,
    ) -> Decision {
        let subject = Subject {
            person: actor.person.clone(),
            password_hash: None,
            devices,
            recovery_codes,
        };
        let mut decision = self
            .engine
            .decide(&actor.attempt(code), Some(&subject), now);
        let mut detail = match decision.event.detail.take() {
            Some(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        detail.insert("confirms".into(), confirms.into());
        decision.event.detail = Some(serde_json::Value::Object(detail));
        decision
    }

    async fn record(&self, actor: &PortalActor, decision: &Decision) -> Result<bool> {
        let written = self
            .store
            .record_login(Some(actor.person.id), &decision.changes, &decision.event)
            .await?;
        if written {
            count_decision(&decision.event);
        }
        Ok(written)
    }

    /// Tell the person by e-mail what changed on their account (`what` is the first line).
    fn announce(&self, actor: &PortalActor, event: &AuditEvent, what: String) {
        let source = actor
            .source
            .map_or_else(|| "an unknown address".to_owned(), |s| s.to_string());
        let body = format!(
            "{what}.\n\nWhen: {}\nFrom: {source}, in the self-service portal.\n\n\
             If this was not you, tell your organisation's administrator\n\
             or the helpdesk at once.\n",
            crate::audit::format_time(event.time)
        );
        self.notify(
            &actor.person,
            super::notify::Notice {
                subject: format!("Your sign-in account: {what}"),
                body,
                body_in_audit: true,
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
    /// A wrong code: `Invalid` (counted toward the lockout, audited).
    pub async fn portal_add_totp(
        &self,
        actor: &PortalActor,
        label: &str,
        seed: &SecretBytes,
        code: &str,
        now: UnixTime,
    ) -> Result<Device> {
        let person = &actor.person;
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
        let mut decision =
            self.check_code(actor, "add_phone", vec![unsaved], Vec::new(), code, now);
        if !matches!(decision.verdict, Verdict::Accept { .. }) {
            self.record(actor, &decision).await?;
            return Err(ServiceError::Invalid(WRONG_NEW_CODE.into()));
        }
        let event = actor.event(EventKind::DeviceLinked, now);
        let device = self.store.add_device(&new, now, event.clone()).await?;
        self.announce(
            actor,
            &event,
            format!(
                "A phone named \"{}\" was linked to your account",
                device.label
            ),
        );
        // The code just used is spent on the saved device.
        if let Some(DeviceUse::TotpStep { step, .. }) = decision.changes.device_use {
            decision.changes.device_use = Some(DeviceUse::TotpStep {
                device_id: device.id,
                step,
            });
        }
        decision.event.device_id = Some(device.id);
        self.record(actor, &decision).await?;
        Ok(device)
    }

    /// Link a hardware token from stock (the person's organisation's, or no organisation's)
    /// once `code` from it verifies.
    pub async fn portal_link_token(
        &self,
        actor: &PortalActor,
        serial: &str,
        label: &str,
        code: &str,
        now: UnixTime,
    ) -> Result<Device> {
        let person = &actor.person;
        let serial = serial.trim();
        let token = self
            .store
            .device_by_serial(serial)
            .await?
            .filter(|d| d.kind == DeviceKind::HardwareToken && d.state == DeviceState::InStock)
            .filter(|d| d.org_id.is_none_or(|o| o == person.org_id))
            .ok_or_else(|| ServiceError::Invalid(NO_SUCH_TOKEN.into()))?;
        let secret = self.open_secret(&token)?;
        let unsaved = Self::unsaved_device(person, token, secret);
        let decision = self.check_code(actor, "link_token", vec![unsaved], Vec::new(), code, now);
        if !matches!(decision.verdict, Verdict::Accept { .. }) {
            self.record(actor, &decision).await?;
            return Err(ServiceError::Invalid(WRONG_TOKEN_CODE.into()));
        }
        let event = actor.event(EventKind::DeviceLinked, now);
        let label = label_or(label, &format!("token {serial}"));
        let mut decision = decision;
        decision.event.device_label = Some(label.clone());
        let device = self
            .store
            .assign_token(serial, person.id, &label, event.clone())
            .await?;
        self.announce(
            actor,
            &event,
            format!("The hardware token {serial} was linked to your account as \"{label}\""),
        );
        // Linked and active now: the code is spent on it (a lost race only means the same
        // code was used at once elsewhere; the link stands).
        self.record(actor, &decision).await?;
        Ok(device)
    }

    /// A device of the actor's that is still linked.
    async fn own_device(&self, actor: &PortalActor, id: DeviceId) -> Result<Device> {
        self.store
            .device_by_id(id)
            .await?
            .filter(|d| d.person_id == Some(actor.person.id))
            .filter(|d| matches!(d.state, DeviceState::Active | DeviceState::Disabled))
            .ok_or_else(|| ServiceError::Invalid(NO_SUCH_DEVICE.into()))
    }

    pub async fn portal_rename(
        &self,
        actor: &PortalActor,
        id: DeviceId,
        label: &str,
        now: UnixTime,
    ) -> Result<()> {
        let label = label.trim();
        if label.is_empty() || label.chars().count() > 64 || label.chars().any(char::is_control) {
            return Err(ServiceError::Invalid(BAD_LABEL.into()));
        }
        let device = self.own_device(actor, id).await?;
        let mut event = actor.event(EventKind::DeviceRenamed, now);
        event.detail = Some(serde_json::json!({ "from": device.label, "to": label }));
        self.store
            .rename_device(device.id, actor.person.id, label, event.clone())
            .await?;
        self.announce(
            actor,
            &event,
            format!(
                "Your device \"{}\" was renamed to \"{label}\"",
                device.label
            ),
        );
        Ok(())
    }

    /// The person's other active devices, seeds opened (a code from one of them confirms
    /// removing `id`).
    async fn other_devices(&self, actor: &PortalActor, id: DeviceId) -> Result<Vec<UsableDevice>> {
        let mut out = Vec::new();
        for device in self.store.devices_of(actor.person.id).await? {
            if device.id == id || device.state != DeviceState::Active {
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
    pub async fn portal_can_remove(&self, actor: &PortalActor, id: DeviceId) -> Result<Device> {
        let device = self.own_device(actor, id).await?;
        if self.other_devices(actor, id).await?.is_empty() {
            return Err(ServiceError::Invalid(LAST_DEVICE.into()));
        }
        Ok(device)
    }

    /// Unused recovery codes left to the actor.
    pub async fn recovery_codes_left(&self, actor: &PortalActor) -> Result<usize> {
        Ok(self.store.recovery_codes(actor.person.id).await?.len())
    }

    /// A new set of 10 recovery codes (`ABCDE-FGHIJ`), to show once; the old set is void.
    pub async fn portal_recovery_codes(
        &self,
        actor: &PortalActor,
        now: UnixTime,
    ) -> Result<Vec<SecretString>> {
        let mut codes = Vec::with_capacity(10);
        let mut hashes = Vec::with_capacity(10);
        for _ in 0..10 {
            let bytes =
                random_bytes(7).map_err(|_| ServiceError::Crypto("random generator".into()))?;
            let mut normal = data_encoding::BASE32_NOPAD.encode(&bytes);
            normal.truncate(RECOVERY_CODE_LEN);
            hashes.push(recovery_code_hash(&normal));
            let (a, b) = normal.split_at(RECOVERY_CODE_LEN / 2);
            codes.push(SecretString::new(format!("{a}-{b}")));
        }
        let mut event = actor.event(EventKind::RecoveryCodesGenerated, now);
        event.detail = Some(serde_json::json!({ "count": hashes.len() }));
        self.store
            .replace_recovery_codes(actor.person.id, &hashes, now, event.clone())
            .await?;
        self.announce(
            actor,
            &event,
            "New recovery codes were made for your account; the old ones no longer work".into(),
        );
        Ok(codes)
    }

    /// Remove a device of the actor's, with a fresh code from another active device (or a
    /// recovery code).
    pub async fn portal_remove(
        &self,
        actor: &PortalActor,
        id: DeviceId,
        code: &str,
        now: UnixTime,
    ) -> Result<()> {
        let device = self.own_device(actor, id).await?;
        let others = self.other_devices(actor, id).await?;
        if others.is_empty() {
            return Err(ServiceError::Invalid(LAST_DEVICE.into()));
        }
        let recovery = self.store.recovery_codes(actor.person.id).await?;
        let decision = self.check_code(actor, "remove_device", others, recovery, code, now);
        let accepted = matches!(decision.verdict, Verdict::Accept { .. });
        if !self.record(actor, &decision).await? || !accepted {
            if accepted {
                // The same code was used at once elsewhere: a replay.
                let lost = self.engine.lost_race(
                    &actor.attempt(code),
                    &Subject {
                        person: actor.person.clone(),
                        password_hash: None,
                        devices: Vec::new(),
                        recovery_codes: Vec::new(),
                    },
                    now,
                );
                self.record(actor, &lost).await?;
            }
            return Err(ServiceError::Invalid(WRONG_CODE.into()));
        }
        let event = actor.event(EventKind::DeviceRemoved, now);
        self.store.remove_device(device.id, event.clone()).await?;
        self.announce(
            actor,
            &event,
            format!(
                "The device \"{}\" was removed from your account",
                device.label
            ),
        );
        Ok(())
    }
}
