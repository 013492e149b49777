//! From a decoded packet to a verdict: drop it, answer it at once, or ask the policy.
//! Pure protocol logic (RFC 2865 section 4, RFC 2866, RFC 3579 section 3.2, RFC 5997); no
//! I/O.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use crate::accounting::{AccountingRequest, accounting_request};
use crate::address::end_user_address;
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
    /// The end user's address, from the attributes configured for the client
    /// (`ClientConfig::end_user_address`); `None` if none carried a valid one.
    pub end_user_address: Option<IpAddr>,
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
    /// No answer at all (counted, and not kept for retransmits): the NAS retransmits and the
    /// next copy is decided afresh. For a gateway that is overloaded for a moment.
    Drop,
}

/// The policy's answer to an Accounting-Request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountingDecision {
    /// Recorded: send the Accounting-Response.
    Recorded,
    /// Not recorded: no answer, so the NAS sends it again (RFC 2866 section 2).
    Drop,
}

/// Which requests a serve function takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Services {
    pub(crate) access: bool,
    pub(crate) accounting: bool,
}

/// Decides Access-Requests. The gateway implements it; the protocol front calls it at most
/// `max_in_flight` times at once.
#[async_trait::async_trait]
pub trait AccessPolicy: Send + Sync + 'static {
    /// Decides one request.
    async fn decide(&self, req: AccessRequest) -> Decision;

    /// Records one Accounting-Request. The default records nothing and so never answers.
    async fn account(&self, req: AccountingRequest) -> AccountingDecision {
        let _ = req;
        AccountingDecision::Drop
    }
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
    /// Ask the policy to record it, then answer with an Accounting-Response.
    Account {
        request: Box<AccountingRequest>,
        reply: Reply,
    },
}

/// Verifies and interprets one decoded packet from `client`.
pub(crate) fn process(
    packet: &Packet,
    client: &Client,
    source: SocketAddr,
    transport: Transport,
    services: Services,
    stats: &Stats,
    now: Instant,
) -> Verdict {
    let secret = client.secret(transport == Transport::Tls);
    match packet.code {
        Code::ACCESS_REQUEST if services.access => stats.incr(Counter::AccessRequests),
        Code::ACCOUNTING_REQUEST if services.accounting => {
            stats.incr(Counter::AccountingRequests);
            let reply = Reply::new(packet, &client.config, secret.clone());
            return match accounting_request(packet, client, secret, source, transport, stats) {
                Ok(request) => Verdict::Account {
                    request: Box::new(request),
                    reply,
                },
                Err(counter) => Verdict::Drop(counter),
            };
        }
        Code::STATUS_SERVER => stats.incr(Counter::StatusServerRequests),
        _ => {
            stats.incr(Counter::OtherRequests);
            return Verdict::Drop(Counter::DropUnsupportedCode);
        }
    }
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
        // RFC 5997 section 4: on an accounting port it is answered like accounting.
        let response = if services.access {
            reply.status_server()
        } else {
            reply.status_server_accounting()
        };
        return answer(response, Counter::StatusServer);
    }
    match access_request(packet, client, secret, source, transport, stats) {
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
    stats: &Stats,
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
    // A NUL or another control character is no part of any name a person types.
    if username.trim().is_empty() || username.chars().any(char::is_control) {
        return Ok(Err(Counter::RejectInvalidRequest));
    }
    let password = hidden_password
        .map(|hidden| decode_pap(hidden, &packet.authenticator, secret))
        .transpose()?;
    let no_password_needed = matches!(
        client.info.mode,
        ClientMode::SecondFactorOnly | ClientMode::CodeOnly
    );
    let eap = packet.first(attr::EAP_MESSAGE).is_some();
    if eap || (password.is_none() && state.is_none() && !no_password_needed) {
        return Ok(Err(Counter::RejectInvalidRequest));
    }
    let (end_user, invalid) = end_user_address(packet, &client.config.end_user_address);
    for _ in 0..invalid {
        stats.incr(Counter::EndUserAddressInvalid);
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
        end_user_address: end_user,
    }))
}

pub(crate) fn text(packet: &Packet, typ: u8) -> Option<String> {
    packet
        .first(typ)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

pub(crate) fn nas_ip(packet: &Packet) -> Option<IpAddr> {
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
        run_on(table, packet, stats, true)
    }

    /// On an authentication port (`access`) or an accounting port.
    fn run_on(table: &ClientTable, packet: &Packet, stats: &Stats, access: bool) -> Verdict {
        let client = table.lookup("192.0.2.10".parse().unwrap()).unwrap();
        let source = SOURCE.parse().unwrap();
        process(
            packet,
            client,
            source,
            Transport::Udp,
            Services {
                access,
                accounting: !access,
            },
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

    fn accounting(attrs: &[(u8, &[u8])], secret: &str) -> Packet {
        let mut p = Packet::new(Code::ACCOUNTING_REQUEST, 4, [0; 16]);
        for (typ, value) in attrs {
            p.push(*typ, value.to_vec());
        }
        let bytes =
            crate::auth::sign_accounting_request(&mut p, &SharedSecret::from(secret)).unwrap();
        Packet::decode(&bytes).unwrap()
    }

    #[test]
    fn accounting_requests_are_verified_and_read_on_the_accounting_port_only() {
        let stats = Stats::new();
        let mut config = ClientConfig::new(
            "nas",
            "192.0.2.0/24".parse().unwrap(),
            SharedSecret::from("s"),
        );
        config.end_user_address = vec![crate::AddressAttribute::CallingStationId];
        let table = ClientTable::new(&[config]);
        let start = accounting(
            &[
                (attr::ACCT_STATUS_TYPE, &1u32.to_be_bytes()),
                (attr::ACCT_SESSION_ID, b"S1"),
                (attr::USER_NAME, b"ann"),
                (attr::CALLING_STATION_ID, b"198.51.100.20"),
                (attr::ACCT_SESSION_TIME, &7u32.to_be_bytes()),
            ],
            "s",
        );
        let Verdict::Account { request, .. } = run_on(&table, &start, &stats, false) else {
            panic!("expected Account");
        };
        assert_eq!(request.status, crate::AccountingStatus::Start);
        assert_eq!(request.session_id.as_deref(), Some("S1"));
        assert_eq!(request.username.as_deref(), Some("ann"));
        assert_eq!(
            request.end_user_address,
            Some("198.51.100.20".parse().unwrap())
        );
        assert_eq!(request.session_time, Some(7));
        assert_eq!(stats.get(Counter::AccountingRequests), 1);
        // On the authentication port it is not served.
        assert!(matches!(
            run_on(&table, &start, &stats, true),
            Verdict::Drop(Counter::DropUnsupportedCode)
        ));
        let drop_reason = |p: &Packet| match run_on(&table, p, &stats, false) {
            Verdict::Drop(counter) => counter,
            other => panic!("expected Drop, got {other:?}"),
        };
        // Wrong secret; no status type; no session id for a Start; a bad integer.
        let wrong = accounting(&[(attr::ACCT_STATUS_TYPE, &1u32.to_be_bytes())], "x");
        assert_eq!(drop_reason(&wrong), Counter::AccountingDropBadAuthenticator);
        let no_status = accounting(&[(attr::ACCT_SESSION_ID, b"S1")], "s");
        assert_eq!(drop_reason(&no_status), Counter::AccountingDropMalformed);
        let no_session = accounting(&[(attr::ACCT_STATUS_TYPE, &2u32.to_be_bytes())], "s");
        assert_eq!(drop_reason(&no_session), Counter::AccountingDropMalformed);
        let short = accounting(
            &[
                (attr::ACCT_STATUS_TYPE, &1u32.to_be_bytes()),
                (attr::ACCT_SESSION_ID, b"S1"),
                (attr::ACCT_SESSION_TIME, &[0, 7]),
            ],
            "s",
        );
        assert_eq!(drop_reason(&short), Counter::AccountingDropMalformed);
        // Accounting-On names no session.
        let on = accounting(&[(attr::ACCT_STATUS_TYPE, &7u32.to_be_bytes())], "s");
        assert!(matches!(
            run_on(&table, &on, &stats, false),
            Verdict::Account { .. }
        ));
        // An Access-Request on the accounting port is not served.
        let access = packet(Code::ACCESS_REQUEST, &[(attr::USER_NAME, b"a")]);
        assert_eq!(drop_reason(&access), Counter::DropUnsupportedCode);
    }

    #[test]
    fn control_characters_in_user_name_are_rejected_and_code_only_needs_no_password() {
        let stats = Stats::new();
        for name in [&b"ann\0"[..], b"ann\n", b" ", b"\x7f"] {
            let p = packet(
                Code::ACCESS_REQUEST,
                &[(attr::USER_NAME, name), (attr::STATE, b"s")],
            );
            assert_eq!(
                answered_code(&run(&table(ClientMode::Challenge), &p, &stats)),
                Code::ACCESS_REJECT,
                "{name:?}"
            );
        }
        assert_eq!(stats.get(Counter::RejectInvalidRequest), 4);
        let p = packet(Code::ACCESS_REQUEST, &[(attr::USER_NAME, b"PRAKTIJK\\ann")]);
        let verdict = run(&table(ClientMode::CodeOnly), &p, &stats);
        let Verdict::Ask { request, .. } = verdict else {
            panic!("expected Ask, got {verdict:?}");
        };
        assert_eq!(request.username, "PRAKTIJK\\ann");
        assert!(request.password.is_none());
    }

    #[test]
    fn end_user_address_is_read_from_the_configured_attributes_and_bad_ones_counted() {
        let stats = Stats::new();
        let mut config = ClientConfig::new(
            "nas",
            "192.0.2.0/24".parse().unwrap(),
            SharedSecret::from("s"),
        );
        config.mode = ClientMode::SecondFactorOnly;
        config.end_user_address = vec![
            crate::AddressAttribute::TunnelClientEndpoint,
            crate::AddressAttribute::CallingStationId,
        ];
        let configured = ClientTable::new(&[config]);
        let p = packet(
            Code::ACCESS_REQUEST,
            &[
                (attr::USER_NAME, b"ann"),
                (attr::TUNNEL_CLIENT_ENDPOINT, b"not-an-address"),
                (attr::CALLING_STATION_ID, b"2001:db8::5"),
            ],
        );
        let Verdict::Ask { request, .. } = run(&configured, &p, &stats) else {
            panic!("expected Ask");
        };
        assert_eq!(
            request.end_user_address,
            Some("2001:db8::5".parse().unwrap())
        );
        assert_eq!(stats.get(Counter::EndUserAddressInvalid), 1);
        // Not configured: not believed.
        let Verdict::Ask { request, .. } = run(&table(ClientMode::SecondFactorOnly), &p, &stats)
        else {
            panic!("expected Ask");
        };
        assert_eq!(request.end_user_address, None);
    }

    proptest::proptest! {
        /// `does_not_panic` for the whole interpretation: any attributes, in an Access-Request
        /// or an Accounting-Request signed with the right secret (so the parsing past the
        /// authenticators runs), with every end-user address attribute configured.
        #[test]
        fn process_does_not_panic(
            accounting in proptest::bool::ANY,
            attrs in proptest::collection::vec(
                (proptest::sample::select(vec![1u8, 2, 8, 14, 24, 26, 31, 40, 41, 42, 43, 44, 46, 49, 66, 80, 255]),
                 proptest::collection::vec(proptest::num::u8::ANY, 0..40)),
                0..12,
            ),
        ) {
            let mut config = ClientConfig::new(
                "nas",
                "192.0.2.0/24".parse().unwrap(),
                SharedSecret::from("s"),
            );
            config.mode = ClientMode::CodeOnly;
            config.message_authenticator = MessageAuthenticatorPolicy::NotRequired;
            config.end_user_address = ["Tunnel-Client-Endpt", "Calling-Station-Id",
                "Framed-IP-Address", "Login-IP-Host", "Fortinet-Client-IP-Address"]
                .iter()
                .map(|n| crate::AddressAttribute::parse(n).unwrap())
                .collect();
            let table = ClientTable::new(&[config]);
            let code = if accounting { Code::ACCOUNTING_REQUEST } else { Code::ACCESS_REQUEST };
            let mut p = Packet::new(code, 1, [3; 16]);
            for (typ, value) in attrs {
                p.push(typ, value);
            }
            let secret = SharedSecret::from("s");
            let bytes = if accounting {
                crate::auth::sign_accounting_request(&mut p, &secret)
            } else {
                sign_request(&mut p, &secret)
            };
            if let Ok(bytes) = bytes
                && let Ok(p) = Packet::decode(&bytes)
            {
                let stats = Stats::new();
                let _ = run_on(&table, &p, &stats, !accounting);
            }
        }
    }
}
