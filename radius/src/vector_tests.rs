//! RFC test vectors (files under testdata/), PAP and Message-Authenticator properties, and
//! the `does_not_panic` property of the decoder.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use crate::auth::{
    MessageAuthenticatorCheck, Password, SharedSecret, check_request_message_authenticator,
    check_response_message_authenticator, decode_pap, encode_pap, message_authenticator,
    sign_request, sign_response, verify_response_authenticator,
};
use crate::packet::{Code, Packet, attr};

/// Hex octets separated by whitespace; lines starting with '#' are comments.
pub(crate) fn hex(text: &str) -> Vec<u8> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .flat_map(str::split_whitespace)
        .map(|octet| u8::from_str_radix(octet, 16).unwrap())
        .collect()
}

const RFC2865_REQUEST: &str = include_str!("../testdata/rfc2865-7.1-access-request.hex");
const RFC2865_ACCEPT: &str = include_str!("../testdata/rfc2865-7.1-access-accept.hex");
const RFC5997_STATUS: &str = include_str!("../testdata/rfc5997-6-status-server.hex");
const RFC5997_ACCEPT: &str = include_str!("../testdata/rfc5997-6-access-accept.hex");

fn rfc_secret() -> SharedSecret {
    SharedSecret::from("xyzzy5461")
}

#[test]
fn rfc2865_7_1_access_request_decodes_and_reveals_arctangent() {
    let bytes = hex(RFC2865_REQUEST);
    let packet = Packet::decode(&bytes).unwrap();
    assert_eq!(packet.code, Code::ACCESS_REQUEST);
    assert_eq!(packet.identifier, 0);
    assert_eq!(packet.first(attr::USER_NAME), Some(&b"nemo"[..]));
    assert_eq!(
        packet.first(attr::NAS_IP_ADDRESS),
        Some(&[192, 168, 1, 16][..])
    );
    assert_eq!(packet.first(attr::NAS_PORT), Some(&[0, 0, 0, 3][..]));
    let hidden = packet.first(attr::USER_PASSWORD).unwrap();
    let password = decode_pap(hidden, &packet.authenticator, &rfc_secret()).unwrap();
    assert_eq!(password.expose(), b"arctangent");
    // Hiding it again with the same authenticator gives the same octets.
    let again = encode_pap(b"arctangent", &packet.authenticator, &rfc_secret()).unwrap();
    assert_eq!(again, hidden);
    assert_eq!(packet.encode().unwrap(), bytes);
}

#[test]
fn rfc2865_7_1_access_accept_authenticator_verifies() {
    let request = Packet::decode(&hex(RFC2865_REQUEST)).unwrap();
    let accept = hex(RFC2865_ACCEPT);
    assert!(verify_response_authenticator(
        &accept,
        &request.authenticator,
        &rfc_secret()
    ));
    assert!(!verify_response_authenticator(
        &accept,
        &request.authenticator,
        &SharedSecret::from("xyzzy5462")
    ));
    // Re-signing the decoded accept reproduces the RFC's bytes exactly.
    let mut packet = Packet::decode(&accept).unwrap();
    let resigned = sign_response(&mut packet, &request.authenticator, &rfc_secret()).unwrap();
    assert_eq!(resigned, accept);
}

#[test]
fn rfc5997_status_server_message_authenticator_verifies() {
    let request = Packet::decode(&hex(RFC5997_STATUS)).unwrap();
    assert_eq!(request.code, Code::STATUS_SERVER);
    assert_eq!(request.identifier, 0xda);
    assert_eq!(
        check_request_message_authenticator(&request, &rfc_secret()),
        MessageAuthenticatorCheck::Valid
    );
    assert_eq!(
        check_request_message_authenticator(&request, &SharedSecret::from("wrong")),
        MessageAuthenticatorCheck::Invalid
    );
    let accept = hex(RFC5997_ACCEPT);
    assert!(verify_response_authenticator(
        &accept,
        &request.authenticator,
        &rfc_secret()
    ));
}

#[test]
fn message_authenticator_detects_any_tampering() {
    let secret = SharedSecret::from("s3cret");
    let mut request = Packet::new(Code::ACCESS_REQUEST, 3, [5; 16]);
    request.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
    request.push(attr::USER_NAME, b"alice".to_vec());
    let bytes = sign_request(&mut request, &secret).unwrap();
    let signed = Packet::decode(&bytes).unwrap();
    assert_eq!(
        check_request_message_authenticator(&signed, &secret),
        MessageAuthenticatorCheck::Valid
    );
    // Flip each octet in turn (header, attribute headers, values, the MAC itself).
    for i in 0..bytes.len() {
        if i == 2 || i == 3 {
            continue; // Length: the packet would no longer decode
        }
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x01;
        let Ok(packet) = Packet::decode(&tampered) else {
            continue;
        };
        let check = check_request_message_authenticator(&packet, &secret);
        assert_ne!(check, MessageAuthenticatorCheck::Valid, "octet {i}");
    }
    // Two Message-Authenticators, or one of the wrong size, are malformed.
    let mut twice = signed.clone();
    twice.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
    assert_eq!(
        check_request_message_authenticator(&twice, &secret),
        MessageAuthenticatorCheck::Malformed
    );
    let mut short = Packet::new(Code::ACCESS_REQUEST, 3, [5; 16]);
    short.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 15]);
    assert_eq!(
        check_request_message_authenticator(&short, &secret),
        MessageAuthenticatorCheck::Malformed
    );
}

#[test]
fn response_message_authenticator_uses_the_request_authenticator() {
    let secret = SharedSecret::from("s3cret");
    let request_authenticator = [9u8; 16];
    let mut response = Packet::new(Code::ACCESS_ACCEPT, 3, [0; 16]);
    response.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
    let bytes = sign_response(&mut response, &request_authenticator, &secret).unwrap();
    let decoded = Packet::decode(&bytes).unwrap();
    // RFC 3579 3.2: HMAC over the response with the Request Authenticator in the header.
    let expected = message_authenticator(&decoded, &request_authenticator, &secret).unwrap();
    assert_eq!(
        decoded.first(attr::MESSAGE_AUTHENTICATOR),
        Some(&expected[..])
    );
    assert_eq!(
        check_response_message_authenticator(&decoded, &request_authenticator, &secret),
        MessageAuthenticatorCheck::Valid
    );
    assert!(verify_response_authenticator(
        &bytes,
        &request_authenticator,
        &secret
    ));
}

#[test]
fn pap_keeps_octets_after_an_embedded_nul_and_refuses_bad_sizes() {
    let secret = SharedSecret::from("s");
    let auth = [1u8; 16];
    let hidden = encode_pap(b"abc\0def", &auth, &secret).unwrap();
    assert_eq!(
        decode_pap(&hidden, &auth, &secret).unwrap().expose(),
        b"abc\0def"
    );
    for len in [0, 15, 17, 144] {
        assert!(decode_pap(&vec![0; len], &auth, &secret).is_err(), "{len}");
    }
    assert!(encode_pap(&[b'x'; 129], &auth, &secret).is_err());
}

#[test]
fn password_and_secret_debug_are_redacted() {
    let text = format!(
        "{:?} {:?}",
        Password::new("hunter2"),
        SharedSecret::from("xyzzy")
    );
    assert!(
        !text.contains("hunter2") && !text.contains("xyzzy"),
        "{text}"
    );
}

proptest! {
    #[test]
    fn pap_round_trips(password in proptest::collection::vec(1u8..=255, 0..=128),
                       auth in any::<[u8; 16]>(),
                       secret in proptest::collection::vec(any::<u8>(), 1..40)) {
        let secret = SharedSecret::new(secret);
        let hidden = encode_pap(&password, &auth, &secret).unwrap();
        prop_assert_eq!(hidden.len() % 16, 0);
        let revealed = decode_pap(&hidden, &auth, &secret).unwrap();
        prop_assert_eq!(revealed.expose(), &password[..]);
    }

    #[test]
    fn decode_does_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..5000)) {
        if let Ok(packet) = Packet::decode(&bytes) {
            // What decodes re-encodes to the octets up to Length.
            let encoded = packet.encode().unwrap();
            prop_assert_eq!(&bytes[..encoded.len()], &encoded[..]);
            let _ = check_request_message_authenticator(&packet, &SharedSecret::from("s"));
        }
    }

    #[test]
    fn decode_does_not_panic_on_mutated_valid_packets(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let mut bytes = hex([RFC2865_REQUEST, RFC2865_ACCEPT, RFC5997_STATUS][which]);
        for (at, value) in edits {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        bytes.truncate(cut % (bytes.len() + 1));
        if let Ok(packet) = Packet::decode(&bytes) {
            let secret = rfc_secret();
            let _ = check_request_message_authenticator(&packet, &secret);
            if let Some(hidden) = packet.first(attr::USER_PASSWORD) {
                let _ = decode_pap(hidden, &packet.authenticator, &secret);
            }
        }
    }
}
