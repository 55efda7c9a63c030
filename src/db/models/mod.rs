//! Row types and the queries that own them, one module per table.

pub mod audit_event;
pub mod export;
pub mod goal;
pub mod legacy_id;
pub mod like;
pub mod notification;
pub mod oauth_account;
pub mod oauth_state;
pub mod outbox;
pub mod password_reset;
pub mod post;
pub mod rate_limit;
pub mod reply;
pub mod session;
pub mod story;
pub mod user;
pub mod verification_token;
