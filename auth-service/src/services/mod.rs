//! What each route does, named for it: [`accounts`] (sign-up),
//! [`sessions`] (log in, refresh, log out) and the login [`backoff`]
//! policy. Services orchestrate limits, hashing and blocking units of
//! work; they know no HTTP and no SQL (that is `routes` and `store`).

pub mod accounts;
pub mod backoff;
pub mod sessions;
