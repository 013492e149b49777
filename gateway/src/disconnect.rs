//! Disconnect on block (RFC 5176): when a person is removed, disabled or blocked, every
//! session of theirs that accounting says is open gets a Disconnect-Request, sent to the
//! NAS it came from if that client has `disconnect = true` (port 3799 unless configured,
//! its own secret, a Message-Authenticator). The ACK, the NAK (with its Error-Cause) or the
//! silence is audited (`disconnect_sent`: done, reject, failed).
//!
//! The trigger is the audit trail itself: a task follows the committed events (as the SIEM
//! export does) and acts on `person_removed`, `person_disabled` and `person_blocked`, so
//! every path that changes a person's state (CLI, admin pages, the life-cycle API, leavers
//! applied on their date) is covered without each calling in here.

use crate::audit::{AuditEvent, Channel, EventKind, Outcome};
use crate::model::{PersonId, now};
use crate::radius_field::ClientField;
use crate::store::{OpenSession, Store};
use mfa_radius::dynauth::{self, Disconnect, DisconnectAnswer};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Sends per Disconnect-Request, and the wait for an answer after each.
const TRIES: u32 = 3;
const WAIT: Duration = Duration::from_secs(2);
/// The event kinds that end a person's sessions (`person_blocked`: the admin pages' block).
const TRIGGERS: [&str; 3] = ["person_removed", "person_disabled", "person_blocked"];

/// Follows the audit trail from its current end until `stop`, disconnecting the sessions
/// of every person removed, disabled or blocked. Off when no client has `disconnect = true`.
pub async fn run(
    store: Arc<dyn Store>,
    clients: HashMap<String, ClientField>,
    stop: CancellationToken,
) {
    if clients.values().all(|c| c.disconnect.is_none()) {
        return;
    }
    let (store, clients) = (store.as_ref(), &clients);
    crate::audit_follow::follow(store, "disconnect", stop, |e| async move {
        if TRIGGERS.contains(&e.kind.as_str())
            && let Some(person) = e.person_id
        {
            disconnect_person(store, clients, person, &e).await;
        }
    })
    .await;
}

/// Sends a Disconnect-Request for each open session of `person`; audits each answer.
pub async fn disconnect_person(
    store: &dyn Store,
    clients: &HashMap<String, ClientField>,
    person: PersonId,
    cause: &AuditEvent,
) {
    let sessions = match store.open_sessions(person).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, person, "disconnect: cannot read open sessions");
            return;
        }
    };
    for session in sessions {
        let Some(target) = clients
            .get(&session.client)
            .and_then(|c| c.disconnect.as_ref())
        else {
            continue;
        };
        let Ok(nas) = session.nas.parse::<IpAddr>() else {
            continue;
        };
        let to = SocketAddr::new(nas, target.port);
        let answer = send(&session, to, &target.secret).await;
        let (outcome, reason, error_cause) = match &answer {
            Ok(DisconnectAnswer::Ack) => (Outcome::Done, None, None),
            Ok(DisconnectAnswer::Nak { error_cause }) => {
                (Outcome::Reject, Some("nak"), *error_cause)
            }
            Err(_) => (Outcome::Failed, Some("no_answer"), None),
        };
        let mut event = AuditEvent::admin(now(), EventKind::DisconnectSent, "system");
        event.channel = Channel::Radius;
        event.person_id = Some(person);
        event.username = cause.username.clone();
        event.org_id = cause.org_id;
        event.client = Some(session.client.clone());
        event.outcome = outcome;
        event.reason = reason.map(str::to_owned);
        event.detail = Some(serde_json::json!({
            "session_id": session.session_id,
            "nas": session.nas,
            "port": target.port,
            "cause": cause.kind.as_str(),
            "error_cause": error_cause,
        }));
        if let Err(e) = store.append_event(&event).await {
            tracing::error!(error = %e, "disconnect: audit write failed");
        }
    }
}

async fn send(
    session: &OpenSession,
    to: SocketAddr,
    secret: &mfa_radius::SharedSecret,
) -> Result<DisconnectAnswer, dynauth::DisconnectError> {
    let bind: SocketAddr = if to.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))
    };
    let socket = tokio::net::UdpSocket::bind(bind).await?;
    let request = Disconnect {
        username: session.username.clone(),
        session_id: Some(session.session_id.clone()),
        nas_ip: session.nas_ip.as_deref().and_then(|ip| ip.parse().ok()),
        nas_identifier: session.nas_identifier.clone(),
        calling_station_id: session.calling_station_id.clone(),
        event_timestamp: u32::try_from(now()).unwrap_or(0),
    };
    dynauth::send(&socket, to, &request, secret, TRIES, WAIT).await
}
