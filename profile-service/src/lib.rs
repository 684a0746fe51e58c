//! The profile service: `GET/PATCH /me`, verifying access tokens locally.
//! `main.rs` reads the config and calls [`startup::build`]; the end-to-end
//! tests and the dev stack start the same thing.

pub mod bearer;
pub mod cache;
pub mod config;
pub mod domain;
pub mod error;
pub mod listener;
pub mod openapi;
pub mod routes;
pub mod schema;
pub mod startup;
pub mod store;
