//! Building signed responses. Every response starts with a Message-Authenticator (the
//! BlastRADIUS mitigation), copies the request's Proxy-State attributes in order (RFC 2865
//! section 5.33), and is signed with the Request Authenticator it answers.

use std::fmt;

use crate::auth::{SharedSecret, sign_response};
use crate::clients::ClientConfig;
use crate::packet::{Code, MAX_ATTRIBUTE_VALUE_LEN, Packet, attr};
use crate::request::Decision;
use crate::stats::Counter;

/// What is needed to answer a request once the policy has decided.
#[derive(Clone)]
pub(crate) struct Reply {
    identifier: u8,
    request_authenticator: [u8; 16],
    proxy_states: Vec<Vec<u8>>,
    secret: SharedSecret,
    class: Option<Vec<u8>>,
    session_timeout: Option<u32>,
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("identifier", &self.identifier)
            .field("proxy_states", &self.proxy_states.len())
            .finish_non_exhaustive()
    }
}

impl Reply {
    pub(crate) fn new(request: &Packet, client: &ClientConfig, secret: SharedSecret) -> Self {
        Reply {
            identifier: request.identifier,
            request_authenticator: request.authenticator,
            proxy_states: request.all(attr::PROXY_STATE).map(<[u8]>::to_vec).collect(),
            secret,
            class: client.class.clone(),
            session_timeout: client.session_timeout,
        }
    }

    /// The signed response for `decision` and the counter it adds to. If the decision
    /// cannot be encoded (a Reply-Message or State too long for one packet), a plain
    /// Access-Reject is sent instead. `None` only if not even that fits.
    pub(crate) fn build(&self, decision: &Decision) -> Option<(Vec<u8>, Counter)> {
        let mut attrs: Vec<(u8, Vec<u8>)> = Vec::new();
        let (code, counter) = match decision {
            Decision::Accept { reply_message } => {
                push_reply_message(&mut attrs, reply_message.as_deref());
                if let Some(class) = &self.class {
                    attrs.push((attr::CLASS, class.clone()));
                }
                if let Some(timeout) = self.session_timeout {
                    attrs.push((attr::SESSION_TIMEOUT, timeout.to_be_bytes().to_vec()));
                }
                (Code::ACCESS_ACCEPT, Counter::Accepts)
            }
            Decision::Reject { reply_message } => {
                push_reply_message(&mut attrs, reply_message.as_deref());
                (Code::ACCESS_REJECT, Counter::Rejects)
            }
            Decision::Challenge {
                state,
                reply_message,
                session_timeout,
            } => {
                push_reply_message(&mut attrs, Some(reply_message));
                attrs.push((attr::STATE, state.clone()));
                if let Some(timeout) = session_timeout {
                    attrs.push((attr::SESSION_TIMEOUT, timeout.to_be_bytes().to_vec()));
                }
                (Code::ACCESS_CHALLENGE, Counter::Challenges)
            }
            // Nothing to send: the caller counts the drop.
            Decision::Drop => return None,
        };
        if let Some(bytes) = self.sign(code, attrs) {
            return Some((bytes, counter));
        }
        tracing::error!(%code, "response does not fit in a RADIUS packet: sending Access-Reject");
        self.reject().map(|bytes| (bytes, Counter::Rejects))
    }

    /// A plain Access-Reject.
    pub(crate) fn reject(&self) -> Option<Vec<u8>> {
        self.sign(Code::ACCESS_REJECT, Vec::new())
    }

    /// An Accounting-Response (RFC 2866 section 4.2). It carries no Message-Authenticator:
    /// the Response Authenticator covers it, and implementations disagree on which
    /// authenticator such a Message-Authenticator would be computed with (FreeRADIUS zeroes
    /// it for Accounting-Response, unlike for Access answers).
    pub(crate) fn accounting_response(&self) -> Option<Vec<u8>> {
        self.sign_with(Code::ACCOUNTING_RESPONSE, Vec::new(), false)
    }

    /// The Accounting-Response answering a Status-Server on an accounting port (RFC 5997
    /// section 4), with a Message-Authenticator like every answer to Status-Server.
    pub(crate) fn status_server_accounting(&self) -> Option<Vec<u8>> {
        self.sign(Code::ACCOUNTING_RESPONSE, Vec::new())
    }

    /// The Access-Accept answering a Status-Server (RFC 5997 section 3).
    pub(crate) fn status_server(&self) -> Option<Vec<u8>> {
        self.sign(Code::ACCESS_ACCEPT, Vec::new())
    }

    fn sign(&self, code: Code, attrs: Vec<(u8, Vec<u8>)>) -> Option<Vec<u8>> {
        self.sign_with(code, attrs, true)
    }

    fn sign_with(
        &self,
        code: Code,
        attrs: Vec<(u8, Vec<u8>)>,
        message_authenticator: bool,
    ) -> Option<Vec<u8>> {
        if attrs
            .iter()
            .any(|(typ, v)| *typ == attr::STATE && v.is_empty())
        {
            return None;
        }
        let mut packet = Packet::new(code, self.identifier, self.request_authenticator);
        if message_authenticator {
            packet.push(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
        }
        for (typ, value) in attrs {
            packet.push(typ, value);
        }
        for state in &self.proxy_states {
            packet.push(attr::PROXY_STATE, state.clone());
        }
        sign_response(&mut packet, &self.request_authenticator, &self.secret).ok()
    }
}

/// Splits `message` into Reply-Message attributes of at most 253 octets, at character
/// boundaries (RFC 2865 5.18: several are shown concatenated).
fn push_reply_message(attrs: &mut Vec<(u8, Vec<u8>)>, message: Option<&str>) {
    let Some(mut rest) = message else { return };
    while !rest.is_empty() {
        let mut cut = rest.len().min(MAX_ATTRIBUTE_VALUE_LEN);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        attrs.push((attr::REPLY_MESSAGE, head.as_bytes().to_vec()));
        rest = tail;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::auth::{
        MessageAuthenticatorCheck, check_response_message_authenticator,
        verify_response_authenticator,
    };

    fn request() -> Packet {
        let mut p = Packet::new(Code::ACCESS_REQUEST, 42, [7; 16]);
        p.push(attr::PROXY_STATE, b"first".to_vec());
        p.push(attr::USER_NAME, b"alice".to_vec());
        p.push(attr::PROXY_STATE, b"second".to_vec());
        p
    }

    fn reply() -> (Reply, SharedSecret) {
        let secret = SharedSecret::from("s3cret");
        let mut client = ClientConfig::new("c", "10.0.0.0/8".parse().unwrap(), secret.clone());
        client.class = Some(b"grp".to_vec());
        client.session_timeout = Some(3600);
        (Reply::new(&request(), &client, secret.clone()), secret)
    }

    fn check(bytes: &[u8], secret: &SharedSecret) -> Packet {
        assert!(verify_response_authenticator(bytes, &[7; 16], secret));
        let packet = Packet::decode(bytes).unwrap();
        assert_eq!(packet.identifier, 42);
        assert_eq!(packet.attributes[0].typ, attr::MESSAGE_AUTHENTICATOR);
        assert_eq!(
            check_response_message_authenticator(&packet, &[7; 16], secret),
            MessageAuthenticatorCheck::Valid
        );
        let states: Vec<_> = packet.all(attr::PROXY_STATE).collect();
        assert_eq!(states, [&b"first"[..], b"second"]);
        packet
    }

    #[test]
    fn accept_carries_class_timeout_and_message() {
        let (reply, secret) = reply();
        let decision = Decision::Accept {
            reply_message: Some("welcome".into()),
        };
        let (bytes, counter) = reply.build(&decision).unwrap();
        assert_eq!(counter, Counter::Accepts);
        let packet = check(&bytes, &secret);
        assert_eq!(packet.code, Code::ACCESS_ACCEPT);
        assert_eq!(packet.first(attr::REPLY_MESSAGE), Some(&b"welcome"[..]));
        assert_eq!(packet.first(attr::CLASS), Some(&b"grp"[..]));
        assert_eq!(
            packet.first(attr::SESSION_TIMEOUT),
            Some(&3600u32.to_be_bytes()[..])
        );
    }

    #[test]
    fn challenge_carries_state_and_long_prompt_split() {
        let (reply, secret) = reply();
        let prompt = "é".repeat(200); // 400 octets, two-octet characters
        let decision = Decision::Challenge {
            state: b"st".to_vec(),
            reply_message: prompt.clone(),
            session_timeout: Some(60),
        };
        let (bytes, counter) = reply.build(&decision).unwrap();
        assert_eq!(counter, Counter::Challenges);
        let packet = check(&bytes, &secret);
        assert_eq!(packet.code, Code::ACCESS_CHALLENGE);
        assert_eq!(packet.first(attr::STATE), Some(&b"st"[..]));
        assert_eq!(packet.first(attr::CLASS), None);
        let parts: Vec<u8> = packet.all(attr::REPLY_MESSAGE).flatten().copied().collect();
        assert_eq!(parts, prompt.as_bytes());
        assert!(
            packet
                .all(attr::REPLY_MESSAGE)
                .all(|p| std::str::from_utf8(p).is_ok())
        );
    }

    #[test]
    fn oversized_or_invalid_decisions_fall_back_to_reject() {
        let (reply, secret) = reply();
        let huge = Decision::Accept {
            reply_message: Some("x".repeat(5000)),
        };
        let (bytes, counter) = reply.build(&huge).unwrap();
        assert_eq!(counter, Counter::Rejects);
        assert_eq!(check(&bytes, &secret).code, Code::ACCESS_REJECT);
        for state in [Vec::new(), vec![0; 254]] {
            let bad = Decision::Challenge {
                state,
                reply_message: "code?".into(),
                session_timeout: None,
            };
            assert_eq!(reply.build(&bad).unwrap().1, Counter::Rejects);
        }
    }
}
