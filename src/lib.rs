//! Growth Diary: the GraphQL server of a social growth diary.
//!
//! Users keep a career profile, set goals, write diary posts that others like
//! and reply to, and ask an AI to write the story of their week or month.
//! Every instance is stateless: all state lives in PostgreSQL.

pub mod accounts;
pub mod app;
pub mod auth;
pub mod background;
pub mod cli;
pub mod config;
pub mod db;
pub mod deadline;
pub mod documents;
pub mod email;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod import;
pub mod metrics;
pub mod oauth;
pub mod seed;
pub mod services;
pub mod social;
pub mod stories;
pub mod telemetry;
