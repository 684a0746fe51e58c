//! The profile service: `GET/PATCH /me`, verifying access tokens locally.
//! `main.rs` reads the [`config`] and calls [`startup::build`]; the
//! end-to-end tests and the dev stack start the same thing. The one other
//! way in is [`testing`], for the benchmarks and tests.
//!
//! A request's way: `routes` (the bearer check in `bearer`, the body into
//! `domain` types) → `services` (the cache, blocking units of work) →
//! `store` (diesel).

/// The service's name: its start-up line and the `service` label of
/// every metric it records.
pub const SERVICE: &str = "profile-service";

pub mod config;
pub mod startup;
pub mod testing;

pub(crate) mod bearer;
pub(crate) mod cache;
pub(crate) mod domain;
pub(crate) mod error;
pub(crate) mod internal;
pub(crate) mod listener;
pub(crate) mod openapi;
pub(crate) mod revocations;
pub(crate) mod routes;
pub(crate) mod schema;
pub(crate) mod served;
pub(crate) mod services;
pub(crate) mod store;
