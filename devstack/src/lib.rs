//! The dev stack without Docker: both services in one process against a
//! throwaway PostgreSQL (or the server in `DATABASE_URL`), which `main.rs`
//! runs until Ctrl-C and the `bench` crate's scale run starts too. The
//! PostgreSQL part is the `test-db` crate's; [`mail_catcher`] is where the
//! auth service's mail goes.

pub mod mail_catcher;
pub mod stack;
