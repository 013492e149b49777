//! WebAuthn (security keys and passkeys) on webauthn-rs, without I/O: the relying party
//! derived from the gateway's public URL, the two ceremonies as (options for the browser,
//! state for the caller to keep), and the stored form of a credential.
//!
//! Like webauthn-rs itself, nothing here keeps state: `start_*` returns the options (JSON for
//! the page's script) and the ceremony state (JSON, kept by the caller in the web session),
//! `finish_*` takes both back. The state is single use: the caller drops it when finishing.

use crate::model::Device;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::fmt;
use webauthn_rs::prelude::{
    AuthenticationResult, CredentialID, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

/// How long a ceremony may take, in seconds (the browser's timeout is the library's 300 s).
pub const CEREMONY_SECONDS: i64 = 300;

/// What a person is told when the gateway cannot offer security keys (its public URL has
/// no host name).
pub const UNAVAILABLE: &str =
    "Security keys cannot be used on this server yet. Use a code, and tell your administrator.";

/// A security key as stored: its device row and its credential (sealed under the device's
/// uid).
#[derive(Clone, PartialEq, Eq)]
pub struct KeyCredential {
    pub device: Device,
    /// The credential id, base64url without padding.
    pub credential_id: String,
    /// The webauthn-rs `Passkey` as JSON, sealed.
    pub sealed_passkey: Vec<u8>,
    /// The highest signature counter seen (0: the key keeps none).
    pub sign_count: u32,
}

impl fmt::Debug for KeyCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCredential")
            .field("device", &self.device)
            .field("credential_id", &self.credential_id)
            .field("sign_count", &self.sign_count)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the public URL {0:?} cannot name a WebAuthn relying party: {1}")]
    RelyingParty(String, String),
    /// The browser's answer does not verify (wrong key, wrong origin, expired challenge,
    /// malformed): the person's failure, not the gateway's.
    #[error("the security key's answer was not accepted: {0}")]
    Rejected(String),
    #[error("WebAuthn: {0}")]
    Internal(String),
}

/// The relying party for the gateway's public URL (the OIDC issuer): its host is the RP id
/// (`https://localhost:8443` -> `localhost`), the URL itself the one allowed origin.
pub fn relying_party(public_url: &str) -> Result<Webauthn, KeyError> {
    let bad = |e: &dyn fmt::Display| KeyError::RelyingParty(public_url.to_owned(), e.to_string());
    let url = Url::parse(public_url).map_err(|e| bad(&e))?;
    // Browsers refuse an IP address as relying party id: security keys need a host name.
    let host = url
        .domain()
        .ok_or_else(|| {
            bad(&"it has no host name (an IP address cannot be a WebAuthn relying party id)")
        })?
        .to_owned();
    WebauthnBuilder::new(&host, &url)
        .map_err(|e| bad(&e))?
        .rp_name("mfa-gateway")
        .build()
        .map_err(|e| bad(&e))
}

/// A credential id as stored and looked up: base64url without padding.
pub fn credential_id_text(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

/// The WebAuthn user handle of a person: their public id (a UUID) as bytes; any other text
/// is hashed into a UUID's 16 bytes.
pub fn user_handle(public_id: &str) -> Uuid {
    Uuid::parse_str(public_id).unwrap_or_else(|_| {
        use sha2::{Digest as _, Sha256};
        let digest = Sha256::digest(public_id.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Uuid::from_bytes(bytes)
    })
}

fn internal(e: impl fmt::Display) -> KeyError {
    KeyError::Internal(e.to_string())
}

/// Start registering a key for a person: (options JSON for `navigator.credentials.create`,
/// state JSON to keep). `exclude` are the ids of the person's keys (no second link of the
/// same key). Resident keys (passkeys) are preferred, user verification required.
pub fn start_registration(
    rp: &Webauthn,
    user: Uuid,
    username: &str,
    display_name: &str,
    exclude: Vec<CredentialID>,
) -> Result<(String, String), KeyError> {
    let exclude = (!exclude.is_empty()).then_some(exclude);
    let (options, state) = rp
        .start_passkey_registration(user, username, display_name, exclude)
        .map_err(internal)?;
    let mut options = serde_json::to_value(&options).map_err(internal)?;
    // Let the authenticator keep the credential (a passkey) where it can.
    if let Some(sel) = options
        .get_mut("publicKey")
        .and_then(|p| p.get_mut("authenticatorSelection"))
        .and_then(|s| s.as_object_mut())
    {
        sel.insert("residentKey".into(), "preferred".into());
    }
    Ok((
        options.to_string(),
        serde_json::to_string(&state).map_err(internal)?,
    ))
}

/// Finish a registration from the kept state and the browser's answer (JSON).
pub fn finish_registration(
    rp: &Webauthn,
    state: &str,
    response: &str,
) -> Result<Passkey, KeyError> {
    let state: PasskeyRegistration = serde_json::from_str(state).map_err(internal)?;
    let response: RegisterPublicKeyCredential =
        serde_json::from_str(response).map_err(|e| KeyError::Rejected(e.to_string()))?;
    rp.finish_passkey_registration(&response, &state)
        .map_err(|e| KeyError::Rejected(e.to_string()))
}

/// Start an authentication with any of `keys`: (options JSON for
/// `navigator.credentials.get`, state JSON to keep).
pub fn start_authentication(rp: &Webauthn, keys: &[Passkey]) -> Result<(String, String), KeyError> {
    let (options, state) = rp.start_passkey_authentication(keys).map_err(internal)?;
    Ok((
        serde_json::to_string(&options).map_err(internal)?,
        serde_json::to_string(&state).map_err(internal)?,
    ))
}

/// Finish an authentication from the kept state and the browser's answer (JSON): which
/// credential signed and its counter.
pub fn finish_authentication(
    rp: &Webauthn,
    state: &str,
    response: &str,
) -> Result<AuthenticationResult, KeyError> {
    let state: PasskeyAuthentication = serde_json::from_str(state).map_err(internal)?;
    let response: PublicKeyCredential =
        serde_json::from_str(response).map_err(|e| KeyError::Rejected(e.to_string()))?;
    rp.finish_passkey_authentication(&response, &state)
        .map_err(|e| KeyError::Rejected(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Channel;
    use crate::config::{LockoutPolicy, OtpPolicy, PasswordPolicy};
    use crate::engine::{
        Attempt, Counted, Credentials, DeviceUse, Engine, KeyAssertion, Reason, Subject,
        UsableDevice, Verdict,
    };
    use crate::model::{DeviceKind, DeviceState, Person, PersonState, Role};
    use crate::otp::OtpParams;
    use crate::password::PasswordHasherCfg;
    use crate::secret::{SecretBytes, SecretString};

    const NOW: i64 = 1_764_000_000;

    fn engine() -> Engine {
        let policy = PasswordPolicy {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            hashing_threads: 1,
            min_length: 4,
            blocklist: None,
        };
        Engine::new(
            PasswordHasherCfg::new(policy).expect("params"),
            OtpPolicy::default(),
            LockoutPolicy {
                threshold: 5,
                base_seconds: 60,
                max_seconds: 600,
                password_threshold: 5,
                ipv6_prefix: 64,
            },
            crate::engine::CodeKey::new([7; 32]),
        )
    }

    fn device(id: i64, kind: DeviceKind, label: &str, secret: &[u8]) -> UsableDevice {
        UsableDevice {
            device: Device {
                id,
                uid: format!("uid-{id}"),
                person_id: Some(1),
                org_id: Some(1),
                kind,
                label: label.into(),
                serial: None,
                manufacturer: None,
                otp: OtpParams::totp_default(),
                sealed_secret: vec![],
                counter: 0,
                last_step: None,
                state: DeviceState::Active,
                created_at: 0,
                last_used_at: None,
            },
            secret: SecretBytes::new(secret.to_vec()),
        }
    }

    /// Ann with a phone (10) and a security key (20), `failed` failures behind her.
    fn ann(e: &Engine, failed: u32, devices: Vec<UsableDevice>) -> Subject {
        Subject {
            person: Person {
                id: 1,
                public_id: "p1".into(),
                username: "ann".into(),
                full_name: "Ann".into(),
                email: None,
                employee_number: None,
                org_id: 1,
                roles: vec![Role::Person],
                state: PersonState::Active,
                created_at: 0,
                failed_logins: failed,
                locked_until: None,
                blocked_at: None,
                email_verified_at: None,
            },
            password_hash: e.hasher().hash(&SecretString::new("correct horse")).ok(),
            recovery_codes: Vec::new(),
            devices,
            source_blocked_until: None,
            directory: None,
            policy: None,
        }
    }

    fn both() -> Vec<UsableDevice> {
        vec![
            device(10, DeviceKind::PhoneTotp, "phone", b"phone-one-seed-20byt"),
            device(20, DeviceKind::SecurityKey, "blue key", b""),
        ]
    }

    fn attempt(credentials: Credentials) -> Attempt {
        Attempt {
            username: "ann".into(),
            credentials,
            channel: Channel::Oidc,
            client: Some("rp".into()),
            source: None,
            request_id: None,
            nas: None,
            typed_username: None,
        }
    }

    fn key(device_id: i64, counter: u32) -> Credentials {
        Credentials::KeyAfterPassword {
            key: Some(KeyAssertion { device_id, counter }),
        }
    }

    #[test]
    fn a_verified_key_is_a_second_factor() {
        let e = engine();
        let d = e.decide(&attempt(key(20, 7)), Some(&ann(&e, 2, both())), NOW);
        assert_eq!(
            d.verdict,
            Verdict::Accept {
                device_id: 20,
                device_label: "blue key".into()
            }
        );
        assert_eq!(
            d.changes.device_use,
            Some(DeviceUse::SecurityKey {
                device_id: 20,
                counter: 7
            })
        );
        assert_eq!(
            d.changes.factor,
            Some(Counted::Passed),
            "resets the lockout"
        );
        assert_eq!(d.event.device_label.as_deref(), Some("blue key"));
        assert_eq!(d.event.channel, Channel::Oidc);
    }

    #[test]
    fn an_unverified_or_foreign_key_is_a_failed_attempt() {
        let e = engine();
        let subject = ann(&e, 4, both());
        for credentials in [
            Credentials::KeyAfterPassword { key: None },
            // The phone is no key; 99 is nobody's.
            key(10, 1),
            key(99, 1),
        ] {
            let d = e.decide(&attempt(credentials), Some(&subject), NOW);
            assert_eq!(d.verdict, Verdict::Reject(Reason::BadKey));
            assert_eq!(d.event.reason.as_deref(), Some("bad_key"));
            assert!(
                matches!(d.changes.factor, Some(Counted::Failed(_))),
                "counted toward the lockout"
            );
            assert_eq!(d.changes.device_use, None);
        }
        // A removed (not active) key does not count either.
        let mut devices = both();
        devices[1].device.state = DeviceState::Removed;
        let d = e.decide(&attempt(key(20, 1)), Some(&ann(&e, 0, devices)), NOW);
        assert_eq!(d.verdict, Verdict::Reject(Reason::BadKey));
    }

    #[test]
    fn a_key_counts_as_a_device_but_gives_no_code() {
        let e = engine();
        let only_key = vec![device(20, DeviceKind::SecurityKey, "blue key", b"")];
        let password = Credentials::PasswordOnly {
            password: SecretString::new("correct horse"),
        };
        let d = e.decide(&attempt(password), Some(&ann(&e, 0, only_key.clone())), NOW);
        assert_eq!(d.verdict, Verdict::NeedSecondFactor, "not no_device");
        let code = Credentials::CodeAfterPassword {
            code: SecretString::new("123456"),
        };
        let d = e.decide(&attempt(code), Some(&ann(&e, 0, only_key)), NOW);
        assert_eq!(d.verdict, Verdict::Reject(Reason::BadCode));
    }

    #[test]
    fn relying_party_from_the_public_url() {
        let rp = relying_party("https://localhost:8443").expect("rp");
        let (options, state) = start_registration(
            &rp,
            user_handle("c0ffee00-0000-4000-8000-000000000000"),
            "ann",
            "Ann",
            Vec::new(),
        )
        .expect("start");
        let v: serde_json::Value = serde_json::from_str(&options).expect("json");
        assert_eq!(v["publicKey"]["rp"]["id"], "localhost");
        assert_eq!(
            v["publicKey"]["authenticatorSelection"]["residentKey"],
            "preferred"
        );
        assert!(!state.is_empty());
        assert!(relying_party("not a url").is_err());
        assert!(matches!(
            relying_party("https://127.0.0.1:8443"),
            Err(KeyError::RelyingParty(..))
        ));
        // A forged answer is the person's failure, never a panic.
        assert!(matches!(
            finish_registration(&rp, &state, "{\"id\":1}"),
            Err(KeyError::Rejected(_))
        ));
        assert!(matches!(
            finish_registration(&rp, &state, "garbage"),
            Err(KeyError::Rejected(_))
        ));
        assert_ne!(user_handle("x"), user_handle("y"));
    }
}
