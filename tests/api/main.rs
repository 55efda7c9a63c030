//! End-to-end tests: the real server over HTTP, on real PostgreSQL databases.

mod harness;

mod accounts;
mod hostile_input;
mod http_basics;
mod import;
mod migrations;
mod oauth;
mod schema;
mod social;
mod startup;
mod stories;
mod users;
