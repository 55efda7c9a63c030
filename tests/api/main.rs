//! End-to-end tests: the real server over HTTP, on real PostgreSQL databases.

mod harness;

mod account_takeover;
mod accounts;
mod auth_payloads;
mod brute_force;
mod hostile_input;
mod conformance;
mod fuzz;
mod http_basics;
mod logs;
mod migrations;
mod oauth;
mod schema;
mod social;
mod startup;
mod stories;
mod users;
