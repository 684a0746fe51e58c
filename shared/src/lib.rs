//! The contract both services (and any client or third service) agree on:
//! the token claims and their codec, the API's request/response/error
//! bodies with their OpenAPI schemas, and the key sets with their rules.
//! It depends on no web framework, database driver or UI crate, so
//! anything that wants [`claims::AccessClaims`] can depend on it cheaply.
//! What the services *run on* (configuration from the environment
//! included) is the `service-kit` crate.

pub mod api;
pub mod claims;
pub mod events;
pub mod keys;
pub mod responses;
pub mod token;
