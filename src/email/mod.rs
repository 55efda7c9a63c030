//! Email: the messages the server sends and the transport.
//!
//! Email is never sent from a request: it is written to `email_outbox` in the
//! same transaction as the token it carries, and the background work
//! ([`crate::background::outbox`]) sends it, retrying with backoff, so an SMTP
//! outage loses nothing.

pub mod mailer;
pub mod templates;

pub use mailer::Mailer;
