//! Fuzz target: the RADIUS decoder, and what the server does next with a decoded packet
//! (Message-Authenticator check, PAP decode, the accounting and Disconnect authenticators
//! and answers), must never panic on any input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_radius::SharedSecret;
use mfa_radius::auth::{check_request_message_authenticator, decode_pap, verify_accounting_request};
use mfa_radius::packet::{Packet, attr};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Packet::decode(data) else {
        return;
    };
    // What decodes re-encodes to the same octets, up to the Length field.
    let encoded = packet.encode().expect("a decoded packet re-encodes");
    assert_eq!(&data[..encoded.len()], &encoded[..]);
    let secret = SharedSecret::from("fuzz");
    let _ = check_request_message_authenticator(&packet, &secret);
    if let Some(hidden) = packet.first(attr::USER_PASSWORD) {
        let _ = decode_pap(hidden, &packet.authenticator, &secret);
    }
    // Accounting-Requests and Disconnect packets.
    let _ = verify_accounting_request(&packet, &secret);
    let _ = mfa_radius::dynauth::verify_request(data, &secret);
    let _ = mfa_radius::dynauth::check_answer(data, packet.identifier, &[0; 16], &secret);
});
