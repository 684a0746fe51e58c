//! Running the stack without Docker: both services in one process against
//! a throwaway PostgreSQL (or the server in `DATABASE_URL`), for the dev
//! stack and the benchmark. The PostgreSQL part is the `test-db` crate's.

pub mod stack;
