//! The end user's address, from the attributes a NAS puts it in. RD Gateway (through NPS)
//! sends `Tunnel-Client-Endpt`, NetScaler, FortiGate and OpenVPN `Calling-Station-Id`,
//! FortiGate also its `Fortinet-Client-IP-Address` vendor attribute. Which attributes are
//! believed is configured per client, in order; a value that is not exactly an IPv4 or IPv6
//! address (a MAC address, a host name, an address with a port, the unspecified address)
//! is ignored and counted. Pure; no I/O.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::packet::{Packet, attr};

/// The Fortinet vendor id (its dictionary: `Fortinet-Client-IP-Address` is type 2, ipaddr).
const FORTINET: u32 = 12356;

/// One attribute that may carry the end user's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressAttribute {
    /// Tunnel-Client-Endpoint (66, RFC 2868): text, with an optional tag octet first.
    TunnelClientEndpoint,
    /// Calling-Station-Id (31): text.
    CallingStationId,
    /// Framed-IP-Address (8): four octets.
    FramedIpAddress,
    /// Login-IP-Host (14): four octets.
    LoginIpHost,
    /// A Vendor-Specific attribute (RFC 2865 5.26): four octets (IPv4), sixteen (IPv6), or
    /// the address as text.
    Vendor {
        /// The vendor's SMI number.
        vendor: u32,
        /// The vendor's attribute type.
        typ: u8,
    },
}

impl AddressAttribute {
    /// The attribute named as in FreeRADIUS dictionaries (`Tunnel-Client-Endpt`,
    /// `Calling-Station-Id`, `Framed-IP-Address`, `Login-IP-Host`,
    /// `Fortinet-Client-IP-Address`), or `Vendor-Specific:VENDOR:TYPE` (numbers).
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.trim();
        let lower = name.to_ascii_lowercase();
        Some(match lower.as_str() {
            "tunnel-client-endpt" | "tunnel-client-endpoint" => Self::TunnelClientEndpoint,
            "calling-station-id" => Self::CallingStationId,
            "framed-ip-address" => Self::FramedIpAddress,
            "login-ip-host" => Self::LoginIpHost,
            "fortinet-client-ip-address" => Self::Vendor {
                vendor: FORTINET,
                typ: 2,
            },
            _ => {
                let rest = lower.strip_prefix("vendor-specific:")?;
                let (vendor, typ) = rest.split_once(':')?;
                Self::Vendor {
                    vendor: vendor.parse().ok()?,
                    typ: typ.parse().ok()?,
                }
            }
        })
    }

    /// The values of this attribute in `packet`, in order.
    fn values<'a>(&self, packet: &'a Packet) -> Vec<&'a [u8]> {
        match *self {
            Self::TunnelClientEndpoint => packet.all(attr::TUNNEL_CLIENT_ENDPOINT).collect(),
            Self::CallingStationId => packet.all(attr::CALLING_STATION_ID).collect(),
            Self::FramedIpAddress => packet.all(attr::FRAMED_IP_ADDRESS).collect(),
            Self::LoginIpHost => packet.all(attr::LOGIN_IP_HOST).collect(),
            Self::Vendor { vendor, typ } => packet
                .all(attr::VENDOR_SPECIFIC)
                .filter_map(|v| vendor_value(v, vendor, typ))
                .collect(),
        }
    }

    /// The address in one value, if it is exactly one.
    fn address(&self, value: &[u8]) -> Option<IpAddr> {
        let ip = match *self {
            Self::TunnelClientEndpoint => {
                // RFC 2868 3.3: a first octet of 0x00..=0x1F is a tag, not text.
                let text = match value.first() {
                    Some(&tag) if tag <= 0x1f => &value[1..],
                    _ => value,
                };
                text_address(text)?
            }
            Self::CallingStationId => text_address(value)?,
            Self::FramedIpAddress | Self::LoginIpHost => {
                IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(value).ok()?))
            }
            Self::Vendor { .. } => match value.len() {
                4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(value).ok()?)),
                16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(value).ok()?)),
                _ => text_address(value)?,
            },
        };
        let ip = ip.to_canonical();
        let unusable = ip.is_unspecified()
            || ip.is_multicast()
            || matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
        (!unusable).then_some(ip)
    }
}

/// The value of sub-attribute `typ` of `vendor` in one Vendor-Specific value (RFC 2865 5.26
/// layout: 4-octet vendor id, then type, length, value).
fn vendor_value(v: &[u8], vendor: u32, typ: u8) -> Option<&[u8]> {
    let (id, rest) = v.split_first_chunk::<4>()?;
    if u32::from_be_bytes(*id) != vendor {
        return None;
    }
    let [t, len, ..] = *rest else { return None };
    let len = usize::from(len);
    (t == typ && len >= 2 && len <= rest.len()).then(|| &rest[2..len])
}

/// An address written as text, exactly (no blanks, port, brackets or zone).
fn text_address(value: &[u8]) -> Option<IpAddr> {
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// The end user's address: the first valid value of the first attribute in `order` that
/// has one. Also says how many values were present but not an address (to count them).
pub(crate) fn end_user_address(
    packet: &Packet,
    order: &[AddressAttribute],
) -> (Option<IpAddr>, u32) {
    let mut invalid = 0u32;
    for attribute in order {
        for value in attribute.values(packet) {
            match attribute.address(value) {
                Some(ip) => return (Some(ip), invalid),
                None => invalid = invalid.saturating_add(1),
            }
        }
    }
    (None, invalid)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::packet::Code;

    fn packet(attrs: &[(u8, &[u8])]) -> Packet {
        let mut p = Packet::new(Code::ACCESS_REQUEST, 1, [0; 16]);
        for (t, v) in attrs {
            p.push(*t, v.to_vec());
        }
        p
    }

    fn order(names: &[&str]) -> Vec<AddressAttribute> {
        names
            .iter()
            .map(|n| AddressAttribute::parse(n).unwrap())
            .collect()
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            AddressAttribute::parse("Tunnel-Client-Endpt"),
            Some(AddressAttribute::TunnelClientEndpoint)
        );
        assert_eq!(
            AddressAttribute::parse("vendor-specific:9:5"),
            Some(AddressAttribute::Vendor { vendor: 9, typ: 5 })
        );
        for bad in [
            "",
            "User-Name",
            "Vendor-Specific:x:1",
            "Vendor-Specific:9:300",
        ] {
            assert_eq!(AddressAttribute::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn first_valid_value_in_configured_order_wins() {
        let p = packet(&[
            (attr::CALLING_STATION_ID, b"198.51.100.7"),
            (attr::TUNNEL_CLIENT_ENDPOINT, b"\x00203.0.113.9"),
        ]);
        let both = order(&["Tunnel-Client-Endpt", "Calling-Station-Id"]);
        assert_eq!(
            end_user_address(&p, &both),
            (Some("203.0.113.9".parse().unwrap()), 0)
        );
        let calling = order(&["Calling-Station-Id"]);
        assert_eq!(
            end_user_address(&p, &calling),
            (Some("198.51.100.7".parse().unwrap()), 0)
        );
        assert_eq!(end_user_address(&p, &[]), (None, 0));
    }

    #[test]
    fn anything_but_an_exact_address_is_ignored_and_counted() {
        let both = order(&["Tunnel-Client-Endpt", "Calling-Station-Id"]);
        for bad in [
            &b"90-E7-C4-32-D3-D6"[..],
            b"198.51.100.7:4433",
            b" 198.51.100.7",
            b"[2001:db8::1]",
            b"fe80::1%eth0",
            b"0.0.0.0",
            b"255.255.255.255",
            b"224.0.0.1",
            b"198.51.100.7\0",
            b"\xff\xfe",
            b"",
        ] {
            let p = packet(&[(attr::TUNNEL_CLIENT_ENDPOINT, bad)]);
            assert_eq!(end_user_address(&p, &both), (None, 1), "{bad:?}");
        }
        // An invalid first choice falls through to the next attribute.
        let p = packet(&[
            (attr::TUNNEL_CLIENT_ENDPOINT, b"rdgw.example"),
            (attr::CALLING_STATION_ID, b"2001:db8::7"),
        ]);
        assert_eq!(
            end_user_address(&p, &both),
            (Some("2001:db8::7".parse().unwrap()), 1)
        );
        // IPv4-mapped IPv6 counts as the IPv4 address.
        let p = packet(&[(attr::CALLING_STATION_ID, b"::ffff:198.51.100.8")]);
        assert_eq!(
            end_user_address(&p, &both).0,
            Some("198.51.100.8".parse().unwrap())
        );
    }

    #[test]
    fn binary_and_vendor_attributes() {
        let mut vsa = FORTINET.to_be_bytes().to_vec();
        vsa.extend_from_slice(&[2, 6, 192, 0, 2, 44]);
        let p = packet(&[
            (attr::FRAMED_IP_ADDRESS, &[10, 1, 2, 3]),
            (attr::VENDOR_SPECIFIC, &vsa),
        ]);
        assert_eq!(
            end_user_address(&p, &order(&["Fortinet-Client-IP-Address"])).0,
            Some("192.0.2.44".parse().unwrap())
        );
        assert_eq!(
            end_user_address(&p, &order(&["Framed-IP-Address"])).0,
            Some("10.1.2.3".parse().unwrap())
        );
        // Another vendor's attribute, or a truncated one, is not it.
        let mut other = 9u32.to_be_bytes().to_vec();
        other.extend_from_slice(&[2, 6, 192, 0, 2, 45]);
        let p = packet(&[
            (attr::VENDOR_SPECIFIC, &other),
            (attr::VENDOR_SPECIFIC, &[0, 0, 0x30, 0x44, 2, 9, 1]),
            (attr::FRAMED_IP_ADDRESS, &[10, 1, 2]),
        ]);
        let all = order(&["Fortinet-Client-IP-Address", "Framed-IP-Address"]);
        assert_eq!(end_user_address(&p, &all), (None, 1));
    }
}
