//! What each route does, named for it: [`accounts`] (sign-up),
//! [`sessions`] (log in, refresh, log out, list and end sessions),
//! [`recovery`] (the mailed flows: verify, recover, reset),
//! [`password_change`] and [`account_deletion`], both behind
//! [`reauth`]. Services orchestrate limits, hashing and blocking units of
//! work; they know no HTTP and no SQL (that is `routes` and `store`).

pub mod account_deletion;
pub mod accounts;
pub mod password_change;
pub mod reauth;
pub mod recovery;
pub mod sessions;
pub mod totp;
