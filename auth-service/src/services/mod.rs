//! What each route does, named for it: [`accounts`] (sign-up),
//! [`sessions`] (log in, refresh, log out), [`recovery`] (the mailed
//! flows: verify, recover, reset) and [`password_change`]. Services
//! orchestrate limits, hashing and blocking units of work; they know no
//! HTTP and no SQL (that is `routes` and `store`).

pub mod accounts;
pub mod password_change;
pub mod recovery;
pub mod sessions;
