//! The transport: SMTP (lettre) when `SMTP_URL` is set, else the log.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::EmailConfig;
use crate::db::models::outbox::OutboxEmail;

/// How long one SMTP exchange may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

/// Where email goes.
#[derive(Clone)]
pub enum Mailer {
    /// A real SMTP server.
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    /// The server's log (development: no SMTP_URL).
    Log { from: Mailbox },
}

impl Mailer {
    /// The mailer `config` describes.
    pub fn from_config(config: &EmailConfig) -> Result<Self, lettre::transport::smtp::Error> {
        let from = config.mail_from.clone();
        match &config.smtp_url {
            None => Ok(Self::Log { from }),
            Some(url) => {
                let transport =
                    AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())?
                        .timeout(Some(SMTP_TIMEOUT))
                        .build();
                Ok(Self::Smtp { transport, from })
            }
        }
    }

    /// Sends one email; the error says why it could not.
    pub async fn send(&self, email: &OutboxEmail) -> Result<(), String> {
        match self {
            Self::Log { .. } => {
                tracing::info!(
                    to = %email.recipient,
                    subject = %email.subject,
                    body = %email.text_body,
                    "email (no SMTP_URL set, so it is logged instead of sent)"
                );
                Ok(())
            }
            Self::Smtp { transport, from } => {
                let to: Mailbox = email
                    .recipient
                    .parse()
                    .map_err(|err| format!("bad recipient: {err}"))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(&email.subject)
                    .multipart(MultiPart::alternative_plain_html(
                        email.text_body.clone(),
                        email.html_body.clone(),
                    ))
                    .map_err(|err| format!("cannot build the message: {err}"))?;
                transport
                    .send(message)
                    .await
                    .map(drop)
                    .map_err(|err| err.to_string())
            }
        }
    }
}
