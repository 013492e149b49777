//! Tests for `webpush`: the RFC 8291 Appendix A vector, round trips with the test playing
//! the browser, subscription validation, VAPID tokens verified with the public key, and
//! real POSTs to a push-service stub on 127.0.0.1.

use super::*;
use p256::ecdsa::VerifyingKey;
use p256::ecdsa::signature::Verifier as _;
use proptest::prelude::*;
use std::collections::HashMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const RFC8291: &str = include_str!("../testdata/rfc8291-appendix-a.txt");

fn vector(name: &str) -> Vec<u8> {
    let line = RFC8291
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} in the RFC 8291 vector file"));
    URL_SAFE_NO_PAD.decode(line.trim()).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The browser's side of a subscription: its key pair and auth secret.
struct Browser {
    secret: SecretKey,
    auth: [u8; 16],
}

impl Browser {
    fn new() -> Self {
        let mut auth = [0u8; 16];
        getrandom::fill(&mut auth).unwrap();
        Browser {
            secret: random_secret_key().unwrap(),
            auth,
        }
    }

    fn subscription(&self, endpoint: &str) -> Subscription {
        Subscription::new(
            endpoint,
            &b64(&uncompressed(&self.secret.public_key())),
            &b64(&self.auth),
        )
        .unwrap()
    }

    fn decrypt(&self, body: &[u8]) -> Result<Vec<u8>, PushError> {
        decrypt(&self.secret.to_bytes(), &self.auth, body)
    }
}

/// RFC 8291 section 3.4 decryption written out step by step from the RFC's HMAC
/// formulas (hmac 0.12 / sha2 0.10, not the `hkdf` crate and not `derive`), so the
/// module's output is checked by a second implementation.
fn independent_decrypt(ua_private: &[u8], auth: &[u8], body: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }
    let salt = &body[..16];
    let rs = u32::from_be_bytes(body[16..20].try_into().unwrap()) as usize;
    let idlen = body[20] as usize;
    let as_public = &body[21..21 + idlen];
    let ciphertext = &body[21 + idlen..];
    assert!(ciphertext.len() <= rs);

    let ua_secret = SecretKey::from_slice(ua_private).unwrap();
    let ua_public = ua_secret.public_key().to_sec1_bytes();
    let as_key = PublicKey::from_sec1_bytes(as_public).unwrap();
    let ecdh = p256::ecdh::diffie_hellman(ua_secret.to_nonzero_scalar(), as_key.as_affine());

    // PRK_key = HMAC-SHA-256(auth_secret, ecdh_secret)
    let prk_key = hmac_sha256(auth, &[ecdh.raw_secret_bytes().as_slice()]);
    // IKM = HMAC-SHA-256(PRK_key, "WebPush: info" || 0x00 || ua_public || as_public || 0x01)
    let ikm = hmac_sha256(&prk_key, &[b"WebPush: info\0", &ua_public, as_public, &[1]]);
    // PRK = HMAC-SHA-256(salt, IKM); CEK and NONCE are the first T(1) bytes.
    let prk = hmac_sha256(salt, &[&ikm]);
    let cek = hmac_sha256(&prk, &[b"Content-Encoding: aes128gcm\0", &[1]]);
    let nonce = hmac_sha256(&prk, &[b"Content-Encoding: nonce\0", &[1]]);
    let nonce: [u8; 12] = nonce[..12].try_into().unwrap();
    let mut plain = Aes128Gcm::new_from_slice(&cek[..16])
        .unwrap()
        .decrypt(&Nonce::<Aes128Gcm>::from(nonce), ciphertext)
        .unwrap();
    while plain.last() == Some(&0) {
        plain.pop();
    }
    assert_eq!(plain.pop(), Some(2), "the last record's delimiter");
    plain
}

#[test]
fn the_independent_decryption_agrees_with_the_rfc_and_the_module() {
    assert_eq!(
        independent_decrypt(
            &vector("ua_private"),
            &vector("auth_secret"),
            &vector("body")
        ),
        vector("plaintext")
    );
    let browser = Browser::new();
    let body = browser
        .subscription("https://push.example.net/x")
        .encrypt(b"approve?")
        .unwrap();
    assert_eq!(
        independent_decrypt(&browser.secret.to_bytes(), &browser.auth, &body),
        b"approve?"
    );
}

#[test]
fn rfc8291_appendix_a_encrypts_to_the_exact_body() {
    let sender = SecretKey::from_slice(&vector("as_private")).unwrap();
    assert_eq!(uncompressed(&sender.public_key()), vector("as_public"));
    let ua_public = parse_public_key(&vector("ua_public")).unwrap();
    let auth: [u8; 16] = vector("auth_secret").try_into().unwrap();
    let salt: [u8; 16] = vector("salt").try_into().unwrap();

    let body = encrypt_with(&ua_public, &auth, &sender, &salt, &vector("plaintext")).unwrap();

    let mut expected = vector("header");
    expected.extend_from_slice(&vector("ciphertext"));
    assert_eq!(expected, vector("body"));
    assert_eq!(body, vector("body"));
}

#[test]
fn rfc8291_appendix_a_decrypts() {
    let plaintext = decrypt(
        &vector("ua_private"),
        &vector("auth_secret"),
        &vector("body"),
    )
    .unwrap();
    assert_eq!(plaintext, b"When I grow up, I want to be a watermelon");
}

#[test]
fn round_trip_with_fresh_keys_and_salt() {
    let browser = Browser::new();
    let subscription = browser.subscription("https://push.example.net/wpush/v2/abc");
    let payload =
        br#"{"title":"Approve sign-in?","body":"Remote desktop","url":"/portal/approve/1"}"#;
    let first = subscription.encrypt(payload).unwrap();
    let second = subscription.encrypt(payload).unwrap();
    assert_ne!(first, second, "salt and sender key are fresh per message");
    assert_eq!(first.len(), HEADER_LEN + payload.len() + 1 + TAG_LEN);
    assert_eq!(browser.decrypt(&first).unwrap(), payload);
    assert_eq!(browser.decrypt(&second).unwrap(), payload);
    assert_eq!(
        browser
            .decrypt(&subscription.encrypt(b"").unwrap())
            .unwrap(),
        b""
    );
}

#[test]
fn the_largest_payload_fits_4096_bytes_and_one_more_byte_is_refused() {
    let browser = Browser::new();
    let subscription = browser.subscription("https://push.example.net/x");
    let body = subscription.encrypt(&[7u8; MAX_PLAINTEXT]).unwrap();
    assert_eq!(body.len(), 4096);
    assert_eq!(browser.decrypt(&body).unwrap(), vec![7u8; MAX_PLAINTEXT]);
    assert!(matches!(
        subscription.encrypt(&[7u8; MAX_PLAINTEXT + 1]),
        Err(PushError::PayloadTooLarge(3994))
    ));
}

#[test]
fn decrypt_refuses_wrong_keys_tampering_and_garbage() {
    let browser = Browser::new();
    let body = browser
        .subscription("https://push.example.net/x")
        .encrypt(b"hello")
        .unwrap();

    let other = Browser::new();
    assert!(matches!(other.decrypt(&body), Err(PushError::Decrypt)));
    assert!(matches!(
        decrypt(&browser.secret.to_bytes(), &other.auth, &body),
        Err(PushError::Decrypt)
    ));
    let mut flipped = body.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert!(matches!(browser.decrypt(&flipped), Err(PushError::Decrypt)));
    let mut bad_key_id = body.clone();
    bad_key_id[20] = 64;
    assert!(matches!(
        browser.decrypt(&bad_key_id),
        Err(PushError::Malformed(_))
    ));
    let mut small_rs = body.clone();
    small_rs[16..20].copy_from_slice(&17u32.to_be_bytes());
    assert!(matches!(
        browser.decrypt(&small_rs),
        Err(PushError::Malformed(_))
    ));
    let mut two_records = body.clone();
    two_records[16..20].copy_from_slice(&20u32.to_be_bytes());
    assert!(matches!(
        browser.decrypt(&two_records),
        Err(PushError::Malformed("more than one record"))
    ));
    assert!(matches!(
        browser.decrypt(&body[..HEADER_LEN]),
        Err(PushError::Malformed(_))
    ));
    assert!(matches!(browser.decrypt(&[]), Err(PushError::Malformed(_))));
    assert!(matches!(
        decrypt(&[1u8; 31], &browser.auth, &body),
        Err(PushError::Decrypt)
    ));
    assert!(matches!(
        decrypt(&browser.secret.to_bytes(), &[0u8; 15], &body),
        Err(PushError::BadAuth)
    ));
}

#[test]
fn a_record_without_the_last_record_delimiter_is_refused() {
    // Encrypt by hand with delimiter 0x01 (a non-last record): decrypt must say so.
    let browser = Browser::new();
    let sender = random_secret_key().unwrap();
    let salt = [9u8; 16];
    let as_public = uncompressed(&sender.public_key());
    let shared = sender.diffie_hellman(&browser.secret.public_key());
    let RecordKeys { cek, nonce } = derive(
        shared.raw_secret_bytes().as_slice(),
        &browser.auth,
        &uncompressed(&browser.secret.public_key()),
        &as_public,
        &salt,
    )
    .unwrap();
    let sealed = Aes128Gcm::new_from_slice(cek.as_slice())
        .unwrap()
        .encrypt(&Nonce::<Aes128Gcm>::from(*nonce), &b"hi\x01\0\0"[..])
        .unwrap();
    let mut body = salt.to_vec();
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(65);
    body.extend_from_slice(&as_public);
    body.extend_from_slice(&sealed);
    assert!(matches!(
        browser.decrypt(&body),
        Err(PushError::Malformed(
            "the only record is not marked as the last"
        ))
    ));
}

proptest! {
    #[test]
    fn decrypt_does_not_panic_on_any_bytes(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decrypt(&[1u8; 32], &[2u8; 16], &body);
    }

    #[test]
    fn decrypt_does_not_panic_on_mutated_messages(at in 0usize..120, byte in any::<u8>()) {
        let body = vector("body");
        let mut mutated = body.clone();
        let at = at % mutated.len();
        mutated[at] = byte;
        let result = decrypt(&vector("ua_private"), &vector("auth_secret"), &mutated);
        // The record size (bytes 16..20) is not authenticated (RFC 8188): a larger one
        // still decrypts. Any other change must be refused.
        if mutated != body && !(16..20).contains(&at) {
            prop_assert!(result.is_err());
        }
    }

    #[test]
    fn subscription_parsing_does_not_panic(endpoint in ".{0,80}", p256dh in ".{0,100}", auth in ".{0,30}") {
        let _ = Subscription::new(&endpoint, &p256dh, &auth);
        let _ = Subscription::from_browser_json(&endpoint);
    }
}

const P256DH: &str =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

#[test]
fn subscription_endpoints_must_be_https_except_loopback_http() {
    for ok in [
        "https://fcm.googleapis.com/fcm/send/abc:def",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
        "http://127.0.0.1:8080/push/1",
        "http://localhost:9000/push",
        "http://[::1]:9000/push",
    ] {
        assert!(Subscription::new(ok, P256DH, AUTH).is_ok(), "{ok}");
    }
    for (endpoint, expected) in [
        ("http://push.example.net/x", "https://"),
        ("http://10.0.0.1/x", "https://"),
        ("http://127.0.0.2/x", "https://"),
        ("ftp://push.example.net/x", "not a valid URL"),
        ("javascript:alert(1)", "not a valid URL"),
        ("push.example.net/x", "not a valid URL"),
        ("", "not a valid URL"),
        (
            "https://user:pw@push.example.net/x",
            "user name or password",
        ),
    ] {
        let err = Subscription::new(endpoint, P256DH, AUTH).unwrap_err();
        assert!(err.to_string().contains(expected), "{endpoint}: {err}");
    }
    let long = format!("https://push.example.net/{}", "a".repeat(MAX_ENDPOINT_LEN));
    assert!(matches!(
        Subscription::new(&long, P256DH, AUTH),
        Err(PushError::EndpointTooLong)
    ));
}

#[test]
fn subscription_keys_are_checked() {
    let endpoint = "https://push.example.net/x";
    let p256dh = URL_SAFE_NO_PAD.decode(P256DH).unwrap();
    let cases: Vec<(String, String, &str)> = vec![
        (b64(&p256dh[..64]), AUTH.into(), "p256dh"),
        (b64(&[&p256dh[..], &[0]].concat()), AUTH.into(), "p256dh"),
        // The compressed form of a valid point: RFC 8291 wants the uncompressed one.
        (
            b64(&[&[2 + (p256dh[64] & 1)], &p256dh[1..33]].concat()),
            AUTH.into(),
            "p256dh",
        ),
        // 0x04 and a point that is not on the curve.
        (b64(&[4u8; 65]), AUTH.into(), "p256dh"),
        ("not base64!".into(), AUTH.into(), "p256dh is not base64url"),
        (
            P256DH.into(),
            b64(&[1u8; 15]),
            "auth secret must be 16 bytes",
        ),
        (
            P256DH.into(),
            b64(&[1u8; 17]),
            "auth secret must be 16 bytes",
        ),
        (P256DH.into(), "***".into(), "auth secret is not base64url"),
    ];
    for (p256dh, auth, expected) in cases {
        let err = Subscription::new(endpoint, &p256dh, &auth).unwrap_err();
        assert!(err.to_string().contains(expected), "{p256dh} {auth}: {err}");
    }
    // Padding, as some encoders add it, is tolerated.
    assert!(Subscription::new(endpoint, P256DH, "BTBZMqHH6r4Tts7J_aSIgg==").is_ok());
}

#[test]
fn subscription_from_the_browser_json_and_back() {
    let json = format!(
        r#"{{"endpoint":"https://push.example.net/wpush/v2/abc","expirationTime":null,"keys":{{"p256dh":"{P256DH}","auth":"{AUTH}"}}}}"#
    );
    let subscription = Subscription::from_browser_json(&json).unwrap();
    let parts = subscription.parts();
    assert_eq!(parts.endpoint, "https://push.example.net/wpush/v2/abc");
    assert_eq!(parts.p256dh, P256DH);
    assert_eq!(parts.auth, AUTH);
    let again = Subscription::new(&parts.endpoint, &parts.p256dh, &parts.auth).unwrap();
    assert_eq!(again.parts(), parts);
    assert!(!subscription.is_known_push_service());
    assert!(
        Subscription::new("https://fcm.googleapis.com/fcm/send/x", P256DH, AUTH)
            .unwrap()
            .is_known_push_service()
    );

    for bad in [
        "",
        "{}",
        r#"{"endpoint":"https://push.example.net/x"}"#,
        "[1]",
    ] {
        assert!(matches!(
            Subscription::from_browser_json(bad),
            Err(PushError::BadSubscriptionJson)
        ));
    }
    assert!(!format!("{subscription:?}").contains(AUTH));
    assert!(!format!("{parts:?}").contains(AUTH));
}

#[test]
fn vapid_key_round_trips_through_its_private_bytes() {
    let key = VapidKey::generate().unwrap();
    let public = key.public_key_bytes();
    assert_eq!(public.len(), 65);
    assert_eq!(public[0], 4);
    assert_eq!(key.public_key_b64url().len(), 87);
    let private = key.to_private_bytes();
    assert_eq!(private.len(), 32);
    let again = VapidKey::from_private_bytes(private.expose()).unwrap();
    assert_eq!(again.public_key_b64url(), key.public_key_b64url());
    assert_ne!(
        VapidKey::generate().unwrap().public_key_b64url(),
        key.public_key_b64url()
    );
    assert!(!format!("{key:?}").contains(&b64(private.expose())));

    for bad in [&[0u8; 32][..], &[0xff; 32], &[1; 31], &[1; 33], &[]] {
        assert!(matches!(
            VapidKey::from_private_bytes(bad),
            Err(PushError::BadPrivateKey)
        ));
    }
    // The RFC 8291 sender key as a VAPID key gives the RFC's public key.
    let rfc = VapidKey::from_private_bytes(&vector("as_private")).unwrap();
    assert_eq!(rfc.public_key_bytes(), vector("as_public"));
}

/// Splits a JWT, verifies its ES256 signature with the public key, returns the claims.
fn verify_jwt(jwt: &str, public_key: &[u8]) -> serde_json::Value {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "JWT");
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
    let verifying = VerifyingKey::from_sec1_bytes(public_key).unwrap();
    let signed = format!("{}.{}", parts[0], parts[1]);
    verifying.verify(signed.as_bytes(), &signature).unwrap();
    let mut tampered = signed.clone().into_bytes();
    tampered[0] ^= 1;
    assert!(verifying.verify(&tampered, &signature).is_err());
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

#[test]
fn vapid_jwt_is_es256_signed_with_origin_audience_and_bounded_expiry() {
    let key = VapidKey::generate().unwrap();
    let endpoint = Url::parse("https://push.example.net:443/wpush/v2/abc?x=1").unwrap();
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let jwt = key
        .jwt(
            &endpoint,
            "mailto:ops@example.org",
            now,
            Duration::from_secs(3600),
        )
        .unwrap();
    let claims = verify_jwt(&jwt, &key.public_key_bytes());
    assert_eq!(claims["aud"], "https://push.example.net");
    assert_eq!(claims["exp"], 1_800_003_600u64);
    assert_eq!(claims["sub"], "mailto:ops@example.org");

    let other_port = Url::parse("https://push.example.net:8443/x").unwrap();
    let jwt = key
        .jwt(
            &other_port,
            "https://ops.example.org/contact",
            now,
            MAX_VAPID_LIFETIME,
        )
        .unwrap();
    let claims = verify_jwt(&jwt, &key.public_key_bytes());
    assert_eq!(claims["aud"], "https://push.example.net:8443");
    assert_eq!(claims["exp"], 1_800_000_000u64 + 24 * 3600);

    let header = key
        .authorization(
            &endpoint,
            "mailto:ops@example.org",
            now,
            Duration::from_secs(60),
        )
        .unwrap();
    let rest = header.strip_prefix("vapid t=").unwrap();
    let (jwt, k) = rest.split_once(", k=").unwrap();
    assert_eq!(k, key.public_key_b64url());
    verify_jwt(jwt, &URL_SAFE_NO_PAD.decode(k).unwrap());

    for lifetime in [Duration::ZERO, MAX_VAPID_LIFETIME + Duration::from_secs(1)] {
        assert!(matches!(
            key.jwt(&endpoint, "mailto:ops@example.org", now, lifetime),
            Err(PushError::BadLifetime)
        ));
    }
    for contact in [
        "ops@example.org",
        "http://example.org",
        "mailto:",
        "",
        "https://",
    ] {
        assert!(
            matches!(
                key.jwt(&endpoint, contact, now, Duration::from_secs(60)),
                Err(PushError::BadContact)
            ),
            "{contact}"
        );
    }
}

/// One request as the push-service stub saw it.
#[derive(Debug)]
struct SeenRequest {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A push service on 127.0.0.1 (RFC 8030 section 5): answers one request with `status`
/// (or never, when `status` is None) and hands the request back.
async fn push_stub(status: Option<u16>) -> (String, tokio::sync::oneshot::Receiver<SeenRequest>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let head_end = loop {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before the headers ended");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap().split(' ');
        let method = request_line.next().unwrap().to_owned();
        let path = request_line.next().unwrap().to_owned();
        let headers: HashMap<String, String> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers["content-length"].parse().unwrap();
        let mut body = buf[head_end..].to_vec();
        while body.len() < length {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0);
            body.extend_from_slice(&chunk[..n]);
        }
        let _ = tx.send(SeenRequest {
            method,
            path,
            headers,
            body,
        });
        match status {
            Some(status) => {
                let answer = format!(
                    "HTTP/1.1 {status} Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                stream.write_all(answer.as_bytes()).await.unwrap();
                stream.shutdown().await.unwrap();
            }
            None => tokio::time::sleep(Duration::from_secs(30)).await,
        }
    });
    (format!("http://127.0.0.1:{}", addr.port()), rx)
}

fn sender() -> WebPush {
    WebPush::new(
        VapidKey::generate().unwrap(),
        "mailto:ops@example.org",
        Duration::from_secs(5),
    )
    .unwrap()
}

#[tokio::test]
async fn send_posts_an_encrypted_push_the_browser_decrypts() {
    let (base, seen) = push_stub(Some(201)).await;
    let browser = Browser::new();
    let subscription = browser.subscription(&format!("{base}/push/abc123"));
    let push = sender();
    let payload = br#"{"title":"Approve sign-in?","body":"Remote desktop from 192.0.2.7","url":"/portal/approvals/42"}"#;
    let now = SystemTime::now();

    let delivery = push
        .send(
            &subscription,
            payload,
            Duration::from_secs(60),
            Urgency::High,
            now,
        )
        .await
        .unwrap();
    assert_eq!(delivery, Delivery::Accepted(201));
    assert_eq!(delivery.status(), 201);

    let request = seen.await.unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/push/abc123");
    assert_eq!(request.headers["content-encoding"], "aes128gcm");
    assert_eq!(request.headers["content-type"], "application/octet-stream");
    assert_eq!(request.headers["ttl"], "60");
    assert_eq!(request.headers["urgency"], "high");
    assert_eq!(browser.decrypt(&request.body).unwrap(), payload);
    assert_eq!(
        independent_decrypt(&browser.secret.to_bytes(), &browser.auth, &request.body),
        payload
    );

    let authorization = &request.headers["authorization"];
    let (jwt, k) = authorization
        .strip_prefix("vapid t=")
        .unwrap()
        .split_once(", k=")
        .unwrap();
    assert_eq!(k, push.key().public_key_b64url());
    let claims = verify_jwt(jwt, &push.key().public_key_bytes());
    assert_eq!(claims["aud"], base);
    assert_eq!(claims["sub"], "mailto:ops@example.org");
    let exp = claims["exp"].as_u64().unwrap();
    assert_eq!(exp, unix_seconds(now) + SEND_VAPID_LIFETIME.as_secs());
}

#[tokio::test]
async fn send_reports_gone_and_failed_subscriptions() {
    for (status, expected) in [
        (202, Delivery::Accepted(202)),
        (404, Delivery::Gone(404)),
        (410, Delivery::Gone(410)),
        (413, Delivery::Failed(413)),
        (429, Delivery::Failed(429)),
        (500, Delivery::Failed(500)),
        (301, Delivery::Failed(301)),
    ] {
        let (base, _seen) = push_stub(Some(status)).await;
        let subscription = Browser::new().subscription(&format!("{base}/p"));
        let delivery = sender()
            .send(
                &subscription,
                b"{}",
                Duration::from_secs(30),
                Urgency::High,
                SystemTime::now(),
            )
            .await
            .unwrap();
        assert_eq!(delivery, expected, "status {status}");
    }
}

#[tokio::test]
async fn send_times_out_and_reports_unreachable_services() {
    let (base, _seen) = push_stub(None).await;
    let subscription = Browser::new().subscription(&format!("{base}/p"));
    let push = WebPush::new(
        VapidKey::generate().unwrap(),
        "mailto:ops@example.org",
        Duration::from_millis(300),
    )
    .unwrap();
    let err = push
        .send(
            &subscription,
            b"{}",
            Duration::from_secs(30),
            Urgency::High,
            SystemTime::now(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PushError::Transport(reason) if reason == "timed out"),
        "{err}"
    );

    // A port nobody listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let subscription = Browser::new().subscription(&format!("http://127.0.0.1:{port}/p"));
    let err = push
        .send(
            &subscription,
            b"{}",
            Duration::from_secs(30),
            Urgency::High,
            SystemTime::now(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, PushError::Transport(_)), "{err}");
    assert!(
        !err.to_string().contains("/p"),
        "no endpoint in the error: {err}"
    );

    let err = push
        .send(
            &subscription,
            &[0u8; MAX_PLAINTEXT + 1],
            Duration::from_secs(30),
            Urgency::High,
            SystemTime::now(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, PushError::PayloadTooLarge(_)));
}

#[test]
fn a_bad_contact_is_refused_when_the_sender_is_built() {
    let err =
        WebPush::new(VapidKey::generate().unwrap(), "ops", Duration::from_secs(5)).unwrap_err();
    assert!(matches!(err, PushError::BadContact));
}

#[test]
fn pwa_files_keep_the_contract_the_portal_page_relies_on() {
    let manifest: serde_json::Value =
        serde_json::from_str(include_str!("../static/manifest.webmanifest")).unwrap();
    assert_eq!(manifest["name"], "mfa-gateway portal");
    assert_eq!(manifest["start_url"], "/portal");
    assert_eq!(manifest["display"], "standalone");
    assert_eq!(manifest["icons"][0]["src"], "/static/icon.svg");
    assert_eq!(manifest["icons"][0]["type"], "image/svg+xml");
    assert!(include_str!("../static/icon.svg").starts_with("<svg "));

    let push_js = include_str!("../static/push.js");
    for needle in [
        "getElementById('push-optin')",
        "getElementById('push-enable')",
        "getElementById('push-status')",
        "getElementById('push-label')",
        "dataset.vapidKey",
        "dataset.subscribeUrl",
        "input[name=\"csrf\"]",
        "register('/sw.js'",
        "form.set('csrf'",
        "form.set('subscription'",
    ] {
        assert!(push_js.contains(needle), "push.js: {needle}");
    }
    let sw_js = include_str!("../static/sw.js");
    for needle in [
        "'push'",
        "'notificationclick'",
        "showNotification",
        "openWindow",
    ] {
        assert!(sw_js.contains(needle), "sw.js: {needle}");
    }
}
