//! Mail to a person about their account, sent on a task of its own and audited
//! (`mail_sent`: done, failed with the relay's error, or reason `no_relay`).

use super::*;
use crate::audit::Outcome;
use crate::mail::{Mail, MailError, Mailer};

/// What a mail is about, for the audit trail and for tests.
#[derive(Debug, Clone)]
pub struct Notice {
    pub subject: String,
    pub body: String,
    /// What of the body goes into the audit detail when no relay is set: the body of a
    /// notice, the body without its link when the link works as a credential ("this was not
    /// me"), or nothing (an activation link): then only the subject does.
    pub audit_body: Option<String>,
}

/// A mail's body: "Hello NAME," in `lang`, then each paragraph, a blank line between.
pub fn letter(lang: crate::i18n::Lang, name: &str, paragraphs: &[&str]) -> String {
    let mut body = crate::i18n::t_args(lang, "mail-hello", &[("name", name.into())]);
    for p in paragraphs {
        body.push_str("\n\n");
        body.push_str(p);
    }
    body.push('\n');
    body
}

impl Gateway {
    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    /// Mail `notice` to `person` if they have an address; the result is audited as an event
    /// about them with `context`'s actor, channel, client, source and request id. Returns at
    /// once; the sending runs on its own task.
    pub fn notify(&self, person: &Person, notice: Notice, context: &AuditEvent) {
        let gateway = self.clone();
        let person = person.clone();
        let context = context.clone();
        tokio::spawn(async move { gateway.notify_wait(&person, notice, &context).await });
    }

    /// As `notify`, with the notice written on the sending task in `person`'s language
    /// (`build` gets the gateway, for times in its zone, and the language).
    pub fn notify_in<F>(&self, person: &Person, build: F, context: &AuditEvent)
    where
        F: FnOnce(&Gateway, crate::i18n::Lang) -> Notice + Send + 'static,
    {
        let gateway = self.clone();
        let person = person.clone();
        let context = context.clone();
        tokio::spawn(async move {
            let lang = gateway.lang_of(&person).await;
            let notice = build(&gateway, lang);
            gateway.notify_wait(&person, notice, &context).await;
        });
    }

    /// As `notify`, but waits until the mail is sent (or failed) and audited: for the CLI,
    /// whose process ends with the command.
    pub async fn notify_wait(&self, person: &Person, notice: Notice, context: &AuditEvent) {
        let Some(to) = person.email.clone().filter(|e| !e.trim().is_empty()) else {
            return;
        };
        let mut event =
            Self::person_event(person, EventKind::MailSent, &context.actor, context.time);
        event.channel = context.channel;
        event.client = context.client.clone();
        event.source = context.source.clone();
        event.request_id = context.request_id.clone();
        let mail = Mail {
            to: to.clone(),
            subject: notice.subject.clone(),
            body: notice.body.clone(),
        };
        let mut detail = serde_json::json!({ "to": to, "subject": notice.subject });
        match self.mailer.send(&mail).await {
            Ok(()) => {
                metrics::counter!(crate::telemetry::MAIL, "result" => "sent").increment(1);
                event.outcome = Outcome::Done;
            }
            Err(MailError::NoRelay) => {
                metrics::counter!(crate::telemetry::MAIL, "result" => "no_relay").increment(1);
                event.outcome = Outcome::Done;
                event.reason = Some("no_relay".into());
                if let Some(body) = notice.audit_body {
                    detail["body"] = serde_json::Value::String(body);
                }
            }
            Err(e) => {
                metrics::counter!(crate::telemetry::MAIL, "result" => "failed").increment(1);
                tracing::warn!(error = %e, "mail to a person failed");
                event.outcome = Outcome::Failed;
                event.reason = Some("relay_error".into());
                detail["error"] = serde_json::Value::String(e.to_string());
            }
        }
        event.detail = Some(detail);
        if let Err(e) = self.store.append_event(&event).await {
            crate::ops::count_audit_write_failure();
            tracing::error!(error = %e, "cannot audit a mail");
        }
    }

    /// The notice for a change made by an operator (CLI): what changed, when, by whom, in
    /// `lang` (`what` is already in it) with the time in the configured zone.
    pub fn operator_notice(&self, what: &str, lang: crate::i18n::Lang, now: UnixTime) -> Notice {
        use crate::i18n::{Arg, t_args};
        let args = [
            ("what", Arg::from(what)),
            ("when", Arg::from(self.time_in(now, lang))),
        ];
        let mut body = t_args(lang, "mail-operator-body", &args);
        body.push('\n');
        Notice {
            subject: t_args(lang, "mail-account-subject", &args[..1]),
            audit_body: Some(body.clone()),
            body,
        }
    }
}
