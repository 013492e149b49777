//! From a decoded packet to a verdict: drop it, answer it at once, or ask the policy.
//! Pure protocol logic (RFC 2865 section 4, RFC 3579 section 3.2, RFC 5997); no I/O.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use crate::auth::{
    MessageAuthenticatorCheck, Password, SharedSecret, check_request_message_authenticator,
    decode_pap,
};
use crate::clients::{Client, ClientInfo, ClientMode};
use crate::packet::{Code, DecodeError, Packet, attr};
use crate::reply::Reply;
use crate::stats::{Counter, Stats};

/// The transport a request came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// RADIUS over UDP (RFC 2865).
    Udp,
    /// RADIUS over TLS (RadSec, RFC 6614).
    Tls,
}

/// An Access-Request as the policy sees it: verified, decoded, password revealed.
#[derive(Debug, Clone)]
pub struct AccessRequest {
    /// The client (NAS) it came from.
    pub client: Arc<ClientInfo>,
    /// Source address and port.
    pub source: SocketAddr,
    /// UDP or RadSec.
    pub transport: Transport,
    /// The packet Identifier.
    pub packet_id: u8,
    /// User-Name.
    pub username: String,
    /// PAP User-Password, decoded; trailing NUL padding removed.
    pub password: Option<Password>,
    /// State, echoed from an earlier Access-Challenge.
    pub state: Option<Vec<u8>>,
    /// NAS-Identifier.
    pub nas_identifier: Option<String>,
    /// NAS-IP-Address or NAS-IPv6-Address.
    pub nas_ip: Option<IpAddr>,
    /// Calling-Station-Id (usually the user's address).
    pub calling_station_id: Option<String>,
    /// Called-Station-Id.
    pub called_station_id: Option<String>,
}

/// The policy's answer to an Access-Request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Access-Accept. Class and Session-Timeout come from the client config.
    Accept {
        /// Reply-Message text.
        reply_message: Option<String>,
    },
    /// Access-Reject.
    Reject {
        /// Reply-Message text (shown to users by some NAS: keep it generic).
        reply_message: Option<String>,
    },
    /// Access-Challenge: the NAS asks the user and comes back with `state`.
    Challenge {
        /// State cookie (1 to 253 octets) the NAS returns in the next request.
        state: Vec<u8>,
        /// Prompt for the user.
        reply_message: String,
        /// How long the NAS should wait for the answer, in seconds.
        session_timeout: Option<u32>,
    },
}

/// Decides Access-Requests. The gateway implements it; the protocol front calls it at most
/// `max_in_flight` times at once.
#[async_trait::async_trait]
pub trait AccessPolicy: Send + Sync + 'static {
    /// Decides one request.
    async fn decide(&self, req: AccessRequest) -> Decision;
}

/// What to do with a packet from a known client.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Drop silently and count.
    Drop(Counter),
    /// Send this answer now and count it.
    Answer { response: Vec<u8>, counter: Counter },
    /// Ask the policy, then answer with `reply`.
    Ask {
        request: Box<AccessRequest>,
        reply: Reply,
    },
}

/// Verifies and interprets one decoded packet from `client`.
pub(crate) fn process(
    packet: &Packet,
    client: &Client,
    source: SocketAddr,
    transport: Transport,
    stats: &Stats,
    now: Instant,
) -> Verdict {
    match packet.code {
        Code::ACCESS_REQUEST => stats.incr(Counter::AccessRequests),
        Code::STATUS_SERVER => stats.incr(Counter::StatusServerRequests),
        _ => {
            stats.incr(Counter::OtherRequests);
            return Verdict::Drop(Counter::DropUnsupportedCode);
        }
    }
    let secret = client.secret(transport == Transport::Tls);
    match check_request_message_authenticator(packet, secret) {
        MessageAuthenticatorCheck::Valid => {
            if client.saw_message_authenticator() {
                tracing::info!(
                    client = %client.info.name,
                    "client sent a Message-Authenticator: now required from it"
                );
            }
        }
        MessageAuthenticatorCheck::Absent => {
            if packet.code == Code::STATUS_SERVER || client.requires_message_authenticator() {
                return Verdict::Drop(Counter::DropMissingMessageAuthenticator);
            }
        }
        MessageAuthenticatorCheck::Invalid => {
            if client.should_log_bad_ma(now) {
                tracing::warn!(
                    client = %client.info.name,
                    %source,
                    "Message-Authenticator does not verify: wrong shared secret or forged \
                     packet (logged at most once a minute per client)"
                );
            }
            return Verdict::Drop(Counter::DropBadAuthenticator);
        }
        MessageAuthenticatorCheck::Malformed => return Verdict::Drop(Counter::DropMalformed),
    }

    let reply = Reply::new(packet, &client.config, secret.clone());
    if packet.code == Code::STATUS_SERVER {
        return answer(reply.status_server(), Counter::StatusServer);
    }
    match access_request(packet, client, secret, source, transport) {
        Ok(Ok(request)) => {
            tracing::Span::current().record("user", request.username.as_str());
            Verdict::Ask {
                request: Box::new(request),
                reply,
            }
        }
        Ok(Err(counter)) => {
            stats.incr(counter);
            answer(reply.reject(), Counter::Rejects)
        }
        Err(_) => Verdict::Drop(Counter::DropMalformed),
    }
}

fn answer(response: Option<Vec<u8>>, counter: Counter) -> Verdict {
    match response {
        Some(response) => Verdict::Answer { response, counter },
        // Only if the request's own Proxy-State attributes cannot fit in a reply.
        None => Verdict::Drop(Counter::DropMalformed),
    }
}

/// Reads an authenticated Access-Request. `Err` is a malformed packet (drop); `Ok(Err)` a
/// request to reject at once, with the counter saying why.
fn access_request(
    packet: &Packet,
    client: &Client,
    secret: &SharedSecret,
    source: SocketAddr,
    transport: Transport,
) -> Result<Result<AccessRequest, Counter>, DecodeError> {
    let username = packet.single(attr::USER_NAME)?;
    let hidden_password = packet.single(attr::USER_PASSWORD)?;
    let state = packet.single(attr::STATE)?;
    if packet.first(attr::CHAP_PASSWORD).is_some() {
        return Ok(Err(Counter::RejectChap));
    }
    let Some(Ok(username)) = username.map(std::str::from_utf8) else {
        return Ok(Err(Counter::RejectInvalidRequest));
    };
    let password = hidden_password
        .map(|hidden| decode_pap(hidden, &packet.authenticator, secret))
        .transpose()?;
    let second_factor_only = client.info.mode == ClientMode::SecondFactorOnly;
    let eap = packet.first(attr::EAP_MESSAGE).is_some();
    if eap || (password.is_none() && state.is_none() && !second_factor_only) {
        return Ok(Err(Counter::RejectInvalidRequest));
    }
    Ok(Ok(AccessRequest {
        client: Arc::clone(&client.info),
        source,
        transport,
        packet_id: packet.identifier,
        username: username.to_owned(),
        password,
        state: state.map(<[u8]>::to_vec),
        nas_identifier: text(packet, attr::NAS_IDENTIFIER),
        nas_ip: nas_ip(packet),
        calling_station_id: text(packet, attr::CALLING_STATION_ID),
        called_station_id: text(packet, attr::CALLED_STATION_ID),
    }))
}

fn text(packet: &Packet, typ: u8) -> Option<String> {
    packet
        .first(typ)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

fn nas_ip(packet: &Packet) -> Option<IpAddr> {
    if let Some(Ok(v4)) = packet.first(attr::NAS_IP_ADDRESS).map(<[u8; 4]>::try_from) {
        return Some(IpAddr::V4(Ipv4Addr::from(v4)));
    }
    if let Some(Ok(v6)) = packet
        .first(attr::NAS_IPV6_ADDRESS)
        .map(<[u8; 16]>::try_from)
    {
        return Some(IpAddr::V6(Ipv6Addr::from(v6)));
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::auth::{encode_pap, sign_request};
    use crate::clients::{ClientConfig, ClientTable, MessageAuthenticatorPolicy};

    const SOURCE: &str = "192.0.2.10:40000";

    fn table(mode: ClientMode) -> ClientTable {
        let mut config = ClientConfig::new(
            "nas",
            "192.0.2.0/24".parse().unwrap(),
            SharedSecret::from("s"),
        );
        config.mode = mode;
        config.message_authenticator = MessageAuthenticatorPolicy::Required;
        ClientTable::new(&[config])
    }

    /// A signed request carrying a Message-Authenticator and `attrs`.
    fn packet(code: Code, attrs: &[(u8, &[u8])]) -> Packet {
        let mut p = Packet::new(code, 1, [3; 16]);
        p.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
        for (typ, value) in attrs {
            p.push(*typ, value.to_vec());
        }
        Packet::decode(&sign_request(&mut p, &SharedSecret::from("s")).unwrap()).unwrap()
    }

    fn run(table: &ClientTable, packet: &Packet, stats: &Stats) -> Verdict {
        let client = table.lookup("192.0.2.10".parse().unwrap()).unwrap();
        let source = SOURCE.parse().unwrap();
        process(
            packet,
            client,
            source,
            Transport::Udp,
            stats,
            Instant::now(),
        )
    }

    fn answered_code(verdict: &Verdict) -> Code {
        match verdict {
            Verdict::Answer { response, .. } => Packet::decode(response).unwrap().code,
            other => panic!("expected an answer, got {other:?}"),
        }
    }

    #[test]
    fn pap_request_goes_to_the_policy_with_fields_decoded() {
        let hidden = encode_pap(b"pw", &[3; 16], &SharedSecret::from("s")).unwrap();
        let p = packet(
            Code::ACCESS_REQUEST,
            &[
                (attr::USER_NAME, b"alice"),
                (attr::USER_PASSWORD, &hidden),
                (attr::NAS_IP_ADDRESS, &[10, 0, 0, 1]),
                (attr::NAS_IDENTIFIER, b"vpn"),
                (attr::CALLING_STATION_ID, b"198.51.100.7"),
            ],
        );
        let stats = Stats::new();
        let Verdict::Ask { request, .. } = run(&table(ClientMode::Challenge), &p, &stats) else {
            panic!("expected Ask");
        };
        assert_eq!(request.username, "alice");
        assert_eq!(request.password.as_ref().unwrap().expose(), b"pw");
        assert_eq!(request.nas_ip, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(request.nas_identifier.as_deref(), Some("vpn"));
        assert_eq!(request.calling_station_id.as_deref(), Some("198.51.100.7"));
        assert_eq!(request.state, None);
        assert_eq!(request.client.name, "nas");
        assert_eq!(stats.get(Counter::AccessRequests), 1);
        // The password never shows in Debug output.
        assert!(!format!("{request:?}").contains("pw\""));
    }

    #[test]
    fn user_name_alone_is_enough_only_for_second_factor_only_clients() {
        let p = packet(Code::ACCESS_REQUEST, &[(attr::USER_NAME, b"alice")]);
        let stats = Stats::new();
        let verdict = run(&table(ClientMode::SecondFactorOnly), &p, &stats);
        assert!(matches!(verdict, Verdict::Ask { .. }), "{verdict:?}");
        let verdict = run(&table(ClientMode::Challenge), &p, &stats);
        assert_eq!(answered_code(&verdict), Code::ACCESS_REJECT);
        assert_eq!(stats.get(Counter::RejectInvalidRequest), 1);
        // State alone is a valid continuation in any mode.
        let p = packet(
            Code::ACCESS_REQUEST,
            &[(attr::USER_NAME, b"alice"), (attr::STATE, b"st")],
        );
        let verdict = run(&table(ClientMode::Challenge), &p, &stats);
        assert!(matches!(verdict, Verdict::Ask { .. }), "{verdict:?}");
    }

    #[test]
    fn chap_eap_and_missing_user_name_are_rejected() {
        let stats = Stats::new();
        let table = table(ClientMode::Challenge);
        let chap = packet(
            Code::ACCESS_REQUEST,
            &[(attr::USER_NAME, b"a"), (attr::CHAP_PASSWORD, &[1; 17])],
        );
        assert_eq!(
            answered_code(&run(&table, &chap, &stats)),
            Code::ACCESS_REJECT
        );
        assert_eq!(stats.get(Counter::RejectChap), 1);
        let eap = packet(
            Code::ACCESS_REQUEST,
            &[(attr::USER_NAME, b"a"), (attr::EAP_MESSAGE, &[2, 0, 0, 4])],
        );
        assert_eq!(
            answered_code(&run(&table, &eap, &stats)),
            Code::ACCESS_REJECT
        );
        let nameless = packet(Code::ACCESS_REQUEST, &[(attr::STATE, b"st")]);
        assert_eq!(
            answered_code(&run(&table, &nameless, &stats)),
            Code::ACCESS_REJECT
        );
        assert_eq!(stats.get(Counter::RejectInvalidRequest), 2);
    }

    #[test]
    fn malformed_and_unauthenticated_requests_are_dropped() {
        let stats = Stats::new();
        let table = table(ClientMode::Challenge);
        let drop_reason = |p: &Packet| match run(&table, p, &stats) {
            Verdict::Drop(counter) => counter,
            other => panic!("expected Drop, got {other:?}"),
        };
        let bad_pap = packet(
            Code::ACCESS_REQUEST,
            &[(attr::USER_NAME, b"a"), (attr::USER_PASSWORD, &[0; 15])],
        );
        assert_eq!(drop_reason(&bad_pap), Counter::DropMalformed);
        let two_names = packet(
            Code::ACCESS_REQUEST,
            &[(attr::USER_NAME, b"a"), (attr::USER_NAME, b"b")],
        );
        assert_eq!(drop_reason(&two_names), Counter::DropMalformed);
        let accounting = packet(Code::ACCOUNTING_REQUEST, &[]);
        assert_eq!(drop_reason(&accounting), Counter::DropUnsupportedCode);
        let mut unsigned = Packet::new(Code::STATUS_SERVER, 1, [3; 16]);
        assert_eq!(
            drop_reason(&unsigned),
            Counter::DropMissingMessageAuthenticator
        );
        unsigned.push(attr::MESSAGE_AUTHENTICATOR, [9u8; 16]);
        assert_eq!(drop_reason(&unsigned), Counter::DropBadAuthenticator);
    }

    #[test]
    fn status_server_is_answered_with_access_accept() {
        let stats = Stats::new();
        let p = packet(Code::STATUS_SERVER, &[]);
        let verdict = run(&table(ClientMode::Challenge), &p, &stats);
        assert_eq!(answered_code(&verdict), Code::ACCESS_ACCEPT);
        assert_eq!(stats.get(Counter::StatusServerRequests), 1);
    }
}
