//! What each route does, named for it: [`accounts`] (sign-up) and
//! [`sessions`] (log in, refresh, log out). Services orchestrate limits, hashing and blocking units of
//! work; they know no HTTP and no SQL (that is `routes` and `store`).

pub mod accounts;
pub mod sessions;
