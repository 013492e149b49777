//! RADIUS Accounting (RFC 2866): an Accounting-Request, verified by its Request
//! Authenticator (and its Message-Authenticator when it has one), read into an
//! [`AccountingRequest`] for the policy, which records it and only then lets the
//! Accounting-Response go (RFC 2866 section 2: no answer unless it was recorded). Pure; no
//! I/O.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::address::end_user_address;
use crate::auth::{AccountingCheck, SharedSecret, verify_accounting_request};
use crate::clients::{Client, ClientInfo};
use crate::packet::{DecodeError, Packet, attr};
use crate::request::{Transport, nas_ip, text};
use crate::stats::{Counter, Stats};

/// Acct-Status-Type (RFC 2866 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountingStatus {
    /// A session started (1).
    Start,
    /// A session ended (2).
    Stop,
    /// A session is still up (3, Interim-Update).
    Interim,
    /// The NAS started: every session it had is over (7).
    AccountingOn,
    /// The NAS is stopping: every session it had is over (8).
    AccountingOff,
    /// Any other value (kept, so it can be audited).
    Other(u32),
}

impl AccountingStatus {
    fn from_value(v: u32) -> Self {
        match v {
            1 => Self::Start,
            2 => Self::Stop,
            3 => Self::Interim,
            7 => Self::AccountingOn,
            8 => Self::AccountingOff,
            other => Self::Other(other),
        }
    }

    /// A stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Interim => "interim",
            Self::AccountingOn => "accounting_on",
            Self::AccountingOff => "accounting_off",
            Self::Other(_) => "other",
        }
    }
}

/// An Accounting-Request as the policy sees it: verified and decoded.
#[derive(Debug, Clone)]
pub struct AccountingRequest {
    /// The client (NAS) it came from.
    pub client: Arc<ClientInfo>,
    /// Source address and port.
    pub source: SocketAddr,
    /// UDP or RadSec.
    pub transport: Transport,
    /// Acct-Status-Type.
    pub status: AccountingStatus,
    /// Acct-Session-Id (required for Start, Stop and Interim-Update).
    pub session_id: Option<String>,
    /// User-Name.
    pub username: Option<String>,
    /// The end user's address, from the client's configured attributes.
    pub end_user_address: Option<IpAddr>,
    /// NAS-Identifier.
    pub nas_identifier: Option<String>,
    /// NAS-IP-Address or NAS-IPv6-Address.
    pub nas_ip: Option<IpAddr>,
    /// Calling-Station-Id.
    pub calling_station_id: Option<String>,
    /// Framed-IP-Address (the address the NAS gave the session).
    pub framed_ip: Option<IpAddr>,
    /// Acct-Session-Time in seconds (Stop and Interim-Update).
    pub session_time: Option<u32>,
    /// Acct-Terminate-Cause (Stop).
    pub terminate_cause: Option<u32>,
    /// Acct-Delay-Time in seconds.
    pub delay_time: Option<u32>,
    /// Acct-Input-Octets and Acct-Output-Octets.
    pub octets: Option<(u32, u32)>,
}

/// An integer attribute (4 octets) that may appear at most once.
fn integer(packet: &Packet, typ: u8) -> Result<Option<u32>, DecodeError> {
    packet
        .single(typ)?
        .map(|v| {
            <[u8; 4]>::try_from(v)
                .map(u32::from_be_bytes)
                .map_err(|_| DecodeError::BadAttributeValue(typ))
        })
        .transpose()
}

/// Verifies and reads an Accounting-Request from `client`. `Err` names the counter of the
/// drop (wrong secret, malformed).
pub(crate) fn accounting_request(
    packet: &Packet,
    client: &Client,
    secret: &SharedSecret,
    source: SocketAddr,
    transport: Transport,
    stats: &Stats,
) -> Result<AccountingRequest, Counter> {
    match verify_accounting_request(packet, secret) {
        AccountingCheck::Valid => {}
        AccountingCheck::Invalid => return Err(Counter::AccountingDropBadAuthenticator),
        AccountingCheck::Malformed => return Err(Counter::AccountingDropMalformed),
    }
    read(packet, client, source, transport, stats).map_err(|_| Counter::AccountingDropMalformed)
}

fn read(
    packet: &Packet,
    client: &Client,
    source: SocketAddr,
    transport: Transport,
    stats: &Stats,
) -> Result<AccountingRequest, DecodeError> {
    let status = integer(packet, attr::ACCT_STATUS_TYPE)?
        .map(AccountingStatus::from_value)
        .ok_or(DecodeError::BadAttributeValue(attr::ACCT_STATUS_TYPE))?;
    let session_id = packet
        .single(attr::ACCT_SESSION_ID)?
        .map(|v| {
            std::str::from_utf8(v)
                .ok()
                .filter(|s| !s.is_empty() && !s.chars().any(char::is_control))
                .map(str::to_owned)
                .ok_or(DecodeError::BadAttributeValue(attr::ACCT_SESSION_ID))
        })
        .transpose()?;
    let per_session = matches!(
        status,
        AccountingStatus::Start | AccountingStatus::Stop | AccountingStatus::Interim
    );
    if per_session && session_id.is_none() {
        return Err(DecodeError::BadAttributeValue(attr::ACCT_SESSION_ID));
    }
    let username = packet
        .single(attr::USER_NAME)?
        .map(|v| {
            std::str::from_utf8(v)
                .ok()
                .filter(|s| !s.chars().any(char::is_control))
                .map(str::to_owned)
                .ok_or(DecodeError::BadAttributeValue(attr::USER_NAME))
        })
        .transpose()?;
    let (address, invalid) = end_user_address(packet, &client.config.end_user_address);
    for _ in 0..invalid {
        stats.incr(Counter::EndUserAddressInvalid);
    }
    let framed_ip = packet
        .single(attr::FRAMED_IP_ADDRESS)?
        .and_then(|v| <[u8; 4]>::try_from(v).ok())
        .map(IpAddr::from);
    let octets = match (
        integer(packet, attr::ACCT_INPUT_OCTETS)?,
        integer(packet, attr::ACCT_OUTPUT_OCTETS)?,
    ) {
        (None, None) => None,
        (i, o) => Some((i.unwrap_or(0), o.unwrap_or(0))),
    };
    Ok(AccountingRequest {
        client: Arc::clone(&client.info),
        source,
        transport,
        status,
        session_id,
        username,
        end_user_address: address,
        nas_identifier: text(packet, attr::NAS_IDENTIFIER),
        nas_ip: nas_ip(packet),
        calling_station_id: text(packet, attr::CALLING_STATION_ID),
        framed_ip,
        session_time: integer(packet, attr::ACCT_SESSION_TIME)?,
        terminate_cause: integer(packet, attr::ACCT_TERMINATE_CAUSE)?,
        delay_time: integer(packet, attr::ACCT_DELAY_TIME)?,
        octets,
    })
}
