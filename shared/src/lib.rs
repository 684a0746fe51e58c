//! What both services need and must agree on: the token claims and their
//! verification, the API's request/response/error bodies, and the small
//! pieces of configuration, HTTP, database and logging plumbing that would
//! otherwise be written twice and drift apart.

pub mod api;
pub mod claims;
pub mod config;
pub mod db;
pub mod health;
pub mod http;
pub mod openapi;
pub mod startup;
pub mod telemetry;
pub mod token;
