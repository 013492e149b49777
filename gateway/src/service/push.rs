//! Web Push for out-of-band approval: a person opts in from the portal on their phone (the
//! browser's push subscription becomes a device of kind `push_subscription`, listed under My
//! devices and removable), and each approval prompt is pushed, end-to-end encrypted (RFC
//! 8291) and signed with the gateway's VAPID key (RFC 8292), to every such device. A
//! subscription the push service reports gone (404/410) is unlinked, audited.

use super::*;
use crate::approval::Prompt;
use crate::webpush::{Delivery, Subscription, SubscriptionParts, Urgency};

/// A push device as sealed: the subscription, and the SHA-256 of the device cookie that
/// binds the browser that linked it (approvals are answered from that browser only).
#[derive(serde::Serialize, serde::Deserialize)]
struct Sealed {
    #[serde(flatten)]
    subscription: SubscriptionParts,
    #[serde(default)]
    binding_sha256: String,
}

const BAD_SUBSCRIPTION: &str = "svc-bad-subscription";
const UNKNOWN_PUSH_SERVICE: &str = "svc-unknown-push-service";
/// The person has as many push devices as the gateway allows.
pub const PUSH_DEVICES_FULL: &str = "svc-push-devices-full";

impl Gateway {
    /// The VAPID public key for the portal page (None: Web Push is off).
    pub fn vapid_public_key(&self) -> Option<String> {
        self.web_push.as_ref().map(|w| w.key().public_key_b64url())
    }

    /// Link the browser's push subscription (`PushSubscription.toJSON()`) as a device,
    /// bound to that browser by `binding` (a random token the browser keeps in a cookie).
    /// Only the known push services (and, for tests, this machine) are accepted, so nobody
    /// can make the gateway POST to hosts of their choosing.
    pub async fn portal_add_push(
        &self,
        actor: &Actor,
        subscription_json: &str,
        label: &str,
        binding: &str,
        now: UnixTime,
    ) -> Result<Device> {
        let sub = Subscription::from_browser_json(subscription_json)
            .map_err(|_| refused(BAD_SUBSCRIPTION))?;
        let loopback = matches!(
            sub.endpoint().host_str(),
            Some("127.0.0.1" | "localhost" | "[::1]")
        );
        let allowed = sub.is_known_push_service() || (loopback && self.push_allow_loopback);
        if !allowed {
            return Err(refused(UNKNOWN_PUSH_SERVICE));
        }
        let person = actor.own()?;
        let linked = self
            .store
            .devices_of(person.id)
            .await?
            .iter()
            .filter(|d| d.kind == DeviceKind::PushSubscription)
            .filter(|d| matches!(d.state, DeviceState::Active | DeviceState::Disabled))
            .count();
        if linked >= self.max_push_devices {
            return Err(Refusal::new(PUSH_DEVICES_FULL)
                .with("max", number(self.max_push_devices))
                .into());
        }
        use sha2::Digest as _;
        let sealed = Sealed {
            subscription: sub.parts(),
            binding_sha256: hex::encode(sha2::Sha256::digest(binding.as_bytes())),
        };
        let json =
            serde_json::to_vec(&sealed).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let uid = new_uid();
        let new = NewDevice {
            sealed_secret: self.seal(&json, &uid)?,
            uid,
            person_id: Some(person.id),
            org_id: Some(person.org_id),
            kind: DeviceKind::PushSubscription,
            label: label_or(label, "phone (sign-in requests)")?,
            serial: None,
            manufacturer: None,
            otp: OtpParams::totp_default(),
            counter: 0,
            state: DeviceState::Active,
        };
        let mut event = actor.event(EventKind::DeviceLinked, now);
        event.detail = Some(serde_json::json!({ "kind": DeviceKind::PushSubscription.as_str() }));
        let device = self.store.add_device(&new, now, event.clone()).await?;
        event.device_id = Some(device.id);
        event.device_label = Some(device.label.clone());
        self.announce_new_device(
            person,
            &event,
            &device,
            "mail-what-push-linked",
            vec![("label", device.label.clone().into())],
        );
        Ok(device)
    }

    /// The person's active push device bound to the browser holding `binding`, if any.
    pub async fn bound_push_device(
        &self,
        person: PersonId,
        binding: Option<&str>,
    ) -> Result<Option<Device>> {
        use sha2::Digest as _;
        let Some(binding) = binding.filter(|b| !b.is_empty()) else {
            return Ok(None);
        };
        let want = hex::encode(sha2::Sha256::digest(binding.as_bytes()));
        for device in self.store.devices_of(person).await? {
            if device.kind != DeviceKind::PushSubscription || device.state != DeviceState::Active {
                continue;
            }
            let Ok(secret) = self.open_secret(&device) else {
                continue;
            };
            if let Ok(sealed) = serde_json::from_slice::<Sealed>(secret.expose())
                && crate::secret::ct_eq(sealed.binding_sha256.as_bytes(), want.as_bytes())
            {
                return Ok(Some(device));
            }
        }
        Ok(None)
    }

    /// Push `prompt` to every push device of `person`; runs on its own task.
    pub(super) fn push_prompt(&self, person: &Person, prompt: &Prompt) {
        // (The notification's words are in the person's language, chosen on the task.)
        let Some(web_push) = self.web_push.clone() else {
            return;
        };
        let gateway = self.clone();
        let person = person.clone();
        let prompt = prompt.clone();
        tokio::spawn(async move {
            let devices = match gateway.store.devices_of(person.id).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read push devices");
                    return;
                }
            };
            let lang = gateway.lang_of(&person).await;
            let payload = serde_json::json!({
                "title": crate::i18n::t(lang, "push-title"),
                "body": prompt_text(&prompt, lang),
                "url": "/portal/approvals",
                "tag": prompt.id,
            });
            let payload = payload.to_string();
            let ttl = std::time::Duration::from_secs(
                u64::try_from(prompt.expires - prompt.created).unwrap_or(60),
            );
            for device in devices.into_iter().filter(|d| {
                d.kind == DeviceKind::PushSubscription && d.state == DeviceState::Active
            }) {
                let sub = gateway
                    .open_secret(&device)
                    .ok()
                    .and_then(|s| serde_json::from_slice::<SubscriptionParts>(s.expose()).ok())
                    .and_then(|p| Subscription::new(&p.endpoint, &p.p256dh, &p.auth).ok());
                let Some(sub) = sub else {
                    tracing::error!(device = device.id, "push subscription does not open");
                    continue;
                };
                match web_push
                    .send(
                        &sub,
                        payload.as_bytes(),
                        ttl,
                        Urgency::High,
                        std::time::SystemTime::now(),
                    )
                    .await
                {
                    Ok(Delivery::Accepted(_)) => {
                        metrics::counter!(crate::telemetry::PUSH, "result" => "accepted")
                            .increment(1);
                    }
                    Ok(Delivery::Gone(status)) => {
                        metrics::counter!(crate::telemetry::PUSH, "result" => "gone").increment(1);
                        let mut event = Self::person_event(
                            &person,
                            EventKind::DeviceRemoved,
                            "system",
                            gateway.now(),
                        );
                        event.channel = Channel::System;
                        event.reason = Some("push_subscription_gone".into());
                        event.detail = Some(serde_json::json!({ "status": status }));
                        if let Err(e) = gateway.store.remove_device(device.id, event).await {
                            tracing::error!(error = %e, "cannot unlink a gone push subscription");
                        }
                    }
                    Ok(Delivery::Failed(status)) => {
                        metrics::counter!(crate::telemetry::PUSH, "result" => "failed")
                            .increment(1);
                        tracing::warn!(device = device.id, status, "push service refused a prompt");
                    }
                    Err(e) => {
                        metrics::counter!(crate::telemetry::PUSH, "result" => "error").increment(1);
                        tracing::warn!(device = device.id, error = %e, "push failed")
                    }
                }
            }
        });
    }
}

/// What a sign-in request says on the phone and in the webhook's `text`, in `lang`:
/// "Guacamole from 192.0.2.1: tap to approve or deny".
pub(crate) fn prompt_text(prompt: &Prompt, lang: crate::i18n::Lang) -> String {
    let source = prompt
        .source
        .clone()
        .unwrap_or_else(|| crate::i18n::t(lang, "mail-unknown-address"));
    crate::i18n::t_args(
        lang,
        "push-body",
        &[
            ("client", prompt.client.as_str().into()),
            ("source", source.into()),
        ],
    )
}

#[cfg(test)]
mod prompt_text_tests {
    use super::*;

    #[test]
    fn the_request_reads_in_the_persons_language() {
        let mut prompt = Prompt {
            id: "p".into(),
            person_id: 1,
            client: "Guacamole".into(),
            channel: "oidc".into(),
            source: Some("192.0.2.1".into()),
            created: 0,
            expires: 60,
            number: None,
            choices: Vec::new(),
        };
        assert_eq!(
            prompt_text(&prompt, crate::i18n::Lang::Nl),
            "Guacamole vanaf 192.0.2.1: tik om goed te keuren of te weigeren"
        );
        prompt.source = None;
        assert_eq!(
            prompt_text(&prompt, crate::i18n::Lang::En),
            "Guacamole from an unknown address: tap to approve or deny"
        );
    }
}
