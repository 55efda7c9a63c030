//! Authentication building blocks: passwords, tokens, sessions, cookies,
//! device cookies, client identity and brute-force limits.

pub mod client;
pub mod cookie;
pub mod device;
pub mod email_address;
pub mod password;
pub mod rate_limit;
pub mod secretbox;
pub mod session;
pub mod tokens;
