-- WebAuthn credentials (security keys and passkeys). Each belongs to a device row of kind
-- 'security_key' (label, state, added, last used, like any device; its sealed_secret is
-- empty). The credential itself (webauthn-rs `Passkey`, JSON) is sealed under the operator's
-- key with the device's uid as associated data. credential_id (base64url) finds the key at
-- login; sign_count is the authenticator's signature counter, only ever raised (0: the
-- authenticator keeps none). Removing the device deletes its credential. Kept
-- column-for-column equal to ../sqlite/.
CREATE TABLE webauthn_credentials (
    device_id       BIGINT  PRIMARY KEY REFERENCES devices(id),
    person_id       BIGINT  NOT NULL REFERENCES people(id),
    credential_id   TEXT    NOT NULL UNIQUE,
    sealed_passkey  BYTEA   NOT NULL,
    sign_count      BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX webauthn_credentials_person ON webauthn_credentials(person_id);
