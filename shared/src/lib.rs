//! The contract both services (and any client or third service) agree on:
//! the token claims and their codec, the API's request/response/error
//! bodies with their OpenAPI schemas, and the rules for configuration
//! values. It depends on no web framework, database driver or UI crate, so
//! anything that wants [`claims::AccessClaims`] can depend on it cheaply.
//! What the services *run on* is the `service-kit` crate.

pub mod api;
pub mod claims;
pub mod config;
pub mod keys;
pub mod responses;
pub mod token;
