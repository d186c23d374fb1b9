//! Store implementations behind `ucplus_core::Store`.
//!
//! - [`SqliteStore`]: the embedded default (WAL, busy timeout), one file in the data dir.
//!
//! The SQL is kept portable (TEXT ids, BIGINT unix-ms times, `$n` placeholders, standard
//! `ON CONFLICT`) so the PostgreSQL back-end shares it; migrations run at start-up.

mod migrations;
mod rows;
mod sqlite;

pub use sqlite::SqliteStore;
