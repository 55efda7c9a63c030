//! End-to-end tests: the real server over HTTP, on real PostgreSQL databases.

mod harness;

mod account_takeover;
mod accounts;
mod api_rules_constraints;
mod auth_payloads;
mod background;
mod backup;
mod brute_force;
mod conformance;
mod database_tls;
mod embedded_database;
mod fuzz;
mod graphiql;
mod hostile_input;
mod http_basics;
mod import;
mod import_rules;
mod live;
mod live_costs;
mod lockout;
mod logs;
mod migrations;
mod oauth;
mod observability;
mod pooler;
mod replicas;
mod schema;
mod server_limits;
mod social;
mod startup;
mod stories;
mod trusted_documents;
mod users;
mod web_app;
mod write_limits;
