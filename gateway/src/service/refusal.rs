//! Why the service refused, in words a person reads (issue 15): a key of the `svc-*`
//! catalogue (`locales/{nl,en}/service.ftl`) with its arguments. `Display` is English (the
//! CLI and the logs); a page shows it in the person's language (`web::templates::Ctx::said`).

use crate::i18n::{Arg, Lang, t_args};

/// A refusal: the catalogue key and its arguments (`{ $name }` in the catalogue).
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    key: &'static str,
    args: Vec<(&'static str, Arg)>,
}

impl Refusal {
    /// The refusal `key` (a `svc-*` key), without arguments so far.
    pub fn new(key: &'static str) -> Self {
        Self {
            key,
            args: Vec::new(),
        }
    }

    /// With the argument `name` (`{ $name }`).
    #[must_use]
    pub fn with(mut self, name: &'static str, value: impl Into<Arg>) -> Self {
        self.args.push((name, value.into()));
        self
    }

    /// Why the store refused a change, if a person may read it (`None`: a fault of the
    /// caller or of the data, not a refusal).
    pub fn of_store(why: &crate::store::Rejected) -> Option<Self> {
        use crate::store::Rejected as R;
        Some(match why {
            R::RequestNotAt { id, status, wanted } => Self::new(REQUEST_NOT_AT)
                .with("id", number(*id))
                .with("status", status.as_str())
                .with(
                    "wanted",
                    wanted
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" or "),
                ),
            R::RequestChanged { id } => Self::new(REQUEST_CHANGED).with("id", number(*id)),
            R::TooFewTokens { in_stock, ordered } => Self::new(TOO_FEW_TOKENS)
                .with("stock", number(*in_stock))
                .with("ordered", number(*ordered)),
            R::NoToken { serial } | R::TokenNotInStock { serial } => {
                Self::new(TOKEN_NOT_IN_STOCK).with("serial", serial.as_str())
            }
            R::Text(_) => return None,
        })
    }

    /// What is wrong with a policy an operator set.
    pub fn of_policy(e: &crate::policy::PolicyError) -> Self {
        use crate::policy::{LOCKOUT_BOUNDS, PolicyError as P, REMEMBER_DAYS};
        match e {
            P::NoFactors => Self::new("svc-policy-no-factors"),
            P::LockoutThreshold(t) => Self::new("svc-policy-lockout")
                .with("value", number(*t))
                .with("min", number(*LOCKOUT_BOUNDS.start()))
                .with("max", number(*LOCKOUT_BOUNDS.end())),
            P::Language(l) => Self::new("svc-policy-language").with("value", format!("{l:?}")),
            P::SsoHours => {
                Self::new("svc-policy-sso-hours").with("max", number(crate::policy::SSO_HOURS_MAX))
            }
            P::SsoIdleMinutes => Self::new("svc-policy-sso-idle")
                .with("max", number(crate::policy::SSO_IDLE_MINUTES_MAX)),
            P::RememberDays(d) => Self::new("svc-policy-remember-days")
                .with("value", number(*d))
                .with("min", number(*REMEMBER_DAYS.start()))
                .with("max", number(*REMEMBER_DAYS.end())),
            P::EmptyRanges => Self::new("svc-policy-empty-ranges"),
        }
    }

    /// Which refusal this is (compare with the key constants).
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The refusal in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        t_args(lang, self.key, &self.args)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text(Lang::En))
    }
}

impl From<Refusal> for super::ServiceError {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

/// The refusal `key` (no arguments) as an error.
pub(crate) fn refused(key: &'static str) -> super::ServiceError {
    super::ServiceError::Refused(Refusal::new(key))
}

/// A number as a text's argument.
pub(crate) fn number(n: impl TryInto<i64>) -> Arg {
    Arg::Number(n.try_into().unwrap_or(i64::MAX))
}

/// A refused password as the person reads it (too short, breached); any other password
/// error stays what it was.
pub(crate) fn password_refused(e: crate::password::PasswordError) -> super::ServiceError {
    use crate::password::PasswordError;
    match e {
        PasswordError::TooShort(min) => Refusal::new(PASSWORD_TOO_SHORT)
            .with("min", number(min))
            .into(),
        PasswordError::Breached => refused(PASSWORD_BREACHED),
        e => super::ServiceError::Password(e),
    }
}

/// A store error as the service's: a refusal a person may read in their language
/// (`Refusal::of_store`), anything else as it was.
pub(crate) fn store_refused(e: crate::store::StoreError) -> super::ServiceError {
    match &e {
        crate::store::StoreError::Invalid(why) => match Refusal::of_store(why) {
            Some(r) => r.into(),
            None => e.into(),
        },
        _ => e.into(),
    }
}

/// A request is not at a status the change starts from (`$id`, `$status`, `$wanted`).
pub const REQUEST_NOT_AT: &str = "svc-request-not-at";
/// A request changed between reading and writing it (`$id`).
pub const REQUEST_CHANGED: &str = "svc-request-changed";
/// An order for more tokens than the stock holds (`$stock`, `$ordered`).
pub const TOO_FEW_TOKENS: &str = "svc-too-few-tokens";
/// No token with the serial (`$serial`) in the organisation's stock.
pub const TOKEN_NOT_IN_STOCK: &str = "svc-token-not-in-stock";

/// A password shorter than the policy's minimum (`$min`).
pub const PASSWORD_TOO_SHORT: &str = "svc-password-too-short";
/// A password in the breached-password list.
pub const PASSWORD_BREACHED: &str = "svc-password-breached";
/// The two password fields differ.
pub const PASSWORDS_DIFFER: &str = "svc-passwords-differ";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::ServiceError;
    use std::path::Path;

    #[test]
    fn a_refusal_reads_in_dutch_and_english_and_displays_in_english() {
        let r = Refusal::new(crate::service::LAST_DEVICE);
        assert_eq!(
            r.text(Lang::En),
            "You cannot remove your last device; ask your organisation's administrator or the helpdesk."
        );
        assert_eq!(
            r.text(Lang::Nl),
            "U kunt uw laatste apparaat niet verwijderen; vraag het de beheerder van uw organisatie of de helpdesk."
        );
        let e = ServiceError::from(Refusal::new(PASSWORD_TOO_SHORT).with("min", number(12_u32)));
        assert_eq!(
            e.to_string(),
            "password is too short: at least 12 characters"
        );
        let ServiceError::Refused(r) = &e else {
            panic!("a refusal: {e:?}");
        };
        assert_eq!(r.key(), PASSWORD_TOO_SHORT);
        assert_eq!(
            r.text(Lang::Nl),
            "Het wachtwoord is te kort: minstens 12 tekens."
        );
        // A field's name picks its Dutch words.
        let e =
            crate::service::lifecycle::clean(" ", "e-mail address", 254, true).expect_err("empty");
        let ServiceError::Refused(r) = &e else {
            panic!("a refusal: {e:?}");
        };
        assert_eq!(r.text(Lang::En), "Fill in the e-mail address.");
        assert_eq!(r.text(Lang::Nl), "Vul het e-mailadres in.");
        let e = crate::service::lifecycle::clean("x\u{7}", "serial number", 64, true)
            .expect_err("a control character");
        let ServiceError::Refused(r) = &e else {
            panic!("a refusal: {e:?}");
        };
        assert_eq!(
            r.text(Lang::Nl),
            "Het serienummer is te lang of bevat stuurtekens (hooguit 64 tekens)."
        );
        // The store's and the policy's refusals are typed and read in either language;
        // English as the store and the policy say it.
        let r = Refusal::of_store(&crate::store::Rejected::RequestChanged { id: 7 })
            .expect("a refusal");
        assert_eq!(r.to_string(), "request 7 changed meanwhile");
        assert_eq!(
            r.text(Lang::Nl),
            "Verzoek 7 is intussen gewijzigd; open het opnieuw en probeer het nog eens."
        );
        let why = crate::store::Rejected::RequestNotAt {
            id: 7,
            status: crate::model::RequestStatus::Done,
            wanted: vec![
                crate::model::RequestStatus::Submitted,
                crate::model::RequestStatus::InProgress,
            ],
        };
        let r = Refusal::of_store(&why).expect("a refusal");
        assert_eq!(r.to_string(), why.to_string());
        assert_eq!(
            r.to_string(),
            "request 7 is done, not submitted or in_progress"
        );
        assert_eq!(
            r.text(Lang::Nl),
            "Verzoek 7 is afgehandeld; dit kan nu niet meer bij dit verzoek."
        );
        let why = crate::store::Rejected::TooFewTokens {
            in_stock: 2,
            ordered: 9,
        };
        let r = Refusal::of_store(&why).expect("a refusal");
        assert_eq!(r.to_string(), why.to_string());
        assert_eq!(
            r.text(Lang::Nl),
            "Er zijn maar 2 tokens op voorraad; er zijn er 9 besteld."
        );
        assert_eq!(
            Refusal::of_store(&crate::store::Rejected::Text("request data: x".into())),
            None,
            "a fault, not a refusal"
        );
        for e in [
            crate::policy::PolicyError::NoFactors,
            crate::policy::PolicyError::LockoutThreshold(2),
            crate::policy::PolicyError::Language("de".into()),
            crate::policy::PolicyError::SsoHours,
            crate::policy::PolicyError::SsoIdleMinutes,
            crate::policy::PolicyError::RememberDays(91),
            crate::policy::PolicyError::EmptyRanges,
        ] {
            let r = Refusal::of_policy(&e);
            assert_eq!(
                r.to_string(),
                e.to_string(),
                "English as the policy says it"
            );
            assert_ne!(r.text(Lang::Nl), r.text(Lang::En), "{e}");
        }
        assert_eq!(
            Refusal::of_policy(&crate::policy::PolicyError::LockoutThreshold(2)).text(Lang::Nl),
            "De drempel voor de blokkering (2) moet tussen 3 en 20 liggen."
        );
    }

    /// Every `"svc-…"` key the code names has a text in both catalogues (a missing one would
    /// show the key itself).
    #[test]
    fn every_refusal_the_code_names_is_in_both_catalogues() {
        fn scan(dir: &Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("a source folder") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    scan(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("a source file");
                    for piece in text.split("\"svc-").skip(1) {
                        let rest: String = piece
                            .chars()
                            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
                            .collect();
                        if !rest.is_empty() && piece[rest.len()..].starts_with('"') {
                            found.push(format!("svc-{rest}"));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        scan(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(found.len() > 40, "{found:?}");
        for lang in Lang::ALL {
            let catalogue = std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("locales")
                    .join(lang.as_str())
                    .join("service.ftl"),
            )
            .expect("the service catalogue");
            for key in &found {
                assert!(
                    catalogue
                        .lines()
                        .any(|l| l.starts_with(&format!("{key} ="))),
                    "{key} has no text in {lang}"
                );
            }
        }
    }
}
