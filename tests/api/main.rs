//! End-to-end tests: the real server over HTTP, on real PostgreSQL databases.

mod harness;

mod accounts;
mod http_basics;
mod migrations;
mod oauth;
mod schema;
mod server_limits;
mod social;
mod startup;
mod stories;
mod users;
mod write_limits;
