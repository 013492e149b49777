//! RADIUS Accounting (RFC 2866) on the gateway's side: each verified Accounting-Request
//! becomes an audit event (`accounting_start`, `accounting_stop`, `accounting_interim`,
//! `accounting_nas`: person, session id, NAS, end-user address, duration) and a change to
//! the session table, in one transaction; only then does the Accounting-Response go. The
//! username is mapped as for logins (`PRAKTIJK\ann` -> `ann`). Accounting never counts as a
//! login: no `login_attempt` event, no decision metric, its own RADIUS counters.

use crate::audit::{AuditEvent, Channel, EventKind, Outcome};
use crate::model::UnixTime;
use crate::service::Gateway;
use crate::store::{SessionChange, SessionRecord};
use mfa_radius::{AccountingDecision, AccountingRequest, AccountingStatus};

/// The metric counting accounting requests recorded, by status.
pub const ACCOUNTING_RECORDED: &str = "mfa_radius_accounting_recorded_total";

/// Records one Accounting-Request; `Drop` (no answer, the NAS sends it again) when the store
/// cannot write it. `username` is the stored username it maps to.
pub async fn record(
    gateway: &Gateway,
    req: &AccountingRequest,
    username: Option<String>,
    now: UnixTime,
) -> AccountingDecision {
    let person = match &username {
        Some(u) => match gateway
            .resolve_login_name(Channel::Radius, Some(&req.client.name), u)
            .await
        {
            Ok(crate::store::NameMatch::Found(p)) => Some(p),
            Ok(_) => None,
            Err(e) => {
                tracing::error!(error = %e, "accounting: store unreachable; not answered");
                return AccountingDecision::Drop;
            }
        },
        None => None,
    };
    let nas = req.source.ip().to_canonical();
    let source = req.end_user_address.unwrap_or(nas);
    let kind = match req.status {
        AccountingStatus::Start => EventKind::AccountingStart,
        AccountingStatus::Stop => EventKind::AccountingStop,
        AccountingStatus::Interim => EventKind::AccountingInterim,
        AccountingStatus::AccountingOn
        | AccountingStatus::AccountingOff
        | AccountingStatus::Other(_) => EventKind::AccountingNas,
    };
    let mut detail = serde_json::json!({
        "status": req.status.as_str(),
        "nas": nas.to_string(),
    });
    let mut put = |k: &str, v: serde_json::Value| {
        if let Some(map) = detail.as_object_mut() {
            map.insert(k.to_owned(), v);
        }
    };
    if let Some(id) = &req.session_id {
        put("session_id", id.clone().into());
    }
    if let Some(t) = req.session_time {
        put("duration_seconds", t.into());
    }
    if let Some(c) = req.terminate_cause {
        put("terminate_cause", c.into());
    }
    if let Some(n) = &req.nas_identifier {
        put("nas_identifier", n.clone().into());
    }
    if let Some(ip) = req.nas_ip {
        put("nas_ip", ip.to_string().into());
    }
    if let Some(ip) = req.framed_ip {
        put("framed_ip", ip.to_string().into());
    }
    if let Some((i, o)) = req.octets {
        put("input_octets", i.into());
        put("output_octets", o.into());
    }
    if let AccountingStatus::Other(v) = req.status {
        put("status_value", v.into());
    }
    if let (Some(typed), Some(mapped)) = (&req.username, &username)
        && typed != mapped
    {
        put("typed_username", typed.clone().into());
    }
    let event = AuditEvent {
        time: now,
        kind,
        actor: format!("radius:{}", req.client.name),
        person_id: person.as_ref().map(|p| p.id),
        username: person
            .as_ref()
            .map(|p| p.username.clone())
            .or_else(|| req.username.clone()),
        org_id: person.as_ref().map(|p| p.org_id),
        channel: Channel::Radius,
        client: Some(req.client.name.clone()),
        source: Some(source.to_string()),
        device_id: None,
        device_label: None,
        outcome: Outcome::Done,
        reason: None,
        request_id: None,
        detail: Some(detail),
    };
    let record = |time| SessionRecord {
        client: req.client.name.clone(),
        nas: nas.to_string(),
        session_id: req.session_id.clone().unwrap_or_default(),
        person_id: person.as_ref().map(|p| p.id),
        username: req.username.clone(),
        nas_ip: req.nas_ip.map(|ip| ip.to_string()),
        nas_identifier: req.nas_identifier.clone(),
        end_user_address: req.end_user_address.map(|ip| ip.to_string()),
        calling_station_id: req.calling_station_id.clone(),
        time,
    };
    let change = match req.status {
        AccountingStatus::Start | AccountingStatus::Interim => SessionChange::Open(record(now)),
        AccountingStatus::Stop => SessionChange::Close(record(now)),
        AccountingStatus::AccountingOn | AccountingStatus::AccountingOff => {
            SessionChange::NasRestart {
                client: req.client.name.clone(),
                nas: nas.to_string(),
                time: now,
            }
        }
        AccountingStatus::Other(_) => SessionChange::None,
    };
    match gateway.store().record_accounting(&change, &event).await {
        Ok(()) => {
            metrics::counter!(ACCOUNTING_RECORDED, "status" => req.status.as_str()).increment(1);
            AccountingDecision::Recorded
        }
        Err(e) => {
            tracing::error!(error = %e, "accounting: not recorded; not answered");
            AccountingDecision::Drop
        }
    }
}
