//! What each route does, named for it: [`profiles`] (read and change the
//! caller's own). Services orchestrate the cache and blocking units of
//! work; they know no HTTP and no SQL (that is `routes` and `store`).

pub mod profiles;
