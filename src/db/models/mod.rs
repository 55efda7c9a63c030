//! Row types and the queries that own them, one module per table.

pub mod user;
