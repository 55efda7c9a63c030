//! PostgreSQL: connections, the pool, embedded migrations, table definitions and row types.
//!
//! Diesel imports stay inside this module tree: `diesel_async::RunQueryDsl::execute`
//! would otherwise shadow `async_graphql::Schema::execute`.

pub mod availability;
pub mod backup;
pub mod connect;
pub mod conninfo;
pub mod constraints;
pub mod embedded;
pub mod enums;
pub mod migrate;
pub mod models;
pub mod pagination;
pub mod pool;
pub mod replicas;
pub mod schema;
pub mod statement_budget;
pub mod tls;
pub mod transaction_pooler;

pub use pool::{DbConn, DbPool};
