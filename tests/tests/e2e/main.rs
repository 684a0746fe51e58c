//! End-to-end tests: a throwaway PostgreSQL, both real service binaries on
//! free ports, and real HTTP. One test binary, many modules: linking actix
//! and diesel once is what keeps the suite fast on two cores.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ambiguity;
mod backoff;
mod cache;
mod client;
mod commands;
mod config;
mod db;
mod devstack;
mod faults;
mod gate;
mod jwt;
mod login;
mod logs;
mod me;
mod metrics;
mod outage;
mod pool;
mod rate_limit;
mod rotation;
mod routing;
mod service;
mod sessions;
mod shutdown;
mod signup;
mod slow_bodies;
mod stack;
mod tokens;
