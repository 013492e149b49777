use super::*;
use openidconnect::JsonWebKey;

const DAY: i64 = 86_400;
const T0: i64 = 1_800_000_000;

fn kids(set: &KeySet, now: UnixTime) -> Vec<String> {
    let mut v: Vec<String> = set
        .jwks(now)
        .keys()
        .iter()
        .filter_map(|k| k.key_id().map(|id| id.as_str().to_owned()))
        .collect();
    v.sort();
    v
}

#[test]
fn stored_keys_hide_their_secret() {
    let k = KeySet::generate(SigningAlg::EdDsa, T0, T0).unwrap();
    assert!(String::from_utf8_lossy(&k.private_pkcs8_or_pem).starts_with("-----BEGIN PRIVATE KEY"));
    let shown = format!("{k:?}");
    assert!(shown.contains("<redacted>"));
    assert!(!shown.contains("BEGIN"));
    assert_eq!(k.kid.len(), 16);
}

#[test]
fn ed25519_der_and_rsa_pkcs8_load() {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let seed = [7u8; 32];
    let der = ed25519_dalek::SigningKey::from_bytes(&seed)
        .to_pkcs8_der()
        .unwrap();
    let stored = StoredKey {
        kid: "der".into(),
        alg: SigningAlg::EdDsa,
        private_pkcs8_or_pem: der.as_bytes().to_vec(),
        publish_at: T0,
        sign_from: T0,
        retire_at: None,
    };
    let set = KeySet::new(vec![stored], 300).unwrap();
    assert_eq!(kids(&set, T0), vec!["der"]);

    let garbage = StoredKey {
        kid: "bad".into(),
        alg: SigningAlg::Rs256,
        private_pkcs8_or_pem:
            b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n".to_vec(),
        publish_at: T0,
        sign_from: T0,
        retire_at: None,
    };
    assert!(KeySet::new(vec![garbage], 300).is_err());
}

#[test]
fn rsa_keys_generate_and_publish() {
    let k = KeySet::generate(SigningAlg::Rs256, T0, T0).unwrap();
    assert!(
        String::from_utf8_lossy(&k.private_pkcs8_or_pem).starts_with("-----BEGIN RSA PRIVATE KEY")
    );
    let set = KeySet::new(vec![k.clone()], 300).unwrap();
    let jwks = serde_json::to_value(set.jwks(T0)).unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert_eq!(jwks["keys"][0]["kid"], k.kid.as_str());
    assert!(jwks["keys"][0].get("d").is_none());
    assert_eq!(set.signing_key(SigningAlg::Rs256, T0).unwrap().kid(), k.kid);
    assert!(set.signing_key(SigningAlg::EdDsa, T0).is_none());
}

#[test]
fn rotation_publishes_ahead_and_keeps_retired_keys_until_tokens_expire() {
    let mut settings = Settings::new("https://idp.example");
    settings.key_rotation_days = 30;
    settings.key_publish_ahead = DAY as u64;
    let mut set = KeySet::new(Vec::new(), 300).unwrap();
    let first = set.ensure(SigningAlg::EdDsa, T0).unwrap().unwrap();
    assert!(set.ensure(SigningAlg::EdDsa, T0).unwrap().is_none());
    assert_eq!(kids(&set, T0), vec![first.kid.clone()]);

    assert!(set.rotate(T0 + 29 * DAY - 1, &settings).unwrap().is_empty());
    let changed = set.rotate(T0 + 29 * DAY, &settings).unwrap();
    assert_eq!(changed.len(), 2);
    let next = changed.iter().find(|k| k.kid != first.kid).unwrap().clone();
    let old = changed.iter().find(|k| k.kid == first.kid).unwrap();
    assert_eq!(next.sign_from, T0 + 30 * DAY);
    assert_eq!(old.retire_at, Some(T0 + 30 * DAY));
    // Not twice.
    assert!(
        set.rotate(T0 + 29 * DAY + 10, &settings)
            .unwrap()
            .is_empty()
    );

    // Published before it signs.
    let t = T0 + 29 * DAY + 1;
    assert_eq!(kids(&set, t).len(), 2);
    assert_eq!(
        set.signing_key(SigningAlg::EdDsa, t).unwrap().kid(),
        first.kid
    );
    // Takes over at sign_from; the old key stays published.
    let t = T0 + 30 * DAY;
    assert_eq!(
        set.signing_key(SigningAlg::EdDsa, t).unwrap().kid(),
        next.kid
    );
    assert_eq!(kids(&set, t + 300 + 59).len(), 2);
    // Gone once its last token (300 s + 60 s skew) has expired.
    assert_eq!(kids(&set, t + 360), vec![next.kid.clone()]);
    assert_eq!(set.prune(t + 360), vec![first.kid.clone()]);
    assert!(set.prune(t + 360).is_empty());
}

#[test]
fn late_rotation_still_publishes_ahead_and_another_instance_sees_it() {
    let mut settings = Settings::new("https://idp.example");
    settings.key_rotation_days = 30;
    settings.key_publish_ahead = 3600;
    let mut a = KeySet::new(Vec::new(), 300).unwrap();
    let first = a.ensure(SigningAlg::EdDsa, T0).unwrap().unwrap();
    let mut b = KeySet::new(vec![first.clone()], 300).unwrap();
    let late = T0 + 45 * DAY;
    let changed = a.rotate(late, &settings).unwrap();
    let next = changed.iter().find(|k| k.kid != first.kid).unwrap();
    assert_eq!(next.sign_from, late + 3600);
    b.merge(changed.clone()).unwrap();
    assert_eq!(kids(&b, late).len(), 2);
    assert_eq!(
        b.signing_key(SigningAlg::EdDsa, late).unwrap().kid(),
        first.kid
    );
    assert_eq!(
        b.signing_key(SigningAlg::EdDsa, late + 3600).unwrap().kid(),
        next.kid
    );
    // No rotation at all when disabled.
    settings.key_rotation_days = 0;
    assert!(b.rotate(late + 400 * DAY, &settings).unwrap().is_empty());
}

#[tokio::test]
async fn memory_key_store_upserts() {
    let store = MemoryKeyStore::default();
    let mut k = KeySet::generate(SigningAlg::EdDsa, T0, T0).unwrap();
    store.save(&k).await.unwrap();
    k.retire_at = Some(T0 + 5);
    store.save(&k).await.unwrap();
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].retire_at, Some(T0 + 5));
    store.delete(&k.kid).await.unwrap();
    assert!(store.load().await.unwrap().is_empty());
}
