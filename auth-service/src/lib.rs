//! The auth service: accounts, passwords, sessions and token issuing.
//! `main.rs` reads the config and calls [`startup::build`]; the end-to-end
//! tests and the dev stack start the same thing.
//!
//! A request's way: `routes` (parse into `domain` types) → `services`
//! (limits, hashing, blocking units through `offload`) → `store` (diesel).

/// The service's name: its start-up line and the `service` label of
/// every metric it records.
pub const SERVICE: &str = "auth-service";

pub mod client_ip;
pub mod config;
pub mod domain;
pub mod error;
pub mod hash_gate;
pub mod measure;
pub mod offload;
pub mod openapi;
pub mod passwords;
pub mod rate_limit;
pub mod routes;
pub mod schema;
pub mod secrets;
pub mod services;
pub mod startup;
pub mod state;
pub mod store;
pub mod token_endpoint;
pub mod tokens;
