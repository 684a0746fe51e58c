//! End-to-end tests: a throwaway PostgreSQL, both real service binaries on
//! free ports, and real HTTP. One test binary, many modules: linking actix
//! and diesel once is what keeps the suite fast on two cores.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod db;
mod jwt;
mod login;
mod me;
mod ops;
mod rate_limit;
mod sessions;
mod signup;
mod stack;
mod tokens;
