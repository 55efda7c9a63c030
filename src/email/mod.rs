//! Email: the messages the server sends, the transport, and the outbox worker.
//!
//! Email is never sent from a request: it is written to `email_outbox` in the
//! same transaction as the token it carries, and a background worker sends it,
//! retrying with backoff, so an SMTP outage loses nothing.

pub mod mailer;
pub mod templates;
pub mod worker;

pub use mailer::Mailer;
