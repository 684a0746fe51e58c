//! End-to-end tests: a throwaway PostgreSQL, both real service binaries on
//! free ports, and real HTTP. One test binary, many modules: linking actix
//! and diesel once is what keeps the suite fast on two cores.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod account_sessions;
mod ambiguity;
mod backoff;
mod cache;
mod commands;
mod config;
mod devstack;
mod error_wording;
mod faults;
mod gate;
mod known_networks;
mod login;
mod logs;
mod lookalikes;
mod mail_outbox;
mod mail_recovery;
mod mail_verify;
mod me;
mod metric_labels;
mod metrics;
mod missing_tools;
mod outage;
mod pool;
mod rate_limit;
mod refresh_errors;
mod revocation;
mod rotation;
mod routing;
mod session_storage;
mod sessions;
mod shutdown;
mod signing_keys;
mod signup;
mod slow_bodies;
mod storm;
mod support;
mod tokens;
mod totp;
