//! The account pages reached without a portal session or around approvals, on askama
//! templates (`gateway/templates/account/`): activation, the password reset, `/approve`
//! and the portal's sign-in requests. Every text comes from `locales/*/account.ftl`; the
//! service's refusals (by their keys) are mapped to these pages' own words here.

use crate::approval::Prompt;
use crate::i18n::Arg;
use crate::service::Refusal;
use crate::service::refusal::{PASSWORD_BREACHED, PASSWORD_TOO_SHORT, PASSWORDS_DIFFER};
use crate::web::qr::Qr;
use crate::web::templates::{Ctx, Nav};
use askama::Template;

// ---- the service's refusals, typed ----------------------------------------------------

/// Why the activation form is shown again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActivateError {
    PasswordsDiffer,
    TooShort(usize),
    Breached,
    WrongCode,
    BadLabel,
    /// A refusal this page does not know (logged).
    Other,
}

impl ActivateError {
    /// The refusal `Gateway::activate` gave (its link still open).
    /// `min` is the password policy's minimum length.
    pub(crate) fn of_service(refusal: &Refusal, min: usize) -> Self {
        match refusal.key() {
            PASSWORDS_DIFFER => Self::PasswordsDiffer,
            PASSWORD_TOO_SHORT => Self::TooShort(min),
            PASSWORD_BREACHED => Self::Breached,
            crate::service::WRONG_NEW_CODE => Self::WrongCode,
            crate::service::BAD_LABEL => Self::BadLabel,
            _ => {
                tracing::info!(
                    refusal = %refusal,
                    "an activation refused for a reason the page does not name"
                );
                Self::Other
            }
        }
    }

    pub(crate) fn text(self, ctx: &Ctx) -> String {
        match self {
            Self::PasswordsDiffer => ctx.t("activate-error-differ"),
            Self::TooShort(min) => ctx.ta("activate-error-too-short", &[("min", number(min))]),
            Self::Breached => ctx.t("activate-error-breached"),
            Self::WrongCode => ctx.t("activate-error-code"),
            Self::BadLabel => ctx.t("activate-error-label"),
            Self::Other => ctx.t("activate-error-other"),
        }
    }
}

/// Why a page of the password reset is shown again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResetError {
    /// The request form was sent empty.
    NoIdentifier,
    WrongCode,
    NoDevice,
    /// The password step before the code step (or after it lapsed).
    CodeFirst,
    PasswordsDiffer,
    TooShort(usize),
    Breached,
    Other,
}

impl ResetError {
    /// The refusal a reset step gave (the link itself is open).
    pub(crate) fn of_service(refusal: &Refusal, min: usize) -> Self {
        use crate::service::reset::{RESET_CODE_FIRST, RESET_NO_DEVICE, RESET_WRONG_CODE};
        match refusal.key() {
            RESET_WRONG_CODE => Self::WrongCode,
            RESET_NO_DEVICE => Self::NoDevice,
            RESET_CODE_FIRST => Self::CodeFirst,
            PASSWORDS_DIFFER => Self::PasswordsDiffer,
            PASSWORD_TOO_SHORT => Self::TooShort(min),
            PASSWORD_BREACHED => Self::Breached,
            _ => {
                tracing::info!(
                    refusal = %refusal,
                    "a reset step refused for a reason the page does not name"
                );
                Self::Other
            }
        }
    }

    pub(crate) fn text(self, ctx: &Ctx) -> String {
        match self {
            Self::NoIdentifier => ctx.t("reset-error-identifier"),
            Self::WrongCode => ctx.t("reset-error-code"),
            Self::NoDevice => ctx.t("reset-error-no-device"),
            Self::CodeFirst => ctx.t("reset-error-code-first"),
            Self::PasswordsDiffer => ctx.t("reset-error-differ"),
            Self::TooShort(min) => ctx.ta("reset-error-too-short", &[("min", number(min))]),
            Self::Breached => ctx.t("reset-error-breached"),
            Self::Other => ctx.t("reset-error-other"),
        }
    }
}

fn number(n: usize) -> Arg {
    Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))
}

// ---- activation ---------------------------------------------------------------------------

/// The activation form: the password (unless the directory's is used), the first phone's
/// QR code and key, its name and a code. What was typed (the name) is kept on a retry.
#[derive(Debug, Template)]
#[template(path = "account/activate.html")]
pub(crate) struct ActivatePage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) token: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) full_name: &'a str,
    pub(crate) username: &'a str,
    /// The person signs in with their directory's (Windows) password: none is set here.
    pub(crate) directory: bool,
    pub(crate) min: usize,
    pub(crate) qr: Qr,
    /// The key, grouped.
    pub(crate) key: String,
    pub(crate) label: &'a str,
    pub(crate) error: Option<String>,
}

impl ActivatePage<'_> {
    fn password_label(&self) -> String {
        self.ctx
            .ta("activate-password", &[("min", number(self.min))])
    }
}

/// The account is active.
#[derive(Debug, Template)]
#[template(path = "account/activated.html")]
pub(crate) struct ActivatedPage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) username: &'a str,
}

impl ActivatedPage<'_> {
    fn text(&self) -> String {
        self.ctx
            .ta("activate-done-text", &[("username", self.username.into())])
    }
}

// ---- password reset -----------------------------------------------------------------------

/// "Forgot password?": a username or address; what was typed is kept.
#[derive(Debug, Template)]
#[template(path = "account/reset_request.html")]
pub(crate) struct ResetRequestPage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) csrf: &'a str,
    pub(crate) identifier: &'a str,
    pub(crate) error: Option<String>,
}

/// The same answer for every request.
#[derive(Debug, Template)]
#[template(path = "account/reset_sent.html")]
pub(crate) struct ResetSentPage<'a> {
    pub(crate) ctx: &'a Ctx,
}

/// The link's first step: a code.
#[derive(Debug, Template)]
#[template(path = "account/reset_code.html")]
pub(crate) struct ResetCodePage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) token: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) username: &'a str,
    pub(crate) error: Option<String>,
}

/// The link's second step: the new password (never sent back).
#[derive(Debug, Template)]
#[template(path = "account/reset_password.html")]
pub(crate) struct ResetPasswordPage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) token: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) username: &'a str,
    pub(crate) min: usize,
    pub(crate) error: Option<String>,
}

impl ResetPasswordPage<'_> {
    fn password_label(&self) -> String {
        self.ctx.ta("reset-password", &[("min", number(self.min))])
    }
}

/// The password was changed.
#[derive(Debug, Template)]
#[template(path = "account/reset_done.html")]
pub(crate) struct ResetDonePage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) username: &'a str,
}

impl ResetDonePage<'_> {
    fn text(&self) -> String {
        self.ctx
            .ta("reset-done-text", &[("username", self.username.into())])
    }
}

// ---- /approve -----------------------------------------------------------------------------

/// `/approve`: the form, the form again with the one refusal (whatever the reason), or the
/// approval.
#[derive(Debug, Template)]
#[template(path = "account/approve.html")]
pub(crate) struct ApprovePage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) username: &'a str,
    pub(crate) refused: bool,
    pub(crate) approved: bool,
}

// ---- the portal's sign-in requests --------------------------------------------------------

/// The person's pending request with its answers (or that none is waiting), a message
/// after an answer, where to answer with a code, and the opt-in for notifications.
#[derive(Debug, Template)]
#[template(path = "account/approvals.html")]
pub(crate) struct ApprovalsPage<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) nav: Nav,
    pub(crate) csrf: &'a str,
    pub(crate) prompt: Option<&'a Prompt>,
    pub(crate) message: Option<String>,
    pub(crate) error: Option<String>,
    /// The server's VAPID public key: notifications can be turned on.
    pub(crate) vapid: Option<&'a str>,
    /// This browser is a push device of the person's: it may answer.
    pub(crate) bound: bool,
}

impl ApprovalsPage<'_> {
    /// The portal's navigation, this page current.
    pub(crate) fn nav(ctx: &Ctx, csrf: &str) -> Nav {
        const HERE: &str = "/portal/approvals";
        Nav::new(ctx.t("approvals-nav"))
            .link(
                "/portal",
                "nav-devices",
                ctx.t("approvals-nav-devices"),
                HERE,
            )
            .link(
                "/portal/logins",
                "nav-logins",
                ctx.t("approvals-nav-logins"),
                HERE,
            )
            .link(HERE, "nav-approvals", ctx.t("approvals-title"), HERE)
            .sign_out(ctx, csrf)
    }

    fn question(&self, p: &Prompt) -> String {
        self.ctx.ta(
            "approvals-question",
            &[("client", p.client.as_str().into())],
        )
    }

    fn meta(&self, p: &Prompt) -> String {
        let source = p
            .source
            .clone()
            .unwrap_or_else(|| self.ctx.t("approvals-unknown-source"));
        self.ctx.ta(
            "approvals-meta",
            &[
                ("source", source.into()),
                ("at", self.ctx.when(&p.created).into()),
                ("expires", self.ctx.when(&p.expires).into()),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use crate::web::qr::grouped;
    use crate::web::templates::render;
    use jiff::tz::TimeZone;

    const HOSTILE: &str = "<script>alert(\"x\")</script>&";
    const ESCAPED: &str = "&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;";

    fn ctx(lang: Lang) -> Ctx {
        Ctx::new(lang, TimeZone::get("Europe/Amsterdam").expect("zone"))
    }

    fn clean(html: &str) {
        assert!(!html.contains("<script>alert"), "{html}");
    }

    fn activate(lang: Lang, directory: bool, error: Option<ActivateError>) -> String {
        let ctx = ctx(lang);
        render(&ActivatePage {
            ctx: &ctx,
            token: "1.a\"b",
            csrf: "c\"",
            full_name: HOSTILE,
            username: HOSTILE,
            directory,
            min: 12,
            qr: Qr::of("otpauth://totp/x?secret=ABCD").expect("qr"),
            key: grouped("ABCDEFGHIJKLMNOP"),
            label: HOSTILE,
            error: error.map(|e| e.text(&ctx)),
        })
        .0
    }

    #[test]
    fn the_activation_page_in_either_language_escapes_and_keeps_the_qr_alternative() {
        let en = activate(Lang::En, false, None);
        clean(&en);
        assert!(
            en.contains(r#"<html lang="en">"#) && en.contains("<h1>Activate your account</h1>"),
            "{en}"
        );
        assert!(
            en.contains(&format!(r#"<strong id="username">{ESCAPED}</strong>"#)),
            "{en}"
        );
        assert!(
            en.contains(&format!(r#"id="label" name="label" value="{ESCAPED}""#)),
            "{en}"
        );
        assert!(
            en.contains(r#"action="/activate/1.a&#34;b""#) && en.contains(r#"value="c&#34;""#),
            "{en}"
        );
        assert!(en.contains("New password (at least 12 characters)"), "{en}");
        assert!(
            en.contains(r#"<code id="secret">ABCD EFGH IJKL MNOP</code>"#),
            "{en}"
        );
        assert!(
            en.contains(r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="QR code of the key shown below as text""#),
            "{en}"
        );
        assert!(
            !en.contains("form-error") && !en.contains("directory-password"),
            "{en}"
        );
        let nl = activate(Lang::Nl, true, Some(ActivateError::TooShort(12)));
        clean(&nl);
        assert!(
            nl.contains(r#"<html lang="nl">"#) && nl.contains("<h1>Activeer uw account</h1>"),
            "{nl}"
        );
        assert!(
            nl.contains(r#"id="directory-password""#) && !nl.contains(r#"id="password""#),
            "{nl}"
        );
        assert!(
            nl.contains("Het wachtwoord is te kort: minstens 12 tekens."),
            "{nl}"
        );
        assert!(
            nl.contains(r#"id="code" name="code""#)
                && nl.contains(r#"aria-describedby="form-error""#),
            "{nl}"
        );
        assert!(nl.contains(r#"aria-label="QR-code van de sleutel"#), "{nl}");
        for lang in Lang::ALL {
            let ctx = ctx(lang);
            let done = render(&ActivatedPage {
                ctx: &ctx,
                username: HOSTILE,
            })
            .0;
            clean(&done);
            assert!(
                done.contains(r#"<h1 id="activated">"#) && done.contains(ESCAPED),
                "{done}"
            );
            assert!(done.contains(r#"id="to-portal""#), "{done}");
        }
    }

    #[test]
    fn the_reset_pages_in_either_language_escape_and_keep_what_was_typed() {
        for lang in Lang::ALL {
            let ctx = ctx(lang);
            let request = render(&ResetRequestPage {
                ctx: &ctx,
                csrf: "c\"",
                identifier: HOSTILE,
                error: Some(ResetError::NoIdentifier.text(&ctx)),
            })
            .0;
            clean(&request);
            assert!(
                request.contains(&format!(r#"value="{ESCAPED}""#)),
                "{request}"
            );
            assert!(
                request.contains(r#"value="c&#34;""#) && request.contains(r#"id="form-error""#),
                "{request}"
            );
            let sent = render(&ResetSentPage { ctx: &ctx }).0;
            assert!(sent.contains(r#"<h1 id="reset-sent">"#), "{sent}");
            let code = render(&ResetCodePage {
                ctx: &ctx,
                token: "1.x\"",
                csrf: "c",
                username: HOSTILE,
                error: Some(ResetError::WrongCode.text(&ctx)),
            })
            .0;
            clean(&code);
            assert!(
                code.contains("reset-code-form") && code.contains("/reset/1.x&#34;/code"),
                "{code}"
            );
            assert!(
                code.contains(&format!(r#"<strong id="username">{ESCAPED}</strong>"#)),
                "{code}"
            );
            let password = render(&ResetPasswordPage {
                ctx: &ctx,
                token: "1.x",
                csrf: "c",
                username: "o'neil",
                min: 12,
                error: Some(ResetError::Breached.text(&ctx)),
            })
            .0;
            assert!(
                password.contains("o&#39;neil") && password.contains("12"),
                "{password}"
            );
            assert!(!password.contains(r#"name="password" value"#), "{password}");
            let done = render(&ResetDonePage {
                ctx: &ctx,
                username: HOSTILE,
            })
            .0;
            clean(&done);
            assert!(
                done.contains(r#"<h1 id="reset-done">"#) && done.contains(ESCAPED),
                "{done}"
            );
            match lang {
                Lang::En => {
                    assert!(request.contains("Forgot your password?"), "{request}");
                    assert!(code.contains("That code is not right."), "{code}");
                    assert!(password.contains(
                        "This password appears in a list of breached passwords; choose another."
                    ));
                }
                Lang::Nl => {
                    assert!(
                        request.contains("Wachtwoord vergeten?")
                            && request.contains(r#"lang="nl""#)
                    );
                    assert!(code.contains("Die code klopt niet."), "{code}");
                    assert!(password.contains("gelekte wachtwoorden"), "{password}");
                }
            }
        }
    }

    #[test]
    fn the_service_refusals_are_named() {
        use crate::password::PasswordError;
        use crate::service::ServiceError;
        use crate::service::reset::{RESET_CODE_FIRST, RESET_NO_DEVICE, RESET_WRONG_CODE};
        // A refused password, as the service gives it.
        let password = |e| match crate::service::refusal::password_refused(e) {
            ServiceError::Refused(r) => r,
            e => panic!("a refusal: {e:?}"),
        };
        let short = password(PasswordError::TooShort(12));
        let breached = password(PasswordError::Breached);
        let key = Refusal::new;
        let other = key(crate::service::LAST_DEVICE);
        for (refusal, want) in [
            (key(RESET_WRONG_CODE), ResetError::WrongCode),
            (key(RESET_NO_DEVICE), ResetError::NoDevice),
            (key(RESET_CODE_FIRST), ResetError::CodeFirst),
            (key(PASSWORDS_DIFFER), ResetError::PasswordsDiffer),
            (short.clone(), ResetError::TooShort(12)),
            (breached.clone(), ResetError::Breached),
            (other.clone(), ResetError::Other),
        ] {
            assert_eq!(ResetError::of_service(&refusal, 12), want, "{refusal}");
        }
        for (refusal, want) in [
            (key(PASSWORDS_DIFFER), ActivateError::PasswordsDiffer),
            (short, ActivateError::TooShort(12)),
            (breached, ActivateError::Breached),
            (key(crate::service::BAD_LABEL), ActivateError::BadLabel),
            (
                key(crate::service::WRONG_NEW_CODE),
                ActivateError::WrongCode,
            ),
            (other, ActivateError::Other),
        ] {
            assert_eq!(ActivateError::of_service(&refusal, 12), want, "{refusal}");
        }
    }

    #[test]
    fn the_approve_page_in_either_language_escapes_and_refuses_in_one_way() {
        for lang in Lang::ALL {
            let ctx = ctx(lang);
            let form = render(&ApprovePage {
                ctx: &ctx,
                username: "",
                refused: false,
                approved: false,
            })
            .0;
            assert!(
                form.contains(r#"id="approve-form""#) && !form.contains("form-error"),
                "{form}"
            );
            let refused = render(&ApprovePage {
                ctx: &ctx,
                username: HOSTILE,
                refused: true,
                approved: false,
            })
            .0;
            clean(&refused);
            assert!(
                refused.contains(&format!(r#"value="{ESCAPED}""#)),
                "{refused}"
            );
            assert!(
                refused.contains(r#"class="error" role="alert" id="form-error""#),
                "{refused}"
            );
            assert!(refused.contains(r#"aria-invalid="true""#), "{refused}");
            let approved = render(&ApprovePage {
                ctx: &ctx,
                username: HOSTILE,
                refused: false,
                approved: true,
            })
            .0;
            assert!(
                approved.contains(r#"id="approved""#) && !approved.contains("approve-form"),
                "{approved}"
            );
            let (title, refusal) = match lang {
                Lang::En => ("<h1>Approve a sign-in</h1>", "Not approved."),
                Lang::Nl => ("<h1>Een aanmelding goedkeuren</h1>", "Niet goedgekeurd."),
            };
            assert!(
                form.contains(title) && refused.contains(refusal),
                "{refused}"
            );
        }
    }

    fn prompt(number: Option<u8>) -> Prompt {
        Prompt {
            id: "p\"1".into(),
            person_id: 1,
            client: HOSTILE.into(),
            channel: "radius".into(),
            source: None,
            created: 1_796_480_580,
            expires: 1_796_480_640,
            number,
            choices: number.map_or_else(Vec::new, |n| vec![17, n, 88]),
        }
    }

    #[test]
    fn the_approvals_page_in_either_language_escapes_and_shows_the_answers() {
        let p = prompt(None);
        let m = prompt(Some(42));
        for lang in Lang::ALL {
            let ctx = ctx(lang);
            let page = |prompt, message: Option<String>, bound| {
                render(&ApprovalsPage {
                    ctx: &ctx,
                    nav: ApprovalsPage::nav(&ctx, "c\""),
                    csrf: "c\"",
                    prompt,
                    message,
                    error: None,
                    vapid: Some("k\"ey"),
                    bound,
                })
                .0
            };
            let plain = page(Some(&p), None, true);
            clean(&plain);
            assert!(
                plain.contains(r#"id="pending" data-id="p&#34;1""#),
                "{plain}"
            );
            assert!(plain.contains(ESCAPED), "{plain}");
            assert!(
                plain.contains(r#"id="approve""#)
                    && plain.contains(r#"id="deny""#)
                    && plain.contains(r#"id="not-me""#)
            );
            assert!(
                plain.contains(r#"aria-current="page""#) && plain.contains(r#"id="logout""#),
                "{plain}"
            );
            assert!(plain.contains(r#"data-vapid-key="k&#34;ey""#), "{plain}");
            assert!(
                plain.contains(r#"<script src="/static/approvals.js"></script>"#),
                "{plain}"
            );
            assert!(
                plain.contains(r#"<link rel="manifest" href="/manifest.webmanifest">"#),
                "{plain}"
            );
            let matching = page(Some(&m), None, true);
            assert!(
                matching.contains(r#"id="choices""#) && matching.contains(r#"id="choice-42""#),
                "{matching}"
            );
            assert!(!matching.contains(r#"id="approve""#), "{matching}");
            let unbound = page(Some(&p), None, false);
            assert!(
                unbound.contains(r#"id="not-bound""#) && !unbound.contains(r#"id="deny""#),
                "{unbound}"
            );
            let text = ctx.ta("approvals-approved", &[("client", HOSTILE.into())]);
            let none = page(None, Some(text), true);
            assert!(
                none.contains(r#"<p id="none">"#) && none.contains(r#"id="message""#),
                "{none}"
            );
            clean(&none);
            match lang {
                Lang::En => {
                    assert!(
                        plain.contains("<h1>Sign-in requests</h1>")
                            && plain.contains("an unknown address")
                    );
                    assert!(plain.contains("5 December 2026 15:23 CET"), "{plain}");
                }
                Lang::Nl => {
                    assert!(
                        plain.contains("<h1>Inlogverzoeken</h1>")
                            && plain.contains("een onbekend adres")
                    );
                    assert!(
                        plain.contains("5 december 2026 15:23 CET") && plain.contains("Goedkeuren"),
                        "{plain}"
                    );
                }
            }
        }
    }
}
