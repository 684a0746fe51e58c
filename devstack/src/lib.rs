//! The dev stack without Docker: both services in one process against a
//! throwaway PostgreSQL (or the server in `DATABASE_URL`), which `main.rs`
//! runs until Ctrl-C and the `bench` crate's scale run starts too. The
//! PostgreSQL part is the `test-db` crate's.

pub mod stack;
