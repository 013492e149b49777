//! The org admin's tools on a person's page (issue 16): every device with its kind, label,
//! serial, state and last use; a "Resync" form under each HOTP token (two consecutive
//! codes; a refusal is shown on that form with what was typed); the person's recent logins
//! and lockout state. Read and changed through `service::admin_tools`, which checks the
//! actor's organisation and audits.

use super::WebState;
use super::admin::{admin, failure};
use super::admin_pages::{csrf_field, when};
use super::login::Peer;
use super::pages::esc;
use crate::model::{Device, DeviceId, DeviceKind, DeviceState, PersonId, UnixTime, now};
use crate::otp::OtpKind;
use crate::service::ServiceError;
use crate::service::admin_tools::{NOT_RESYNCABLE, PersonActivity};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// The resync form's fields. The codes are one-time codes the token already showed: kept
/// on the page after a refusal (as typed), never logged.
#[derive(Deserialize, Default)]
pub struct ResyncForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    first: String,
    #[serde(default)]
    second: String,
}

impl std::fmt::Debug for ResyncForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResyncForm").finish_non_exhaustive()
    }
}

/// What the person's page adds: a refused resync (which device, what was typed, why) or
/// the notice after one that worked.
#[derive(Debug, Default)]
pub struct Tools<'a> {
    pub refused: Option<(DeviceId, &'a ResyncForm, &'a str)>,
    pub resynced: Option<DeviceId>,
}

/// POST /admin/people/{id}/devices/{device}/resync
pub(super) async fn resync(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path((id, device)): Path<(PersonId, DeviceId)>,
    Form(form): Form<ResyncForm>,
) -> Response {
    let a = match admin(&state, peer, &headers, Some(&form.csrf)).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match state
        .gateway
        .admin_resync(&a.actor, id, device, &form.first, &form.second, now())
        .await
    {
        Ok(_) => (
            StatusCode::SEE_OTHER,
            [(
                axum::http::header::LOCATION,
                format!("/admin/people/{id}?resynced={device}"),
            )],
        )
            .into_response(),
        // A device with no resync form (a phone, a disabled token): said at the top.
        Err(ServiceError::Invalid(text)) if text == NOT_RESYNCABLE => {
            let tools = Tools::default();
            super::admin::render_person_with(&state, &a, id, None, Some(&text), &tools).await
        }
        Err(ServiceError::Invalid(text)) => {
            let tools = Tools {
                refused: Some((device, &form, &text)),
                resynced: None,
            };
            super::admin::render_person_with(&state, &a, id, None, None, &tools).await
        }
        Err(e) => failure(&e),
    }
}

fn kind(d: &Device) -> String {
    let otp = match d.otp.kind {
        OtpKind::Hotp => "HOTP",
        OtpKind::Totp { .. } => "TOTP",
    };
    match d.kind {
        DeviceKind::PhoneTotp => "phone app (TOTP)".to_owned(),
        DeviceKind::HardwareToken => format!("hardware token ({otp})"),
        DeviceKind::SecurityKey => "security key".to_owned(),
        DeviceKind::PushSubscription => "sign-in requests (push)".to_owned(),
    }
}

fn is_resyncable(d: &Device) -> bool {
    d.otp.kind == OtpKind::Hotp
        && d.state == DeviceState::Active
        && matches!(d.kind, DeviceKind::HardwareToken)
}

/// The devices table: one row per linked device, a resync form under each HOTP token.
pub(super) fn devices(
    csrf: &str,
    person: PersonId,
    devices: &[Device],
    tools: &Tools<'_>,
) -> String {
    let csrf = csrf_field(csrf);
    let mut rows = String::new();
    for d in devices
        .iter()
        .filter(|d| matches!(d.state, DeviceState::Active | DeviceState::Disabled))
    {
        rows.push_str(&format!(
            r#"<tr id="device-{id}"><td>{label}</td><td>{kind}</td><td class="serial">{serial}</td><td>{state}</td><td>{added}</td><td class="last-used">{used}</td></tr>"#,
            id = d.id,
            label = esc(&d.label),
            kind = esc(&kind(d)),
            serial = esc(d.serial.as_deref().unwrap_or("-")),
            state = d.state.as_str(),
            added = when(d.created_at),
            used = d.last_used_at.map_or_else(|| "never".to_owned(), when),
        ));
        if !is_resyncable(d) {
            continue;
        }
        let refused = tools.refused.filter(|(id, _, _)| *id == d.id);
        let (first, second, error) = refused.map_or(("", "", String::new()), |(_, f, text)| {
            (
                f.first.as_str(),
                f.second.as_str(),
                format!(
                    r#"<p class="error" role="alert" id="resync-error-{}">{}</p>"#,
                    d.id,
                    esc(text)
                ),
            )
        });
        let notice = if tools.resynced == Some(d.id) {
            format!(
                r#"<p class="notice" role="status" id="resync-done-{}">Resynchronised: the token's next code is accepted again.</p>"#,
                d.id
            )
        } else {
            String::new()
        };
        rows.push_str(&format!(
            r#"<tr class="resync"><td colspan="6">{notice}<form method="post" action="/admin/people/{person}/devices/{id}/resync" id="resync-{id}">{csrf}{error}
<fieldset><legend>Resync {label}: press its button twice and type both codes, the older first</legend>
<label for="first-{id}">First code</label>
<input type="text" id="first-{id}" name="first" inputmode="numeric" autocomplete="off" maxlength="12" value="{first}"{invalid}>
<label for="second-{id}">Next code</label>
<input type="text" id="second-{id}" name="second" inputmode="numeric" autocomplete="off" maxlength="12" value="{second}"{invalid}>
<button type="submit" class="secondary" id="resync-button-{id}">Resync</button>
</fieldset></form></td></tr>"#,
            id = d.id,
            label = esc(&d.label),
            first = esc(first),
            second = esc(second),
            invalid = if refused.is_some() {
                r#" aria-invalid="true""#
            } else {
                ""
            },
        ));
    }
    format!(
        r#"<table id="devices"><thead><tr><th>Name</th><th>Kind</th><th>Serial</th><th>State</th><th>Added</th><th>Last used</th></tr></thead><tbody>{rows}</tbody></table>"#
    )
}

/// Lockout state and the recent logins.
pub(super) fn activity(a: &PersonActivity, t: UnixTime) -> String {
    let mut state = String::new();
    state.push_str(&format!(
        r#"<li id="lockout-failures">Wrong codes since the last sign-in: {}</li>"#,
        a.failed_logins
    ));
    state.push_str(&match a.locked_until {
        Some(until) => format!(
            r#"<li id="lockout-locked">Locked until {}</li>"#,
            esc(&when(until))
        ),
        None => r#"<li id="lockout-locked">Not locked</li>"#.to_owned(),
    });
    state.push_str(&match a.blocked_at {
        Some(at) => format!(
            r#"<li id="lockout-blocked">Blocked since {}</li>"#,
            esc(&when(at))
        ),
        None => r#"<li id="lockout-blocked">Not blocked</li>"#.to_owned(),
    });
    let throttled: Vec<String> = a
        .throttled(t)
        .map(|f| {
            format!(
                "{} until {} ({} wrong passwords)",
                esc(&f.source),
                esc(&when(f.blocked_until.unwrap_or(t))),
                f.failures
            )
        })
        .collect();
    state.push_str(&if throttled.is_empty() {
        r#"<li id="lockout-throttled">No source is throttled for wrong passwords</li>"#.to_owned()
    } else {
        format!(
            r#"<li id="lockout-throttled">Throttled for wrong passwords: {}</li>"#,
            throttled.join("; ")
        )
    });
    let mut rows = String::new();
    for e in &a.logins {
        let ev = &e.event;
        let opt = |v: &Option<String>| esc(v.as_deref().unwrap_or("-"));
        rows.push_str(&format!(
            r#"<tr><td>{time}</td><td class="outcome-{outcome}">{outcome}</td><td>{reason}</td><td>{channel}</td><td>{client}</td><td>{source}</td><td>{device}</td></tr>"#,
            time = esc(&when(ev.time)),
            outcome = ev.outcome.as_str(),
            reason = opt(&ev.reason),
            channel = ev.channel.as_str(),
            client = opt(&ev.client),
            source = opt(&ev.source),
            device = opt(&ev.device_label),
        ));
    }
    let logins = if rows.is_empty() {
        r#"<p id="recent-logins">No sign-in attempts yet.</p>"#.to_owned()
    } else {
        format!(
            r#"<table id="recent-logins"><caption>The last {n} sign-in attempts, newest first</caption><thead><tr><th>Time</th><th>Outcome</th><th>Reason</th><th>Channel</th><th>Client</th><th>Source</th><th>Device</th></tr></thead><tbody>{rows}</tbody></table>"#,
            n = a.logins.len()
        )
    };
    format!(
        r#"<h2>Sign-ins</h2>
<ul id="lockout">{state}</ul>
{logins}"#
    )
}
