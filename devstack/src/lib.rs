//! Running the stack without Docker: a throwaway PostgreSQL server for the
//! dev stack, the benchmarks and the end-to-end tests, and both services in
//! one process.

pub mod postgres;
pub mod stack;
