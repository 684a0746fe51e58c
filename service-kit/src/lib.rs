//! What both services run on, so they start, answer errors, log and stop
//! the same way: configuration from the environment ([`config`]), the
//! access-token check of Bearer routes ([`bearer`]),
//! start-up and graceful shutdown ([`startup`]) with the work beside the
//! server ([`background`]), request extraction with
//! the contract's error bodies ([`extract`]) and a deadline on slow bodies
//! ([`body_deadline`]), the JSON fallbacks for routing errors
//! ([`fallback`]), the one infrastructure error ([`error`]), the database
//! pool and its own error ([`db`]), logging ([`telemetry`]), the health
//! routes ([`health`]) and the OpenAPI/Swagger UI wiring ([`docs`]).
//!
//! The contract itself (claims, bodies, key sets) is the `shared` crate.

pub mod background;
pub mod bearer;
pub mod body_deadline;
pub mod commands;
pub mod config;
pub mod db;
pub mod docs;
pub mod error;
pub mod extract;
pub mod fallback;
pub mod health;
pub mod metrics;
pub mod startup;
pub mod telemetry;
