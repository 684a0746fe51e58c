//! Running the stack without Docker: both services in one process against
//! a throwaway PostgreSQL (or the server in `DATABASE_URL`), for the dev
//! stack (`stack`); the benchmark (`bench`: the release binaries as
//! separate processes, wrk, the soak) and its scale mode (`scale`). The
//! PostgreSQL part is the `test-db` crate's.

pub mod bench;
pub mod scale;
pub mod stack;
