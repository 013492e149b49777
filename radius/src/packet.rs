//! RADIUS packet codec (RFC 2865 section 3 and 5): bytes in, bytes out, no I/O, no secrets.
//!
//! This is our own small codec rather than the `radius` crate's. `radius` 0.4 has no
//! Message-Authenticator support, cannot list every attribute of a packet in order (needed to
//! verify an HMAC over the packet as sent and to echo Proxy-State in order), writes a wrong
//! Length field for an oversized packet in release builds, and stops a PAP password at the
//! first NUL. It is kept as a dev-dependency: the tests use it as an oracle (packets encoded
//! by one are decoded by the other).
//!
//! Decoding never panics, whatever the input: the `does_not_panic` property test and the
//! cargo-fuzz target in `radius/fuzz` hold it to that.

use std::fmt;

use crate::RadiusError;

/// Size of the fixed header: Code, Identifier, Length, Authenticator.
pub const HEADER_LEN: usize = 20;
/// Largest packet RFC 2865 allows.
pub const MAX_PACKET_LEN: usize = 4096;
/// Largest attribute value (the attribute Length octet counts itself and the Type octet).
pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 253;

/// Attribute types this crate reads or writes (RFC 2865, 2866, 2868, 2869, 3162, 3579, 5176).
pub mod attr {
    /// User-Name (RFC 2865 5.1).
    pub const USER_NAME: u8 = 1;
    /// User-Password (RFC 2865 5.2).
    pub const USER_PASSWORD: u8 = 2;
    /// CHAP-Password (RFC 2865 5.3).
    pub const CHAP_PASSWORD: u8 = 3;
    /// NAS-IP-Address (RFC 2865 5.4).
    pub const NAS_IP_ADDRESS: u8 = 4;
    /// NAS-Port (RFC 2865 5.5).
    pub const NAS_PORT: u8 = 5;
    /// Framed-IP-Address (RFC 2865 5.8).
    pub const FRAMED_IP_ADDRESS: u8 = 8;
    /// Login-IP-Host (RFC 2865 5.14).
    pub const LOGIN_IP_HOST: u8 = 14;
    /// Reply-Message (RFC 2865 5.18).
    pub const REPLY_MESSAGE: u8 = 18;
    /// State (RFC 2865 5.24).
    pub const STATE: u8 = 24;
    /// Class (RFC 2865 5.25).
    pub const CLASS: u8 = 25;
    /// Session-Timeout (RFC 2865 5.27).
    pub const SESSION_TIMEOUT: u8 = 27;
    /// Vendor-Specific (RFC 2865 5.26).
    pub const VENDOR_SPECIFIC: u8 = 26;
    /// Called-Station-Id (RFC 2865 5.30).
    pub const CALLED_STATION_ID: u8 = 30;
    /// Calling-Station-Id (RFC 2865 5.31).
    pub const CALLING_STATION_ID: u8 = 31;
    /// NAS-Identifier (RFC 2865 5.32).
    pub const NAS_IDENTIFIER: u8 = 32;
    /// Proxy-State (RFC 2865 5.33).
    pub const PROXY_STATE: u8 = 33;
    /// Acct-Status-Type (RFC 2866 5.1).
    pub const ACCT_STATUS_TYPE: u8 = 40;
    /// Acct-Delay-Time (RFC 2866 5.2).
    pub const ACCT_DELAY_TIME: u8 = 41;
    /// Acct-Input-Octets (RFC 2866 5.3).
    pub const ACCT_INPUT_OCTETS: u8 = 42;
    /// Acct-Output-Octets (RFC 2866 5.4).
    pub const ACCT_OUTPUT_OCTETS: u8 = 43;
    /// Acct-Session-Id (RFC 2866 5.5).
    pub const ACCT_SESSION_ID: u8 = 44;
    /// Acct-Session-Time (RFC 2866 5.7).
    pub const ACCT_SESSION_TIME: u8 = 46;
    /// Acct-Terminate-Cause (RFC 2866 5.10).
    pub const ACCT_TERMINATE_CAUSE: u8 = 49;
    /// Event-Timestamp (RFC 2869 5.3).
    pub const EVENT_TIMESTAMP: u8 = 55;
    /// Tunnel-Client-Endpoint (RFC 2868 3.3; "Tunnel-Client-Endpt" in dictionaries).
    pub const TUNNEL_CLIENT_ENDPOINT: u8 = 66;
    /// EAP-Message (RFC 3579 3.1).
    pub const EAP_MESSAGE: u8 = 79;
    /// Message-Authenticator (RFC 3579 3.2).
    pub const MESSAGE_AUTHENTICATOR: u8 = 80;
    /// NAS-IPv6-Address (RFC 3162 2.1).
    pub const NAS_IPV6_ADDRESS: u8 = 95;
    /// Error-Cause (RFC 5176 3.5).
    pub const ERROR_CAUSE: u8 = 101;
}

/// A RADIUS packet code. Unknown codes decode too; the server decides what to do with them.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code(pub u8);

impl Code {
    /// Access-Request (1).
    pub const ACCESS_REQUEST: Code = Code(1);
    /// Access-Accept (2).
    pub const ACCESS_ACCEPT: Code = Code(2);
    /// Access-Reject (3).
    pub const ACCESS_REJECT: Code = Code(3);
    /// Accounting-Request (4).
    pub const ACCOUNTING_REQUEST: Code = Code(4);
    /// Accounting-Response (5).
    pub const ACCOUNTING_RESPONSE: Code = Code(5);
    /// Access-Challenge (11).
    pub const ACCESS_CHALLENGE: Code = Code(11);
    /// Status-Server (12, RFC 5997).
    pub const STATUS_SERVER: Code = Code(12);
    /// Disconnect-Request (40, RFC 5176).
    pub const DISCONNECT_REQUEST: Code = Code(40);
    /// Disconnect-ACK (41, RFC 5176).
    pub const DISCONNECT_ACK: Code = Code(41);
    /// Disconnect-NAK (42, RFC 5176).
    pub const DISCONNECT_NAK: Code = Code(42);

    /// The RFC name of the code, or "Unknown".
    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "Access-Request",
            2 => "Access-Accept",
            3 => "Access-Reject",
            4 => "Accounting-Request",
            5 => "Accounting-Response",
            11 => "Access-Challenge",
            12 => "Status-Server",
            13 => "Status-Client",
            40 => "Disconnect-Request",
            41 => "Disconnect-ACK",
            42 => "Disconnect-NAK",
            _ => "Unknown",
        }
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a datagram or frame is not a RADIUS packet. Every case is a silent drop on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer octets than the 20-octet header.
    #[error("packet has {0} octets, fewer than the 20-octet header")]
    TooShort(usize),
    /// The Length field is below 20 or above 4096.
    #[error("Length field {0} is outside 20..=4096")]
    BadLength(usize),
    /// The Length field claims more octets than were received.
    #[error("Length field {claimed} exceeds the {received} octets received")]
    Truncated {
        /// The Length field.
        claimed: usize,
        /// Octets actually received.
        received: usize,
    },
    /// An attribute's length is below 2 or runs past the end of the packet.
    #[error("attribute at offset {offset} has an invalid length")]
    BadAttribute {
        /// Offset of the attribute from the start of the packet.
        offset: usize,
    },
    /// An attribute's value is not what its type requires (size, count or encoding).
    #[error("attribute {0} is malformed")]
    BadAttributeValue(u8),
}

/// One attribute, as received: its type and raw value.
#[derive(Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The Type octet.
    pub typ: u8,
    /// The value octets (at most 253).
    pub value: Vec<u8>,
}

impl Attribute {
    /// An attribute of type `typ` carrying `value`.
    pub fn new(typ: u8, value: impl Into<Vec<u8>>) -> Self {
        Attribute {
            typ,
            value: value.into(),
        }
    }
}

impl fmt::Debug for Attribute {
    // Values may be hidden passwords or State cookies: only sizes are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Attribute({}, {} octets)", self.typ, self.value.len())
    }
}

/// A decoded RADIUS packet: header fields plus the attributes in the order they came.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Packet {
    /// Packet type.
    pub code: Code,
    /// Identifier, used to match a response with its request.
    pub identifier: u8,
    /// Request or Response Authenticator.
    pub authenticator: [u8; 16],
    /// Attributes in wire order.
    pub attributes: Vec<Attribute>,
}

impl Packet {
    /// A packet with no attributes.
    pub fn new(code: Code, identifier: u8, authenticator: [u8; 16]) -> Self {
        Packet {
            code,
            identifier,
            authenticator,
            attributes: Vec::new(),
        }
    }

    /// Decodes one packet. Octets beyond the Length field are ignored (RFC 2865 section 3).
    pub fn decode(bytes: &[u8]) -> Result<Packet, DecodeError> {
        let length = declared_length(bytes)?;
        if length > bytes.len() {
            return Err(DecodeError::Truncated {
                claimed: length,
                received: bytes.len(),
            });
        }
        let (header, body) = bytes[..length].split_at(HEADER_LEN);
        let mut authenticator = [0u8; 16];
        authenticator.copy_from_slice(&header[4..HEADER_LEN]);

        let mut attributes = Vec::new();
        let mut rest = body;
        let mut offset = HEADER_LEN;
        while !rest.is_empty() {
            let [typ, len, ..] = *rest else {
                return Err(DecodeError::BadAttribute { offset });
            };
            let len = usize::from(len);
            if len < 2 || len > rest.len() {
                return Err(DecodeError::BadAttribute { offset });
            }
            attributes.push(Attribute::new(typ, &rest[2..len]));
            rest = &rest[len..];
            offset += len;
        }
        Ok(Packet {
            code: Code(header[0]),
            identifier: header[1],
            authenticator,
            attributes,
        })
    }

    /// Encodes the packet with a correct Length field. The authenticator is written as it
    /// is: responses are signed afterwards by [`crate::auth::sign_response`].
    pub fn encode(&self) -> Result<Vec<u8>, RadiusError> {
        let mut length = HEADER_LEN;
        for attribute in &self.attributes {
            if attribute.value.len() > MAX_ATTRIBUTE_VALUE_LEN {
                return Err(RadiusError::AttributeTooLong(attribute.typ));
            }
            length += 2 + attribute.value.len();
        }
        let wire_length = u16::try_from(length)
            .ok()
            .filter(|&l| usize::from(l) <= MAX_PACKET_LEN)
            .ok_or(RadiusError::PacketTooLarge(length))?;
        let mut out = Vec::with_capacity(length);
        out.push(self.code.0);
        out.push(self.identifier);
        out.extend_from_slice(&wire_length.to_be_bytes());
        out.extend_from_slice(&self.authenticator);
        for attribute in &self.attributes {
            // Both fit in a u8: checked above.
            out.push(attribute.typ);
            out.push((attribute.value.len() + 2) as u8);
            out.extend_from_slice(&attribute.value);
        }
        Ok(out)
    }

    /// The value of the first attribute of type `typ`.
    pub fn first(&self, typ: u8) -> Option<&[u8]> {
        self.attributes
            .iter()
            .find(|a| a.typ == typ)
            .map(|a| a.value.as_slice())
    }

    /// The values of every attribute of type `typ`, in order.
    pub fn all(&self, typ: u8) -> impl Iterator<Item = &[u8]> {
        self.attributes
            .iter()
            .filter(move |a| a.typ == typ)
            .map(|a| a.value.as_slice())
    }

    /// The value of the attribute of type `typ` if it appears at most once; an error if it
    /// appears more than once (for attributes RFC 2865 allows 0-1 times).
    pub fn single(&self, typ: u8) -> Result<Option<&[u8]>, DecodeError> {
        let mut values = self.all(typ);
        let first = values.next();
        if values.next().is_some() {
            return Err(DecodeError::BadAttributeValue(typ));
        }
        Ok(first)
    }

    /// Appends an attribute.
    pub fn push(&mut self, typ: u8, value: impl Into<Vec<u8>>) {
        self.attributes.push(Attribute::new(typ, value));
    }
}

/// The Length field of a buffer that starts with a RADIUS header, checked against 20..=4096.
/// Stream transports (RadSec) use it to frame packets before the whole packet has arrived.
pub fn declared_length(bytes: &[u8]) -> Result<usize, DecodeError> {
    let [_, _, hi, lo, ..] = *bytes else {
        return Err(DecodeError::TooShort(bytes.len()));
    };
    if bytes.len() < HEADER_LEN {
        return Err(DecodeError::TooShort(bytes.len()));
    }
    let length = usize::from(u16::from_be_bytes([hi, lo]));
    if !(HEADER_LEN..=MAX_PACKET_LEN).contains(&length) {
        return Err(DecodeError::BadLength(length));
    }
    Ok(length)
}

/// A fresh random Request Authenticator (for clients and tests: the server never makes one).
pub fn random_authenticator() -> Result<[u8; 16], RadiusError> {
    let mut out = [0u8; 16];
    getrandom::fill(&mut out).map_err(|_| RadiusError::Random)?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn minimal(code: u8, length: u16) -> Vec<u8> {
        let mut bytes = vec![code, 7];
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.extend_from_slice(&[0xab; 16]);
        bytes
    }

    #[test]
    fn header_only_packet_round_trips() {
        let bytes = minimal(1, 20);
        let packet = Packet::decode(&bytes).unwrap();
        assert_eq!(packet.code, Code::ACCESS_REQUEST);
        assert_eq!(packet.identifier, 7);
        assert!(packet.attributes.is_empty());
        assert_eq!(packet.encode().unwrap(), bytes);
    }

    #[test]
    fn trailing_octets_beyond_length_are_ignored() {
        let mut bytes = minimal(1, 26);
        bytes.extend_from_slice(&[1, 6, b'n', b'e', b'm', b'o']);
        bytes.extend_from_slice(b"trailing garbage");
        let packet = Packet::decode(&bytes).unwrap();
        assert_eq!(packet.first(attr::USER_NAME), Some(&b"nemo"[..]));
        assert_eq!(packet.encode().unwrap(), bytes[..26]);
    }

    #[test]
    fn short_and_bad_lengths_are_refused() {
        assert_eq!(Packet::decode(&[1, 2, 0]), Err(DecodeError::TooShort(3)));
        assert_eq!(
            Packet::decode(&minimal(1, 20)[..19]),
            Err(DecodeError::TooShort(19))
        );
        assert_eq!(
            Packet::decode(&minimal(1, 19)),
            Err(DecodeError::BadLength(19))
        );
        assert_eq!(
            Packet::decode(&minimal(1, 4097)),
            Err(DecodeError::BadLength(4097))
        );
        assert_eq!(
            Packet::decode(&minimal(1, 21)),
            Err(DecodeError::Truncated {
                claimed: 21,
                received: 20
            })
        );
    }

    #[test]
    fn bad_attribute_lengths_are_refused() {
        for attrs in [&[1u8, 0][..], &[1, 1], &[1, 3], &[1], &[1, 2, 5]] {
            let mut bytes = minimal(1, 20 + attrs.len() as u16);
            bytes.extend_from_slice(attrs);
            assert!(
                matches!(
                    Packet::decode(&bytes),
                    Err(DecodeError::BadAttribute { .. })
                ),
                "{attrs:?}"
            );
        }
        // An empty value (length 2) is well-formed at this layer.
        let mut bytes = minimal(1, 22);
        bytes.extend_from_slice(&[18, 2]);
        assert_eq!(Packet::decode(&bytes).unwrap().first(18), Some(&[][..]));
    }

    #[test]
    fn encode_refuses_oversized_packets_and_values() {
        let mut packet = Packet::new(Code::ACCESS_ACCEPT, 1, [0; 16]);
        packet.push(attr::REPLY_MESSAGE, vec![b'x'; 254]);
        assert!(matches!(
            packet.encode(),
            Err(RadiusError::AttributeTooLong(18))
        ));

        let mut packet = Packet::new(Code::ACCESS_ACCEPT, 1, [0; 16]);
        for _ in 0..16 {
            packet.push(attr::REPLY_MESSAGE, vec![b'x'; 253]);
        }
        // 20 + 16 * 255 = 4100 > 4096
        assert!(matches!(
            packet.encode(),
            Err(RadiusError::PacketTooLarge(4100))
        ));
        packet.attributes.pop();
        let bytes = packet.encode().unwrap();
        assert_eq!(bytes.len(), 20 + 15 * 255);
        assert_eq!(
            usize::from(u16::from_be_bytes([bytes[2], bytes[3]])),
            bytes.len()
        );
    }

    #[test]
    fn attribute_order_and_duplicates_are_kept() {
        let mut packet = Packet::new(Code::ACCESS_REQUEST, 9, [1; 16]);
        packet.push(attr::PROXY_STATE, b"one".to_vec());
        packet.push(attr::USER_NAME, b"u".to_vec());
        packet.push(attr::PROXY_STATE, b"two".to_vec());
        let decoded = Packet::decode(&packet.encode().unwrap()).unwrap();
        assert_eq!(decoded, packet);
        let states: Vec<_> = decoded.all(attr::PROXY_STATE).collect();
        assert_eq!(states, [&b"one"[..], b"two"]);
        assert!(decoded.single(attr::PROXY_STATE).is_err());
        assert_eq!(decoded.single(attr::USER_NAME).unwrap(), Some(&b"u"[..]));
    }

    #[test]
    fn debug_does_not_show_attribute_values() {
        let attribute = Attribute::new(attr::USER_PASSWORD, b"secret-ish".to_vec());
        assert_eq!(format!("{attribute:?}"), "Attribute(2, 10 octets)");
    }
}
