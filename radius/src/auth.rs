//! Authenticators and hidden attributes: the Response Authenticator (RFC 2865 section 3),
//! PAP User-Password hiding (RFC 2865 section 5.2) and Message-Authenticator (RFC 3579
//! section 3.2). Pure functions over packets and secrets; no I/O.

use std::fmt;

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::RadiusError;
use crate::packet::{DecodeError, HEADER_LEN, Packet, attr};

type HmacMd5 = Hmac<Md5>;

/// Longest PAP password RFC 2865 allows (the hidden value is at most 128 octets).
pub const MAX_PAP_LEN: usize = 128;

/// A RADIUS shared secret. `Debug` prints `<redacted>`; the bytes are wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecret(Zeroizing<Vec<u8>>);

impl SharedSecret {
    /// Wraps the secret's octets.
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        SharedSecret(Zeroizing::new(secret.into()))
    }

    /// The secret's octets, for computing authenticators.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for SharedSecret {
    fn from(secret: &str) -> Self {
        SharedSecret::new(secret.as_bytes())
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

/// A decoded PAP password. `Debug` prints `<redacted>`; the bytes are wiped on drop.
///
/// Decoding removes only the trailing NUL padding: octets after an embedded NUL are kept,
/// so "abc\0def" is not taken for "abc".
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Zeroizing<Vec<u8>>);

impl Password {
    /// Wraps password octets.
    pub fn new(password: impl Into<Vec<u8>>) -> Self {
        Password(Zeroizing::new(password.into()))
    }

    /// The password's octets.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The password as UTF-8, if it is.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// MD5(secret + salt): the keystream block of RFC 2865 section 5.2.
fn pap_block(secret: &[u8], salt: &[u8]) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(secret);
    md5.update(salt);
    md5.finalize().into()
}

/// Reveals a PAP User-Password value (RFC 2865 section 5.2). The value must be 16 to 128
/// octets in whole 16-octet blocks; trailing NULs are stripped, nothing else.
pub fn decode_pap(
    hidden: &[u8],
    request_authenticator: &[u8; 16],
    secret: &SharedSecret,
) -> Result<Password, DecodeError> {
    if hidden.is_empty() || hidden.len() > MAX_PAP_LEN || !hidden.len().is_multiple_of(16) {
        return Err(DecodeError::BadAttributeValue(attr::USER_PASSWORD));
    }
    let mut plain = Zeroizing::new(Vec::with_capacity(hidden.len()));
    let mut salt: &[u8] = request_authenticator;
    for chunk in hidden.chunks_exact(16) {
        let mut block = pap_block(secret.expose(), salt);
        plain.extend(chunk.iter().zip(block.iter()).map(|(c, b)| c ^ b));
        block.zeroize();
        salt = chunk;
    }
    let kept = plain.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    plain.truncate(kept);
    Ok(Password(plain))
}

/// Hides a password as a PAP User-Password value (for clients and tests).
pub fn encode_pap(
    password: &[u8],
    request_authenticator: &[u8; 16],
    secret: &SharedSecret,
) -> Result<Vec<u8>, RadiusError> {
    if password.len() > MAX_PAP_LEN {
        return Err(RadiusError::AttributeTooLong(attr::USER_PASSWORD));
    }
    let padded_len = password.len().div_ceil(16).max(1) * 16;
    let mut padded = Zeroizing::new(password.to_vec());
    padded.resize(padded_len, 0);
    let mut out: Vec<u8> = Vec::with_capacity(padded_len);
    for (i, chunk) in padded.chunks_exact(16).enumerate() {
        let salt: &[u8] = match i {
            0 => request_authenticator,
            _ => &out[(i - 1) * 16..i * 16],
        };
        let block = pap_block(secret.expose(), salt);
        let hidden: Vec<u8> = chunk.iter().zip(block.iter()).map(|(p, b)| p ^ b).collect();
        out.extend_from_slice(&hidden);
    }
    Ok(out)
}

/// MD5(Code + Identifier + Length + RequestAuthenticator + Attributes + Secret) for an
/// encoded response; whatever sits in the response's own authenticator field is ignored.
pub fn response_authenticator(
    response: &[u8],
    request_authenticator: &[u8; 16],
    secret: &SharedSecret,
) -> Result<[u8; 16], RadiusError> {
    if response.len() < HEADER_LEN {
        return Err(RadiusError::Decode(DecodeError::TooShort(response.len())));
    }
    let mut md5 = Md5::new();
    md5.update(&response[..4]);
    md5.update(request_authenticator);
    md5.update(&response[HEADER_LEN..]);
    md5.update(secret.expose());
    Ok(md5.finalize().into())
}

/// Checks an encoded response's Response Authenticator in constant time.
pub fn verify_response_authenticator(
    response: &[u8],
    request_authenticator: &[u8; 16],
    secret: &SharedSecret,
) -> bool {
    match (
        response_authenticator(response, request_authenticator, secret),
        response.get(4..HEADER_LEN),
    ) {
        (Ok(expected), Some(actual)) => bool::from(expected.ct_eq(actual)),
        _ => false,
    }
}

/// HMAC-MD5 of `packet` with every Message-Authenticator value zeroed and `authenticator`
/// in the header (RFC 3579 3.2: the Request Authenticator, also for responses).
pub fn message_authenticator(
    packet: &Packet,
    authenticator: &[u8; 16],
    secret: &SharedSecret,
) -> Result<[u8; 16], RadiusError> {
    let mut copy = packet.clone();
    copy.authenticator = *authenticator;
    for attribute in &mut copy.attributes {
        if attribute.typ == attr::MESSAGE_AUTHENTICATOR {
            attribute.value.fill(0);
        }
    }
    hmac_md5(secret, &copy.encode()?)
}

fn hmac_md5(secret: &SharedSecret, data: &[u8]) -> Result<[u8; 16], RadiusError> {
    // HMAC accepts keys of any length; the error branch cannot happen.
    let mut mac = HmacMd5::new_from_slice(secret.expose()).map_err(|_| RadiusError::Crypto)?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().into())
}

/// What a request's Message-Authenticator says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageAuthenticatorCheck {
    /// The request carries none.
    Absent,
    /// It carries exactly one and it matches.
    Valid,
    /// It carries one that does not match (wrong secret or tampering).
    Invalid,
    /// It carries more than one, or one whose value is not 16 octets.
    Malformed,
}

/// Verifies a request's Message-Authenticator in constant time.
pub fn check_request_message_authenticator(
    request: &Packet,
    secret: &SharedSecret,
) -> MessageAuthenticatorCheck {
    let value = match request.single(attr::MESSAGE_AUTHENTICATOR) {
        Ok(None) => return MessageAuthenticatorCheck::Absent,
        Ok(Some(value)) if value.len() == 16 => value,
        _ => return MessageAuthenticatorCheck::Malformed,
    };
    match message_authenticator(request, &request.authenticator, secret) {
        Ok(expected) if bool::from(expected.ct_eq(value)) => MessageAuthenticatorCheck::Valid,
        _ => MessageAuthenticatorCheck::Invalid,
    }
}

/// Signs a request as a client would: computes its Message-Authenticator, if it has a
/// Message-Authenticator attribute, and encodes it (for clients and tests).
pub fn sign_request(request: &mut Packet, secret: &SharedSecret) -> Result<Vec<u8>, RadiusError> {
    if request.first(attr::MESSAGE_AUTHENTICATOR).is_some() {
        let mac = message_authenticator(request, &request.authenticator, secret)?;
        set_message_authenticator(request, mac);
    }
    request.encode()
}

/// Signs a response to the request whose authenticator is `request_authenticator`: fills
/// in its Message-Authenticator (if it has that attribute), then the Response
/// Authenticator, and returns the encoded bytes.
pub fn sign_response(
    response: &mut Packet,
    request_authenticator: &[u8; 16],
    secret: &SharedSecret,
) -> Result<Vec<u8>, RadiusError> {
    if response.first(attr::MESSAGE_AUTHENTICATOR).is_some() {
        let mac = message_authenticator(response, request_authenticator, secret)?;
        set_message_authenticator(response, mac);
    }
    response.authenticator = *request_authenticator;
    let mut bytes = response.encode()?;
    let authenticator = response_authenticator(&bytes, request_authenticator, secret)?;
    bytes[4..HEADER_LEN].copy_from_slice(&authenticator);
    response.authenticator = authenticator;
    Ok(bytes)
}

fn set_message_authenticator(packet: &mut Packet, mac: [u8; 16]) {
    for attribute in &mut packet.attributes {
        if attribute.typ == attr::MESSAGE_AUTHENTICATOR {
            attribute.value = mac.to_vec();
        }
    }
}

/// The Request Authenticator of an Accounting-Request (RFC 2866 section 3), also used by
/// Disconnect-Request and CoA-Request (RFC 5176 section 3): MD5(Code + Identifier + Length
/// + 16 zero octets + Attributes + Secret) over the encoded packet.
pub fn accounting_request_authenticator(
    encoded: &[u8],
    secret: &SharedSecret,
) -> Result<[u8; 16], RadiusError> {
    if encoded.len() < HEADER_LEN {
        return Err(RadiusError::Decode(DecodeError::TooShort(encoded.len())));
    }
    let mut md5 = Md5::new();
    md5.update(&encoded[..4]);
    md5.update([0u8; 16]);
    md5.update(&encoded[HEADER_LEN..]);
    md5.update(secret.expose());
    Ok(md5.finalize().into())
}

/// Checks an Accounting-Request's (or Disconnect-Request's) Request Authenticator in
/// constant time, and its Message-Authenticator if it carries one (computed, as RFC 5176
/// section 3.3 says, with the authenticator field zeroed). Does not say which failed.
pub fn verify_accounting_request(packet: &Packet, secret: &SharedSecret) -> AccountingCheck {
    let mac = match packet.single(attr::MESSAGE_AUTHENTICATOR) {
        Ok(None) => None,
        Ok(Some(value)) if value.len() == 16 => Some(value),
        _ => return AccountingCheck::Malformed,
    };
    let Ok(encoded) = packet.encode() else {
        return AccountingCheck::Malformed;
    };
    let authenticator_ok = match accounting_request_authenticator(&encoded, secret) {
        Ok(expected) => bool::from(expected.ct_eq(&packet.authenticator)),
        Err(_) => false,
    };
    let mac_ok = match mac {
        None => true,
        Some(value) => match message_authenticator(packet, &[0u8; 16], secret) {
            Ok(expected) => bool::from(expected.ct_eq(value)),
            Err(_) => false,
        },
    };
    if authenticator_ok && mac_ok {
        AccountingCheck::Valid
    } else {
        AccountingCheck::Invalid
    }
}

/// What [`verify_accounting_request`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountingCheck {
    /// The Request Authenticator (and the Message-Authenticator, if any) verify.
    Valid,
    /// One of them does not: wrong secret or tampering.
    Invalid,
    /// More than one Message-Authenticator, or one that is not 16 octets.
    Malformed,
}

/// Signs an Accounting-Request or Disconnect-Request as a client would: its
/// Message-Authenticator (if it has that attribute) over the packet with a zero
/// authenticator, then the Request Authenticator. Returns the encoded bytes; `request`
/// keeps the authenticator it was given (the answer is checked against it).
pub fn sign_accounting_request(
    request: &mut Packet,
    secret: &SharedSecret,
) -> Result<Vec<u8>, RadiusError> {
    request.authenticator = [0u8; 16];
    if request.first(attr::MESSAGE_AUTHENTICATOR).is_some() {
        let mac = message_authenticator(request, &[0u8; 16], secret)?;
        set_message_authenticator(request, mac);
    }
    let mut bytes = request.encode()?;
    let authenticator = accounting_request_authenticator(&bytes, secret)?;
    bytes[4..HEADER_LEN].copy_from_slice(&authenticator);
    request.authenticator = authenticator;
    Ok(bytes)
}

/// Verifies a response's Message-Authenticator (for clients and tests).
pub fn check_response_message_authenticator(
    response: &Packet,
    request_authenticator: &[u8; 16],
    secret: &SharedSecret,
) -> MessageAuthenticatorCheck {
    let value = match response.single(attr::MESSAGE_AUTHENTICATOR) {
        Ok(None) => return MessageAuthenticatorCheck::Absent,
        Ok(Some(value)) if value.len() == 16 => value,
        _ => return MessageAuthenticatorCheck::Malformed,
    };
    match message_authenticator(response, request_authenticator, secret) {
        Ok(expected) if bool::from(expected.ct_eq(value)) => MessageAuthenticatorCheck::Valid,
        _ => MessageAuthenticatorCheck::Invalid,
    }
}
