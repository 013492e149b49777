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

/// The key of a text that comes from outside the service as it is (a store's or a
/// policy's English sentence): `{ $text }` in both languages.
pub const SAID: &str = "svc-said";

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

    /// A text from elsewhere, shown as it is in either language.
    pub fn said(text: impl Into<String>) -> Self {
        Self::new(SAID).with("text", text.into())
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
        // A text from elsewhere is shown as it came, in either language.
        let said = Refusal::said("request 7 changed meanwhile");
        assert_eq!(said.text(Lang::Nl), "request 7 changed meanwhile");
        assert_eq!(said.to_string(), "request 7 changed meanwhile");
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
