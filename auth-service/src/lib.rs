//! The auth service: accounts, passwords, sessions and token issuing.
//! `main.rs` reads the config and calls [`startup::Application`]; the
//! end-to-end tests and the dev stack start the same thing.

pub mod config;
pub mod domain;
pub mod error;
pub mod grants;
pub mod openapi;
pub mod passwords;
pub mod rate_limit;
pub mod routes;
pub mod schema;
pub mod startup;
pub mod state;
pub mod store;
pub mod tokens;
