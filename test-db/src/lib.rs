//! PostgreSQL for the end-to-end tests, the benchmark and the dev stack,
//! in one place (like crates.io's `crates_io_test_db`):
//!
//! - [`PgServer`]: the server in `DATABASE_URL`, or a throwaway one
//!   started from the local server binaries ([`TempPostgres`]);
//! - [`Templates`]: one migrated template database per service, made once
//!   per run, and [`TestDatabase`], a copy per test that drops itself on
//!   `Drop`; databases left by killed runs are swept when the next run
//!   prepares its templates.

mod pg_server;
mod server;
mod templates;

pub use pg_server::{PgServer, ServerError};
pub use server::{PostgresError, TempPostgres, spawn_watchdog};
pub use templates::{Templates, TestDatabase};
