//! The org admin's tools on a person's page (issue 16): every device with its kind, label,
//! serial, state and last use; a "Resync" form under each HOTP token (two consecutive
//! codes; a refusal is shown on that form with what was typed); the person's recent logins
//! and lockout state. Read and changed through `service::admin_tools`, which checks the
//! actor's organisation and audits.

use crate::audit::Outcome;
use crate::i18n::Arg;
use crate::model::{Device, DeviceId, DeviceKind, DeviceState, PersonId, UnixTime};
use crate::otp::OtpKind;
use crate::service::admin_tools::{CODES_REFUSED, NOT_RESYNCABLE, PersonActivity, USED_MEANWHILE};
use crate::service::{Refusal, ServiceError};
use crate::web::WebState;
use crate::web::admin::Admin;
use crate::web::admin::pages::PersonField;
use crate::web::admin::templates::{ActivityView, DeviceRow, LoginRow, ResyncView};
use crate::web::extract::{Action, csrf_form};
use crate::web::templates::Ctx;
use axum::extract::{Path, State};
use axum::http::StatusCode;
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

csrf_form!(ResyncForm);

impl std::fmt::Debug for ResyncForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResyncForm").finish_non_exhaustive()
    }
}

/// What the person's page adds: a refused resync (which device, what was typed, why) or
/// the notice after one that worked.
#[derive(Debug, Default)]
pub struct Tools<'a> {
    pub refused: Option<(DeviceId, &'a ResyncForm, &'a Refusal)>,
    pub resynced: Option<DeviceId>,
}

/// POST /admin/people/{id}/devices/{device}/resync
pub(in crate::web) async fn resync(
    State(state): State<WebState>,
    Path((id, device)): Path<(PersonId, DeviceId)>,
    Action { me: a, form }: Action<ResyncForm, Admin>,
) -> Response {
    match state
        .gateway
        .admin_resync(&a.actor, id, device, &form.first, &form.second, a.c.now)
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
        Err(ServiceError::Refused(text)) if text.key() == NOT_RESYNCABLE => {
            let tools = Tools::default();
            let error = (refusal(&a.ctx, &text), PersonField::None);
            crate::web::admin::render_person_with(&state, &a, id, None, Some(error), &tools).await
        }
        Err(ServiceError::Refused(text)) => {
            let tools = Tools {
                refused: Some((device, &form, &text)),
                resynced: None,
            };
            crate::web::admin::render_person_with(&state, &a, id, None, None, &tools).await
        }
        Err(e) => a.failure(&e),
    }
}

/// A refusal of the service in the page's language: the ones this module's tools give
/// have the admin pages' own words; any other is the service's.
pub(crate) fn refusal(ctx: &Ctx, refusal: &Refusal) -> String {
    match refusal.key() {
        NOT_RESYNCABLE => ctx.t("admin-resync-not-resyncable"),
        CODES_REFUSED => ctx.t("admin-resync-codes-refused"),
        USED_MEANWHILE => ctx.t("admin-resync-used-meanwhile"),
        _ => ctx.said(refusal),
    }
}

fn kind(ctx: &Ctx, d: &Device) -> String {
    match d.kind {
        DeviceKind::PhoneTotp => ctx.t("admin-device-kind-phone"),
        DeviceKind::HardwareToken => ctx.ta(
            "admin-device-kind-token",
            &[(
                "otp",
                match d.otp.kind {
                    OtpKind::Hotp => "HOTP",
                    OtpKind::Totp { .. } => "TOTP",
                }
                .into(),
            )],
        ),
        DeviceKind::SecurityKey => ctx.t("admin-device-kind-key"),
        DeviceKind::PushSubscription => ctx.t("admin-device-kind-push"),
    }
}

fn device_state(ctx: &Ctx, s: DeviceState) -> String {
    ctx.t(match s {
        DeviceState::Active => "admin-device-state-active",
        DeviceState::Disabled => "admin-device-state-disabled",
        DeviceState::InStock => "admin-device-state-in-stock",
        DeviceState::Removed => "admin-device-state-removed",
    })
}

fn is_resyncable(d: &Device) -> bool {
    d.otp.kind == OtpKind::Hotp
        && d.state == DeviceState::Active
        && matches!(d.kind, DeviceKind::HardwareToken)
}

/// The devices table's lines: one per linked device, a resync form under each HOTP token
/// (with what was typed and why it was refused, or the notice that it worked).
pub(crate) fn device_rows(ctx: &Ctx, devices: &[Device], tools: &Tools<'_>) -> Vec<DeviceRow> {
    devices
        .iter()
        .filter(|d| matches!(d.state, DeviceState::Active | DeviceState::Disabled))
        .map(|d| {
            let resync = is_resyncable(d).then(|| {
                let refused = tools.refused.filter(|(id, _, _)| *id == d.id);
                ResyncView {
                    legend: ctx.ta("admin-resync-legend", &[("label", d.label.as_str().into())]),
                    first: refused.map(|(_, f, _)| f.first.clone()).unwrap_or_default(),
                    second: refused
                        .map(|(_, f, _)| f.second.clone())
                        .unwrap_or_default(),
                    error: refused.map(|(_, _, text)| refusal(ctx, text)),
                    done: tools.resynced == Some(d.id),
                }
            });
            DeviceRow {
                id: d.id,
                label: d.label.clone(),
                kind: kind(ctx, d),
                serial: d.serial.clone().unwrap_or_else(|| "-".into()),
                state: device_state(ctx, d.state),
                added: d.created_at,
                used: d.last_used_at,
                resync,
            }
        })
        .collect()
}

fn outcome(ctx: &Ctx, o: Outcome) -> String {
    ctx.t(match o {
        Outcome::Accept => "admin-outcome-accept",
        Outcome::Reject => "admin-outcome-reject",
        Outcome::Challenge => "admin-outcome-challenge",
        Outcome::Done => "admin-outcome-done",
        Outcome::Failed => "admin-outcome-failed",
    })
}

/// Lockout state and the recent logins, in words.
pub(crate) fn activity(ctx: &Ctx, a: &PersonActivity, t: UnixTime) -> ActivityView {
    let throttled: Vec<String> = a
        .throttled(t)
        .map(|f| {
            ctx.ta(
                "admin-lockout-throttled-source",
                &[
                    ("source", f.source.as_str().into()),
                    ("until", ctx.when(&f.blocked_until.unwrap_or(t)).into()),
                    (
                        "failures",
                        Arg::Number(i64::try_from(f.failures).unwrap_or(i64::MAX)),
                    ),
                ],
            )
        })
        .collect();
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    ActivityView {
        failures: ctx.ta(
            "admin-lockout-failures",
            &[("failures", Arg::Number(i64::from(a.failed_logins)))],
        ),
        locked: match a.locked_until {
            Some(until) => ctx.ta(
                "admin-lockout-locked",
                &[("until", ctx.when(&until).into())],
            ),
            None => ctx.t("admin-lockout-not-locked"),
        },
        blocked: match a.blocked_at {
            Some(at) => ctx.ta("admin-lockout-blocked", &[("since", ctx.when(&at).into())]),
            None => ctx.t("admin-lockout-not-blocked"),
        },
        throttled: if throttled.is_empty() {
            ctx.t("admin-lockout-not-throttled")
        } else {
            ctx.ta(
                "admin-lockout-throttled",
                &[("sources", throttled.join("; ").into())],
            )
        },
        caption: ctx.ta(
            "admin-signins-caption",
            &[(
                "count",
                Arg::Number(i64::try_from(a.logins.len()).unwrap_or(i64::MAX)),
            )],
        ),
        logins: a
            .logins
            .iter()
            .map(|e| {
                let ev = &e.event;
                LoginRow {
                    time: ev.time,
                    outcome_code: ev.outcome.as_str(),
                    outcome: outcome(ctx, ev.outcome),
                    reason: dash(&ev.reason),
                    channel: ev.channel.as_str().to_owned(),
                    client: dash(&ev.client),
                    source: dash(&ev.source),
                    device: dash(&ev.device_label),
                }
            })
            .collect(),
    }
}
