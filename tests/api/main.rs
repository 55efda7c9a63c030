//! End-to-end tests: the real server over HTTP, on real PostgreSQL databases.

mod harness;

mod account_takeover;
mod accounts;
mod auth_payloads;
mod background;
mod brute_force;
mod conformance;
mod database_tls;
mod embedded_database;
mod fuzz;
mod graphiql;
mod hostile_input;
mod http_basics;
mod import;
mod live;
mod live_costs;
mod logs;
mod migrations;
mod oauth;
mod observability;
mod schema;
mod server_limits;
mod social;
mod startup;
mod stories;
mod trusted_documents;
mod users;
mod write_limits;
