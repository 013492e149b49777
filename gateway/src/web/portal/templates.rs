//! The self-service portal's pages on templates (`gateway/templates/portal/`): My devices
//! with its sections (signed-in browsers, remembered browsers, language), adding a phone or
//! a security key, removing a device, recovery codes, My logins, the step-up and "this was
//! not me" pages, and the security key step of the sign-in. Every text comes from the
//! catalogues (`locales/*/portal.ftl`); every value is escaped by the templates.

use crate::audit::{Channel, Outcome, StoredEvent};
use crate::i18n::Arg;
use crate::model::{Device, DeviceId, DeviceKind, DeviceState, UnixTime};
use crate::web::login::remember::RememberedSection;
use crate::web::portal::sso_sessions::SsoSection;
use crate::web::templates::{Ctx, Nav};
use askama::Template;

/// The portal's navigation: My devices, My logins, Sign-in requests, and the sign-out
/// button. `here` is the path of the page (a link to it is marked current).
pub(crate) fn portal_nav(ctx: &Ctx, csrf: &str, here: &str) -> Nav {
    Nav::new(ctx.t("portal-nav-label"))
        .link("/portal", "nav-devices", ctx.t("portal-nav-devices"), here)
        .link(
            "/portal/logins",
            "nav-logins",
            ctx.t("portal-nav-logins"),
            here,
        )
        .link(
            "/portal/approvals",
            "nav-approvals",
            ctx.t("portal-nav-approvals"),
            here,
        )
        .sign_out(ctx, csrf)
}

/// What kind of device it is, in the page's language.
pub(crate) fn kind_text(ctx: &Ctx, d: &Device) -> String {
    match d.kind {
        DeviceKind::PhoneTotp => ctx.t("portal-kind-phone"),
        DeviceKind::HardwareToken => ctx.ta(
            "portal-kind-token",
            &[("serial", d.serial.clone().unwrap_or_default().into())],
        ),
        DeviceKind::SecurityKey => ctx.t("portal-kind-key"),
        DeviceKind::PushSubscription => ctx.t("portal-kind-push"),
    }
}

/// A device's state, in the page's language.
pub(crate) fn state_text(ctx: &Ctx, s: DeviceState) -> String {
    ctx.t(match s {
        DeviceState::Active => "portal-state-active",
        DeviceState::Disabled => "portal-state-disabled",
        DeviceState::InStock => "portal-state-in-stock",
        DeviceState::Removed => "portal-state-removed",
    })
}

/// Which form of My devices was refused, so its fields keep what was typed and are tied to
/// the error.
#[derive(Debug, Clone, Default)]
pub(crate) enum Failed {
    /// No form, or one the error cannot be tied to.
    #[default]
    None,
    Rename(DeviceId),
    Token {
        serial: String,
        label: String,
    },
    Key {
        label: String,
    },
}

/// My devices: each linked device with rename and remove, the signed-in and remembered
/// browsers, the language, then add a phone, a key, a token, recovery codes.
#[derive(Debug, Template)]
#[template(path = "portal/devices.html")]
pub(crate) struct DevicesPage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) nav: Nav,
    pub(crate) name: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) devices: &'a [Device],
    pub(crate) recovery_left: usize,
    pub(crate) error: Option<String>,
    pub(crate) failed: Failed,
    /// The signed-in browsers (`portal/sso_sessions.html`).
    pub(crate) sso: SsoSection<'a>,
    /// The remembered browsers (`portal/remembered.html`).
    pub(crate) remembered: RememberedSection<'a>,
    /// The person's own choice of language (None: their organisation's).
    pub(crate) own_language: Option<crate::i18n::Lang>,
}

impl DevicesPage<'_> {
    fn intro(&self) -> String {
        self.ctx
            .ta("portal-devices-intro", &[("name", self.name.into())])
    }

    fn kind(&self, d: &Device) -> String {
        kind_text(self.ctx, d)
    }

    fn state(&self, d: &Device) -> String {
        state_text(self.ctx, d.state)
    }

    fn own_is(&self, lang: &str) -> bool {
        self.own_language.is_some_and(|l| l.as_str() == lang)
    }

    fn rename_failed(&self, id: &DeviceId) -> bool {
        matches!(self.failed, Failed::Rename(f) if f == *id)
    }

    fn token_failed(&self) -> bool {
        matches!(self.failed, Failed::Token { .. })
    }

    fn key_failed(&self) -> bool {
        matches!(self.failed, Failed::Key { .. })
    }

    fn kept_serial(&self) -> &str {
        match &self.failed {
            Failed::Token { serial, .. } => serial,
            _ => "",
        }
    }

    fn kept_token_label(&self) -> &str {
        match &self.failed {
            Failed::Token { label, .. } => label,
            _ => "",
        }
    }

    fn kept_key_label(&self) -> &str {
        match &self.failed {
            Failed::Key { label } => label,
            _ => "",
        }
    }
}

/// Add a phone: the new secret as a QR code and as text (grouped by four), then its name
/// and a current code.
#[derive(Debug, Template)]
#[template(path = "portal/phone.html")]
pub(crate) struct PhonePage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) nav: Nav,
    pub(crate) csrf: &'a str,
    /// The QR code of the key, drawn as inline SVG.
    pub(crate) qr: &'a crate::web::qr::Qr,
    pub(crate) secret: &'a str,
    /// The name typed, kept on an error.
    pub(crate) label: &'a str,
    pub(crate) error: Option<String>,
}

/// Add a security key: the button that asks the browser for it (needs JavaScript).
#[derive(Debug, Template)]
#[template(path = "portal/add_key.html")]
pub(crate) struct AddKeyPage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) nav: Nav,
    pub(crate) csrf: &'a str,
    pub(crate) label: &'a str,
    pub(crate) options: &'a str,
}

impl AddKeyPage<'_> {
    fn intro(&self) -> String {
        self.ctx
            .ta("portal-key-intro", &[("label", self.label.into())])
    }
}

/// Remove a device: a code from another device, or (`key`: the person has another security
/// key) that key.
#[derive(Debug, Template)]
#[template(path = "portal/remove.html")]
pub(crate) struct RemovePage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) nav: Nav,
    pub(crate) csrf: &'a str,
    pub(crate) device: &'a Device,
    pub(crate) key: bool,
    pub(crate) error: Option<String>,
}

impl RemovePage<'_> {
    fn heading(&self) -> String {
        remove_heading(self.ctx, self.device)
    }
}

fn remove_heading(ctx: &Ctx, device: &Device) -> String {
    ctx.ta(
        "portal-remove-heading",
        &[("label", device.label.as_str().into())],
    )
}

/// Confirm a removal with another security key (needs JavaScript).
#[derive(Debug, Template)]
#[template(path = "portal/remove_key.html")]
pub(crate) struct RemoveKeyPage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) nav: Nav,
    pub(crate) csrf: &'a str,
    pub(crate) device: &'a Device,
    pub(crate) options: &'a str,
}

impl RemoveKeyPage<'_> {
    fn heading(&self) -> String {
        remove_heading(self.ctx, self.device)
    }

    fn action(&self) -> String {
        format!("/portal/devices/{}/remove/key/finish", self.device.id)
    }
}

/// New recovery codes, shown this once.
#[derive(Debug, Template)]
#[template(path = "portal/recovery.html")]
pub(crate) struct RecoveryPage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) nav: Nav,
    pub(crate) codes: &'a [&'a str],
}

/// One row of My logins, every text in the page's language.
#[derive(Debug, Clone)]
pub(crate) struct LoginRow {
    pub(crate) time: UnixTime,
    pub(crate) channel: String,
    pub(crate) client: String,
    pub(crate) source: String,
    pub(crate) device: String,
    pub(crate) outcome: String,
}

impl LoginRow {
    /// The row of a stored login attempt.
    pub(crate) fn of(ctx: &Ctx, e: &StoredEvent) -> Self {
        let e = &e.event;
        let outcome = outcome_text(ctx, e.outcome);
        let mut outcome = match &e.reason {
            Some(r) => ctx.ta(
                "portal-outcome-with-reason",
                &[
                    ("outcome", outcome.into()),
                    ("reason", reason_text(ctx, r).into()),
                ],
            ),
            None => outcome,
        };
        // A code asked for to confirm a change in the portal, not a sign-in.
        if let Some(what) = e
            .detail
            .as_ref()
            .and_then(|d| d.get("confirms"))
            .and_then(|c| c.as_str())
        {
            outcome = ctx.ta(
                "portal-outcome-confirms",
                &[
                    ("outcome", outcome.into()),
                    ("what", confirms_text(ctx, what).into()),
                ],
            );
        }
        Self {
            time: e.time,
            channel: channel_text(ctx, e.channel),
            client: e.client.clone().unwrap_or_default(),
            source: e.source.clone().unwrap_or_default(),
            device: e.device_label.clone().unwrap_or_default(),
            outcome,
        }
    }
}

fn outcome_text(ctx: &Ctx, o: Outcome) -> String {
    ctx.t(match o {
        Outcome::Accept => "portal-outcome-accept",
        Outcome::Reject => "portal-outcome-reject",
        Outcome::Challenge => "portal-outcome-challenge",
        Outcome::Done => "portal-outcome-done",
        Outcome::Failed => "portal-outcome-failed",
    })
}

fn channel_text(ctx: &Ctx, c: Channel) -> String {
    ctx.t(match c {
        Channel::Radius => "portal-channel-radius",
        Channel::Oidc => "portal-channel-oidc",
        Channel::Portal => "portal-channel-portal",
        Channel::Cli => "portal-channel-cli",
        Channel::System => "portal-channel-system",
        Channel::Api => "portal-channel-api",
        Channel::Directory => "portal-channel-directory",
    })
}

/// What a code confirmed (the `confirms` of the attempt's detail).
fn confirms_text(ctx: &Ctx, what: &str) -> String {
    let key = match what {
        "add_phone" => "portal-confirms-add-phone",
        "link_token" => "portal-confirms-link-token",
        "step_up" => "portal-confirms-step-up",
        "remove_device" => "portal-confirms-remove-device",
        "password_reset" => "portal-confirms-password-reset",
        other => return other.replace('_', " "),
    };
    ctx.t(key)
}

/// Why an attempt was refused (`engine::Reason::as_str`), in the page's language; a reason
/// this page does not know yet as written, without underscores.
fn reason_text(ctx: &Ctx, reason: &str) -> String {
    let key = match reason {
        "unknown_user" => "portal-reason-unknown-user",
        "no_password" => "portal-reason-no-password",
        "bad_password" => "portal-reason-bad-password",
        "person_disabled" => "portal-reason-person-disabled",
        "person_removed" => "portal-reason-person-removed",
        "locked_out" => "portal-reason-locked-out",
        "no_device" => "portal-reason-no-device",
        "missing_code" => "portal-reason-missing-code",
        "bad_code" => "portal-reason-bad-code",
        "replayed_code" => "portal-reason-replayed-code",
        "rate_limited" => "portal-reason-rate-limited",
        "overloaded" => "portal-reason-overloaded",
        "challenge_expired" => "portal-reason-challenge-expired",
        "approval_denied" => "portal-reason-approval-denied",
        "approval_timed_out" => "portal-reason-approval-timed-out",
        "approval_not_me" => "portal-reason-approval-not-me",
        "approval_replaced" => "portal-reason-approval-replaced",
        "too_many_prompts" => "portal-reason-too-many-prompts",
        "approvals_locked" => "portal-reason-approvals-locked",
        "bad_key" => "portal-reason-bad-key",
        "password_throttled" => "portal-reason-password-throttled",
        "person_blocked" => "portal-reason-person-blocked",
        "directory_unavailable" | "shared_state_unavailable" => "portal-reason-unavailable",
        "directory_account_disabled" => "portal-reason-directory-disabled",
        "directory_account_locked" => "portal-reason-directory-locked",
        "directory_password_expired" | "directory_password_must_change" => {
            "portal-reason-directory-password"
        }
        "directory_not_in_group" => "portal-reason-directory-not-in-group",
        "factor_not_allowed" => "portal-reason-factor-not-allowed",
        "source_not_allowed" => "portal-reason-source-not-allowed",
        "approvals_not_allowed" => "portal-reason-approvals-not-allowed",
        other => return other.replace('_', " "),
    };
    ctx.t(key)
}

/// My logins: the person's own recent attempts, newest first.
#[derive(Debug, Template)]
#[template(path = "portal/logins.html")]
pub(crate) struct LoginsPage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) nav: Nav,
    pub(crate) rows: Vec<LoginRow>,
}

/// "Confirm it is you": a code from one of the person's current devices before a factor is
/// added; the form posts `action` again with `fields` kept.
#[derive(Debug, Template)]
#[template(path = "portal/step_up.html")]
pub(crate) struct StepUpPage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) csrf: &'a str,
    pub(crate) action: &'a str,
    pub(crate) fields: &'a [(&'a str, &'a str)],
    pub(crate) error: Option<String>,
}

/// "This was not me": confirm disabling the device named in the notice mail.
#[derive(Debug, Template)]
#[template(path = "portal/not_me.html")]
pub(crate) struct NotMePage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) csrf: &'a str,
    pub(crate) action: &'a str,
    pub(crate) label: &'a str,
}

impl NotMePage<'_> {
    fn linked(&self) -> String {
        self.ctx
            .ta("portal-not-me-linked", &[("label", self.label.into())])
    }
}

/// Step two of a sign-in with a security key: press the button, then touch the key.
#[derive(Debug, Template)]
#[template(path = "portal/key_login.html")]
pub(crate) struct KeyLoginPage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) client: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) options: &'a str,
}

impl KeyLoginPage<'_> {
    fn intro(&self) -> String {
        self.ctx
            .ta("key-login-intro", &[("client", Arg::from(self.client))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, EventKind};
    use crate::i18n::Lang;
    use crate::web::templates::render;
    use jiff::tz::TimeZone;

    const HOSTILE: &str = "<script>alert(\"x\")</script> & 'co'";
    const ESCAPED: &str = "&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;co&#39;";

    fn ctx(lang: Lang) -> Ctx {
        Ctx::new(lang, TimeZone::get("Europe/Amsterdam").expect("zone"))
    }

    fn device(id: DeviceId, kind: DeviceKind, label: &str) -> Device {
        Device {
            id,
            uid: "u".into(),
            person_id: Some(1),
            org_id: Some(1),
            kind,
            label: label.into(),
            serial: Some("T<1>".into()),
            manufacturer: None,
            otp: crate::otp::OtpParams::totp_default(),
            sealed_secret: Vec::new(),
            counter: 0,
            last_step: None,
            state: DeviceState::Active,
            created_at: 1_796_480_580,
            last_used_at: None,
        }
    }

    /// The page is whole, in `lang`, and shows the hostile label only escaped.
    fn sound(html: &str, lang: Lang) {
        assert!(
            html.starts_with("<!doctype html>")
                && html.contains(&format!(r#"<html lang="{lang}">"#)),
            "{html}"
        );
        assert!(
            !html.contains("<script>") && !html.contains("alert(\""),
            "{html}"
        );
    }

    fn devices_page(lang: Lang, failed: Failed, error: Option<&str>) -> String {
        let ctx = ctx(lang);
        let devices = [
            device(1, DeviceKind::PhoneTotp, HOSTILE),
            device(2, DeviceKind::HardwareToken, "token"),
        ];
        render(&DevicesPage {
            nav: portal_nav(&ctx, "c\"", "/portal"),
            ctx: &ctx,
            name: "Ann <b>",
            csrf: "c\"",
            devices: &devices,
            recovery_left: 7,
            error: error.map(str::to_owned),
            failed,
            sso: crate::web::portal::sso_sessions::portal_section("c\"", &[], None),
            remembered: RememberedSection {
                csrf: "c\"",
                base: "/portal/browsers".into(),
                browsers: Vec::new(),
                admin: false,
            },
            own_language: Some(Lang::Nl),
        })
        .0
    }

    #[test]
    fn my_devices_in_either_language_escapes_the_labels() {
        let en = devices_page(Lang::En, Failed::None, None);
        sound(&en, Lang::En);
        assert!(
            en.contains("<h1>My devices</h1>") && en.contains("Ann &#60;b&#62;"),
            "{en}"
        );
        assert!(
            en.contains(&format!(r#"<p class="label">{ESCAPED}</p>"#)),
            "{en}"
        );
        assert!(
            en.contains(&format!(r#"name="label" value="{ESCAPED}""#)),
            "{en}"
        );
        for id in [
            "device-1",
            "rename-1",
            "remove-2",
            "label-2",
            "add-phone",
            "add-key",
        ] {
            assert!(en.contains(&format!(r#"id="{id}""#)), "{id}: {en}");
        }
        assert!(
            en.contains("Phone app · active · added <time datetime=\"2026-12-05T14:23:00Z\">"),
            "{en}"
        );
        assert!(
            en.contains("Hardware token T&#60;1&#62;") && en.contains("last used never"),
            "{en}"
        );
        assert!(en.contains(r#"<span id="recovery-left">7</span>"#), "{en}");
        assert!(
            en.contains(r#"<select id="language" name="language">"#),
            "{en}"
        );
        assert!(
            en.contains(r#"<option value="nl" lang="nl" selected>Nederlands</option>"#),
            "{en}"
        );
        assert!(
            en.contains(r#"id="nav-devices" aria-current="page">My devices<"#),
            "{en}"
        );
        assert!(
            en.contains(r#"id="logout""#) && en.contains(r#"value="c&#34;""#),
            "{en}"
        );
        assert!(
            en.contains(r#"<section id="sso-sessions">"#)
                && en.contains(
                    r#"<p id="sso-none">No browser is signed in with single sign-on.</p>"#
                ),
            "{en}"
        );
        assert!(
            en.contains(r#"<p id="no-remembered">"#) && !en.contains("forget-all-browsers"),
            "{en}"
        );
        assert!(
            !en.contains("form-error") && !en.contains("aria-invalid"),
            "{en}"
        );
        let nl = devices_page(Lang::Nl, Failed::None, None);
        sound(&nl, Lang::Nl);
        assert!(
            nl.contains("<h1>Mijn apparaten</h1>") && nl.contains("Telefoonapp · actief"),
            "{nl}"
        );
        assert!(
            nl.contains("laatst gebruikt nooit") && nl.contains("Herstelcodes"),
            "{nl}"
        );
        assert!(
            nl.contains(&format!(r#"<p class="label">{ESCAPED}</p>"#)),
            "{nl}"
        );
    }

    #[test]
    fn a_refused_form_keeps_what_was_typed_and_points_at_the_error() {
        let failed = Failed::Token {
            serial: "S\"1".into(),
            label: "<desk>".into(),
        };
        let html = devices_page(Lang::En, failed, Some("That code is <not> right."));
        assert!(
            html.contains(r#"id="form-error">That code is &#60;not&#62; right.</p>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"id="serial" name="serial" value="S&#34;1""#),
            "{html}"
        );
        assert!(html.contains(r#"value="&#60;desk&#62;""#), "{html}");
        assert_eq!(
            html.matches(r#"aria-describedby="form-error""#).count(),
            2,
            "serial and code"
        );
        let html = devices_page(Lang::Nl, Failed::Rename(2), Some("x"));
        assert!(html.contains(r#"id="label-2" name="label" value="token" maxlength="64" required aria-describedby="form-error""#), "{html}");
        let html = devices_page(Lang::En, Failed::Key { label: "k&".into() }, Some("x"));
        assert!(
            html.contains(r#"id="key-label" name="label" value="k&#38;""#),
            "{html}"
        );
    }

    #[test]
    fn the_phone_page_has_a_text_alternative_in_either_language() {
        for (lang, alt, save) in [
            (
                Lang::En,
                "QR code of the key shown below as text",
                "Save phone",
            ),
            (
                Lang::Nl,
                "QR-code van de sleutel die hieronder als tekst staat",
                "Telefoon opslaan",
            ),
        ] {
            let ctx = ctx(lang);
            let html = render(&PhonePage {
                nav: portal_nav(&ctx, "c", ""),
                ctx: &ctx,
                csrf: "c",
                qr: &crate::web::qr::Qr {
                    size: 29,
                    pixels: 203,
                    path: "M4,4h1v1h-1z".into(),
                },
                secret: "ABCD EFGH",
                label: HOSTILE,
                error: Some("<b>wrong</b>".into()),
            })
            .0;
            sound(&html, lang);
            assert!(html.contains(&format!(r#"<div class="qr"><svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{alt}" width="203" height="203" viewBox="0 0 29 29""#)), "{html}");
            assert!(
                html.contains(r##"<path fill="#000" d="M4,4h1v1h-1z"/></svg></div>"##),
                "{html}"
            );
            assert!(
                html.contains(r#"<code id="secret">ABCD EFGH</code>"#),
                "{html}"
            );
            assert!(
                html.contains(&format!(r#"value="{ESCAPED}""#)) && html.contains(save),
                "{html}"
            );
            assert!(
                html.contains("&#60;b&#62;wrong") && html.contains("aria-invalid"),
                "{html}"
            );
        }
    }

    #[test]
    fn the_key_pages_load_the_script_only_and_escape_the_options() {
        let options = r#"{"publicKey":{"challenge":"a<b"}}"#;
        for lang in Lang::ALL {
            let ctx = ctx(lang);
            let d = device(3, DeviceKind::SecurityKey, HOSTILE);
            let pages = [
                render(&KeyLoginPage {
                    ctx: &ctx,
                    client: HOSTILE,
                    csrf: "c",
                    options,
                })
                .0,
                render(&AddKeyPage {
                    nav: portal_nav(&ctx, "c", ""),
                    ctx: &ctx,
                    csrf: "c",
                    label: HOSTILE,
                    options,
                })
                .0,
                render(&RemoveKeyPage {
                    nav: portal_nav(&ctx, "c", ""),
                    ctx: &ctx,
                    csrf: "c",
                    device: &d,
                    options,
                })
                .0,
            ];
            for html in &pages {
                assert!(
                    html.contains(r#"<script src="/static/webauthn.js" defer></script>"#),
                    "{html}"
                );
                assert_eq!(
                    html.matches("<script").count(),
                    1,
                    "no inline script: {html}"
                );
                assert!(
                    html.contains("data-options=\"{&#34;publicKey&#34;")
                        && html.contains("a&#60;b"),
                    "{html}"
                );
                assert!(
                    html.contains("<noscript>") && html.contains(r#"id="webauthn-start""#),
                    "{html}"
                );
                assert!(html.contains(ESCAPED), "{html}");
                assert!(!html.contains("alert(\""), "{html}");
            }
            let words = match lang {
                Lang::En => [
                    "Use your security key",
                    "Add a security key or passkey",
                    "Keep it",
                ],
                Lang::Nl => [
                    "Gebruik uw beveiligingssleutel",
                    "Beveiligingssleutel of passkey toevoegen",
                    "Niet verwijderen",
                ],
            };
            for (html, word) in pages.iter().zip(words) {
                assert!(html.contains(word), "{word}: {html}");
            }
            assert!(pages[0].contains(
                r#"id="key-form" method="post" action="/login/key/finish" data-webauthn="get""#
            ));
            assert!(pages[1].contains(r#"id="key-add-form" method="post" action="/portal/devices/key/confirm" data-webauthn="create""#));
            assert!(pages[2].contains(r#"action="/portal/devices/3/remove/key/finish""#));
        }
    }

    #[test]
    fn the_remove_recovery_step_up_and_not_me_pages_in_either_language() {
        for lang in Lang::ALL {
            let ctx = ctx(lang);
            let d = device(4, DeviceKind::PhoneTotp, HOSTILE);
            let remove = render(&RemovePage {
                nav: portal_nav(&ctx, "c", ""),
                ctx: &ctx,
                csrf: "c",
                device: &d,
                key: true,
                error: Some(ctx.t("portal-remove-key-expired")),
            })
            .0;
            sound(&remove, lang);
            assert!(
                remove.contains(ESCAPED) && remove.contains(r#"id="remove-with-key""#),
                "{remove}"
            );
            assert!(
                remove.contains(r#"action="/portal/devices/4/remove""#)
                    && remove.contains("aria-invalid"),
                "{remove}"
            );
            let recovery = render(&RecoveryPage {
                nav: portal_nav(&ctx, "c", ""),
                ctx: &ctx,
                codes: &["AAAA-1", "<b>"],
            })
            .0;
            sound(&recovery, lang);
            assert!(
                recovery.contains("<li><code>AAAA-1</code></li>")
                    && recovery.contains("&#60;b&#62;"),
                "{recovery}"
            );
            assert!(recovery.contains(r#"id="done""#), "{recovery}");
            let step_up = render(&StepUpPage {
                ctx: &ctx,
                csrf: "c",
                action: "/portal/devices/token",
                fields: &[("serial", "\"><script>"), ("label", "x")],
                error: None,
            })
            .0;
            sound(&step_up, lang);
            assert!(
                step_up.contains(
                    r#"<input type="hidden" name="serial" value="&#34;&#62;&#60;script&#62;">"#
                ),
                "{step_up}"
            );
            assert!(
                step_up.contains(r#"id="step-up-form""#)
                    && step_up.contains(r#"id="current_code""#),
                "{step_up}"
            );
            let not_me = render(&NotMePage {
                ctx: &ctx,
                csrf: "p",
                action: "/portal/not-me/4/tok",
                label: HOSTILE,
            })
            .0;
            sound(&not_me, lang);
            assert!(
                not_me.contains(ESCAPED) && not_me.contains(r#"id="not-me""#),
                "{not_me}"
            );
            let words = match lang {
                Lang::En => [
                    "Remove &#60;script",
                    "Your recovery codes",
                    "Confirm it is you",
                    "Was this device not added by you?",
                ],
                Lang::Nl => [
                    "&#60;/script&#62; &#38; &#39;co&#39; verwijderen",
                    "Uw herstelcodes",
                    "Bevestig dat u het bent",
                    "Heeft u dit apparaat niet zelf toegevoegd?",
                ],
            };
            for (html, word) in [&remove, &recovery, &step_up, &not_me]
                .into_iter()
                .zip(words)
            {
                assert!(html.contains(word), "{word}: {html}");
            }
        }
    }

    #[test]
    fn my_logins_word_the_outcome_in_either_language() {
        let mut event = AuditEvent::admin(1_796_480_580, EventKind::LoginAttempt, "person:1");
        event.channel = Channel::Portal;
        event.outcome = Outcome::Reject;
        event.reason = Some("bad_code".into());
        event.device_label = Some(HOSTILE.into());
        event.detail = Some(serde_json::json!({ "confirms": "remove_device" }));
        let stored = StoredEvent { id: 1, event };
        for (lang, outcome, heading) in [
            (
                Lang::En,
                "reject (bad code), to confirm: remove device",
                "<th scope=\"col\">Outcome</th>",
            ),
            (
                Lang::Nl,
                "geweigerd (verkeerde code), ter bevestiging van: apparaat verwijderen",
                "<th scope=\"col\">Uitkomst</th>",
            ),
        ] {
            let ctx = ctx(lang);
            let html = render(&LoginsPage {
                nav: portal_nav(&ctx, "c", "/portal/logins"),
                rows: vec![LoginRow::of(&ctx, &stored)],
                ctx: &ctx,
            })
            .0;
            sound(&html, lang);
            assert!(html.contains(outcome) && html.contains(heading), "{html}");
            assert!(
                html.contains(ESCAPED) && html.contains(r#"id="logins""#),
                "{html}"
            );
            assert!(
                html.contains(r#"id="nav-logins" aria-current="page""#),
                "{html}"
            );
        }
        let ctx = ctx(Lang::En);
        assert_eq!(reason_text(&ctx, "something_new"), "something new");
    }
}
