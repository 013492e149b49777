//! Outgoing e-mail: notices to a person ("a new device was linked to your account") and
//! activation links. Mail goes through the SMTP relay of `[mail]` (lettre, STARTTLS or TLS by
//! default); with no relay set nothing is sent and the audit trail records that a mail would
//! have gone (`mail_sent`, reason `no_relay`). Sending never holds up the action that caused
//! it: `Gateway::notify` sends on a task of its own and audits the result.

use crate::config::{MailSecurity, MailSettings};
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// One plain-text mail.
#[derive(Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl std::fmt::Debug for Mail {
    // The body may hold a link that works as a credential: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("no mail relay is configured")]
    NoRelay,
    #[error("invalid address `{0}`")]
    Address(String),
    #[error("cannot build the mail: {0}")]
    Build(String),
    #[error("the relay refused or failed: {0}")]
    Relay(String),
    #[error("mail relay settings: {0}")]
    Settings(String),
}

/// The configured way out, or none.
#[derive(Clone)]
pub struct Mailer {
    from: String,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .field("relay", &self.transport.is_some())
            .finish()
    }
}

impl Mailer {
    /// A mailer that sends nothing (no relay).
    pub fn none() -> Self {
        Self {
            from: "mfa-gateway@localhost".into(),
            transport: None,
        }
    }

    pub fn new(settings: &MailSettings) -> Result<Self, MailError> {
        let Some((host, port)) = &settings.relay else {
            return Ok(Self {
                from: settings.from.clone(),
                transport: None,
            });
        };
        let builder = match settings.security {
            MailSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            }
            MailSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| MailError::Settings(e.to_string()))?,
            MailSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| MailError::Settings(e.to_string()))?,
        };
        let mut builder = builder
            .port(*port)
            .timeout(Some(Duration::from_secs(settings.timeout_seconds)));
        if let (Some(user), Some(var)) = (&settings.username, &settings.password_env) {
            let password = std::env::var(var).map_err(|_| {
                MailError::Settings(format!(
                    "mail.password_env names `{var}`, which is not set in the environment"
                ))
            })?;
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Self {
            from: settings.from.clone(),
            transport: Some(builder.build()),
        })
    }

    pub fn has_relay(&self) -> bool {
        self.transport.is_some()
    }

    /// Send one mail through the relay.
    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let Some(transport) = &self.transport else {
            return Err(MailError::NoRelay);
        };
        let message = Message::builder()
            .from(
                self.from
                    .parse()
                    .map_err(|_| MailError::Address(self.from.clone()))?,
            )
            .to(mail
                .to
                .parse()
                .map_err(|_| MailError::Address(mail.to.clone()))?)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| MailError::Build(e.to_string()))?;
        transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| MailError::Relay(e.to_string()))
    }
}
