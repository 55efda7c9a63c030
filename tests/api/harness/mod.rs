//! The shared test harness: a fresh database per test, cloned from a template
//! migrated once; the real server spawned on 127.0.0.1; factories.

pub mod cluster;
pub mod db;
pub mod factories;
pub mod mail;
pub mod oauth;
pub mod process;
pub mod server;
pub mod tools;
pub mod ws;

pub use db::TestDb;
pub use server::TestServer;
