//! Dynamic Authorization, the client side (RFC 5176): a Disconnect-Request to a NAS that
//! ends one session, and the check of its Disconnect-ACK or Disconnect-NAK. The request
//! carries a Message-Authenticator (computed with the authenticator field zeroed, then the
//! Request Authenticator as for accounting); an answer must carry a valid Response
//! Authenticator, and its Message-Authenticator if it has one. Building and checking are
//! pure; [`send`] does the UDP exchange with retries.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::RadiusError;
use crate::auth::{
    MessageAuthenticatorCheck, SharedSecret, check_response_message_authenticator,
    sign_accounting_request, verify_response_authenticator,
};
use crate::packet::{Code, MAX_PACKET_LEN, Packet, attr};

/// The port RFC 5176 gives Dynamic Authorization servers (the NAS listens on it).
pub const DEFAULT_PORT: u16 = 3799;

/// What identifies the session to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect {
    /// User-Name, as the NAS knows it.
    pub username: Option<String>,
    /// Acct-Session-Id from the session's accounting.
    pub session_id: Option<String>,
    /// NAS-IP-Address / NAS-IPv6-Address the NAS gave in its accounting.
    pub nas_ip: Option<IpAddr>,
    /// NAS-Identifier the NAS gave in its accounting.
    pub nas_identifier: Option<String>,
    /// Calling-Station-Id the NAS gave in its accounting.
    pub calling_station_id: Option<String>,
    /// Event-Timestamp (seconds since 1970).
    pub event_timestamp: u32,
}

/// The NAS's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectAnswer {
    /// Disconnect-ACK: the session is ended.
    Ack,
    /// Disconnect-NAK, with its Error-Cause (RFC 5176 3.5) if given.
    Nak {
        /// Error-Cause, e.g. 503 Session Context Not Found.
        error_cause: Option<u32>,
    },
}

/// Why no answer counts.
#[derive(Debug, thiserror::Error)]
pub enum DisconnectError {
    /// Nothing came back (after every try).
    #[error("no answer from the NAS")]
    Timeout,
    /// The request could not be built (an attribute too long).
    #[error(transparent)]
    Encode(#[from] RadiusError),
    /// The socket failed.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
}

fn push_text(packet: &mut Packet, typ: u8, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        let bytes = v.as_bytes();
        packet.push(typ, &bytes[..bytes.len().min(253)]);
    }
}

/// The signed Disconnect-Request with identifier `id`, and its Request Authenticator.
pub fn encode(
    request: &Disconnect,
    id: u8,
    secret: &SharedSecret,
) -> Result<(Vec<u8>, [u8; 16]), RadiusError> {
    let mut packet = Packet::new(Code::DISCONNECT_REQUEST, id, [0; 16]);
    packet.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
    push_text(&mut packet, attr::USER_NAME, request.username.as_deref());
    push_text(
        &mut packet,
        attr::ACCT_SESSION_ID,
        request.session_id.as_deref(),
    );
    match request.nas_ip {
        Some(IpAddr::V4(v4)) => packet.push(attr::NAS_IP_ADDRESS, v4.octets()),
        Some(IpAddr::V6(v6)) => packet.push(attr::NAS_IPV6_ADDRESS, v6.octets()),
        None => {}
    }
    push_text(
        &mut packet,
        attr::NAS_IDENTIFIER,
        request.nas_identifier.as_deref(),
    );
    push_text(
        &mut packet,
        attr::CALLING_STATION_ID,
        request.calling_station_id.as_deref(),
    );
    packet.push(attr::EVENT_TIMESTAMP, request.event_timestamp.to_be_bytes());
    let bytes = sign_accounting_request(&mut packet, secret)?;
    Ok((bytes, packet.authenticator))
}

/// Checks an answer to the request `id` with `request_authenticator`: `None` if it is not a
/// valid answer to it (wrong id, code, authenticator or Message-Authenticator).
pub fn check_answer(
    bytes: &[u8],
    id: u8,
    request_authenticator: &[u8; 16],
    secret: &SharedSecret,
) -> Option<DisconnectAnswer> {
    let packet = Packet::decode(bytes).ok()?;
    if packet.identifier != id
        || !verify_response_authenticator(bytes, request_authenticator, secret)
    {
        return None;
    }
    match check_response_message_authenticator(&packet, request_authenticator, secret) {
        MessageAuthenticatorCheck::Absent | MessageAuthenticatorCheck::Valid => {}
        _ => return None,
    }
    match packet.code {
        Code::DISCONNECT_ACK => Some(DisconnectAnswer::Ack),
        Code::DISCONNECT_NAK => {
            let error_cause = packet
                .first(attr::ERROR_CAUSE)
                .and_then(|v| <[u8; 4]>::try_from(v).ok())
                .map(u32::from_be_bytes);
            Some(DisconnectAnswer::Nak { error_cause })
        }
        _ => None,
    }
}

/// Whether `bytes` is a Disconnect-Request signed with `secret` (its Request Authenticator
/// and its Message-Authenticator, which it must carry). For NAS-side code and tests.
pub fn verify_request(bytes: &[u8], secret: &SharedSecret) -> Option<Packet> {
    let packet = Packet::decode(bytes).ok()?;
    if packet.code != Code::DISCONNECT_REQUEST {
        return None;
    }
    let mac = packet.single(attr::MESSAGE_AUTHENTICATOR).ok()??;
    if mac.len() != 16 {
        return None;
    }
    let valid = crate::auth::verify_accounting_request(&packet, secret)
        == crate::auth::AccountingCheck::Valid;
    valid.then_some(packet)
}

/// Sends `request` to `to` from `socket` and waits for a valid answer: `tries` sends,
/// `wait` each. Datagrams that are not a valid answer are ignored.
pub async fn send(
    socket: &UdpSocket,
    to: SocketAddr,
    request: &Disconnect,
    secret: &SharedSecret,
    tries: u32,
    wait: Duration,
) -> Result<DisconnectAnswer, DisconnectError> {
    let mut id = [0u8; 1];
    getrandom::fill(&mut id).map_err(|_| RadiusError::Random)?;
    let (bytes, authenticator) = encode(request, id[0], secret)?;
    let mut buf = vec![0u8; MAX_PACKET_LEN];
    for _ in 0..tries.max(1) {
        socket.send_to(&bytes, to).await?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let received = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await;
            let Ok(received) = received else { break };
            let (n, from) = received?;
            if from.ip().to_canonical() != to.ip().to_canonical() {
                continue;
            }
            if let Some(answer) = check_answer(&buf[..n], id[0], &authenticator, secret) {
                return Ok(answer);
            }
        }
    }
    Err(DisconnectError::Timeout)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::auth::sign_response;

    fn request() -> Disconnect {
        Disconnect {
            username: Some("ann".into()),
            session_id: Some("5A1B".into()),
            nas_ip: Some("192.0.2.1".parse().unwrap()),
            nas_identifier: Some("rdgw".into()),
            calling_station_id: None,
            event_timestamp: 1_800_000_000,
        }
    }

    #[test]
    fn a_request_verifies_with_its_secret_only() {
        let secret = SharedSecret::from("dynauth-secret");
        let (bytes, _) = encode(&request(), 9, &secret).unwrap();
        let packet = verify_request(&bytes, &secret).unwrap();
        assert_eq!(packet.first(attr::ACCT_SESSION_ID), Some(&b"5A1B"[..]));
        assert_eq!(packet.first(attr::USER_NAME), Some(&b"ann"[..]));
        assert!(verify_request(&bytes, &SharedSecret::from("other")).is_none());
        let mut tampered = bytes.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(verify_request(&tampered, &secret).is_none());
    }

    #[test]
    fn answers_are_checked() {
        let secret = SharedSecret::from("dynauth-secret");
        let (_, auth) = encode(&request(), 9, &secret).unwrap();
        let answer = |code: Code, id: u8, attrs: &[(u8, &[u8])], key: &str| {
            let mut p = Packet::new(code, id, auth);
            p.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
            for (t, v) in attrs {
                p.push(*t, v.to_vec());
            }
            sign_response(&mut p, &auth, &SharedSecret::from(key)).unwrap()
        };
        let ack = answer(Code::DISCONNECT_ACK, 9, &[], "dynauth-secret");
        assert_eq!(
            check_answer(&ack, 9, &auth, &secret),
            Some(DisconnectAnswer::Ack)
        );
        assert_eq!(check_answer(&ack, 8, &auth, &secret), None);
        let forged = answer(Code::DISCONNECT_ACK, 9, &[], "not-it");
        assert_eq!(check_answer(&forged, 9, &auth, &secret), None);
        let nak = answer(
            Code::DISCONNECT_NAK,
            9,
            &[(attr::ERROR_CAUSE, &503u32.to_be_bytes())],
            "dynauth-secret",
        );
        assert_eq!(
            check_answer(&nak, 9, &auth, &secret),
            Some(DisconnectAnswer::Nak {
                error_cause: Some(503)
            })
        );
        let accept = answer(Code::ACCESS_ACCEPT, 9, &[], "dynauth-secret");
        assert_eq!(check_answer(&accept, 9, &auth, &secret), None);
    }
}
