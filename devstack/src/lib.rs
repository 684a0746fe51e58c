//! Running the stack without Docker: a throwaway PostgreSQL server for the
//! dev stack and the end-to-end tests.

pub mod postgres;
