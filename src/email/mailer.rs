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
    /// The server's log (development: no SMTP_URL). Links lose their query
    /// (the token) unless `show_links` (LOG_EMAIL_LINKS) is set.
    Log { from: Mailbox, show_links: bool },
}

impl Mailer {
    /// The mailer `config` describes.
    pub fn from_config(config: &EmailConfig) -> Result<Self, lettre::transport::smtp::Error> {
        let from = config.mail_from.clone();
        match &config.smtp_url {
            None => Ok(Self::Log {
                from,
                show_links: config.log_email_links,
            }),
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
            Self::Log { show_links, .. } => {
                let body = if *show_links {
                    email.text_body.clone()
                } else {
                    redact_links(&email.text_body)
                };
                tracing::info!(
                    to = %email.recipient,
                    subject = %email.subject,
                    body = %body,
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

/// Stands in for a link's query in logged emails.
const REDACTED: &str = "redacted";

/// `text` with the query of every URL in it replaced: a reset or verification
/// link in a log is a way into the account for whoever reads the log.
fn redact_links(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            let bare = word.trim_end();
            match url::Url::parse(bare) {
                Ok(mut url) if url.query().is_some() || url.fragment().is_some() => {
                    url.set_query(Some(REDACTED));
                    url.set_fragment(None);
                    format!("{url}{}", &word[bare.len()..])
                }
                _ => word.to_owned(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_links_lose_their_tokens() {
        let text = "Choose a new password here:\n\nhttps://app.example.com/reset-password?token=s3cr3t-T0ken_x\n\nIf it was not you, ignore this.\n";
        let redacted = redact_links(text);
        assert!(!redacted.contains("s3cr3t"), "{redacted}");
        assert_eq!(
            redacted,
            "Choose a new password here:\n\nhttps://app.example.com/reset-password?redacted\n\nIf it was not you, ignore this.\n"
        );
        assert_eq!(redact_links("no links here"), "no links here");
    }
}
