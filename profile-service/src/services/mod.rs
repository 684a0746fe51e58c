//! What each route does, named for it: [`profiles`] (read and change the
//! caller's own) and [`events`] (apply the auth service's events).
//! Services orchestrate the cache and blocking units of work; they know no
//! HTTP and no SQL (that is `routes` and `store`).

pub mod events;
pub mod profiles;
