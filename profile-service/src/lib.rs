//! The profile service: `GET/PATCH /me`, verifying access tokens locally.
//! `main.rs` reads the config and calls [`startup::build`]; the end-to-end
//! tests and the dev stack start the same thing.
//!
//! A request's way: `routes` (the bearer check in `bearer`, the body into
//! `domain` types) → `services` (the cache, blocking units of work) →
//! `store` (diesel).

/// The service's name: its start-up line and the `service` label of
/// every metric it records.
pub const SERVICE: &str = "profile-service";

pub mod bearer;
pub mod cache;
pub mod config;
pub mod domain;
pub mod error;
pub mod listener;
pub mod openapi;
pub mod routes;
pub mod schema;
pub mod services;
pub mod startup;
pub mod store;
