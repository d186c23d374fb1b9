//! Store implementations behind `ucplus_core::Store`.
//!
//! [`SqlStore`] runs on the embedded SQLite (the default: one file in the data directory)
//! or on PostgreSQL (several nodes on one database). The SQL is written once in the
//! portable dialect both accept (TEXT ids, BIGINT unix-ms times, `$n` placeholders,
//! standard `ON CONFLICT`); migrations run at start-up.

pub mod cluster;
mod db;
mod migrations;
mod rows;
pub mod scratch;
mod sql;

pub use sql::{Backend, CopiedTable, SqlStore};
