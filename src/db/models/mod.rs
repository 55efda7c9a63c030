//! Row types and the queries that own them, one module per table.
//!
//! One style everywhere: a table's queries are free functions of its module,
//! called with the module's name (`post::find(conn, id)`, `user::insert(conn,
//! &new_user)`, `like::like(conn, user, post)`), since some tables (likes,
//! tokens, counters) have no row type worth naming. Row types carry only
//! methods about their own data, such as the `keyset` of their list order.

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
pub mod server_key;
pub mod session;
pub mod story;
pub mod user;
pub mod verification_token;
