//! The auth service: accounts, passwords, sessions and token issuing.
//! `main.rs` reads the [`config`] and calls [`startup::build`]; the
//! end-to-end tests and the dev stack start the same thing. The one other
//! way in is [`testing`], for the benchmarks, fuzz targets and tests.
//!
//! A request's way: `routes` (parse into `domain` types) → `services`
//! (limits, hashing, blocking units through `offload`) → `store` (diesel).
//! Work after the response: `jobs` written to the outbox, run by
//! `workers`, which send `mail`.

/// The service's name: its start-up line and the `service` label of
/// every metric it records.
pub const SERVICE: &str = "auth-service";

pub mod config;
pub mod secrets;
pub mod startup;
pub mod testing;

pub(crate) mod bearer;
pub(crate) mod client_ip;
pub(crate) mod discovery;
pub(crate) mod domain;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod hash_gate;
pub(crate) mod jobs;
pub(crate) mod mail;
pub(crate) mod measure;
pub(crate) mod mfa;
pub(crate) mod offload;
pub(crate) mod openapi;
pub(crate) mod passwords;
pub(crate) mod rate_limit;
pub(crate) mod routes;
pub(crate) mod schema;
pub(crate) mod services;
pub(crate) mod state;
pub(crate) mod store;
pub(crate) mod token_endpoint;
pub(crate) mod tokens;
pub(crate) mod workers;
