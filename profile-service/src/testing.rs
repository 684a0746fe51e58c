//! The surface of this crate for the benchmarks (`bench/`), the fuzz
//! targets (`fuzz/`) and the end-to-end tests (`tests/`), and for nothing
//! else: each item is here because one of them needs it, so the rest of
//! the crate stays private. The service itself never goes through here.

use diesel::{PgConnection, QueryResult};
use uuid::Uuid;

/// The migrations the service runs at start-up, for the tests' template
/// database.
pub use crate::store::MIGRATIONS;

/// The table, for the scale run's `COPY` target: a column renamed in the
/// schema fails to compile there instead of failing at run time.
pub use crate::schema::profiles;

/// The `Authorization: Bearer` extractor, for the benchmark's ceiling
/// server, which must verify a token exactly as `GET /me` does. It needs a
/// `web::Data<shared::token::TokenCodec>` and a `web::Data<Revocations>`
/// in the app's data.
pub use crate::bearer::Authenticated;

/// The revocation set the bearer check looks in (`Revocations::new(false)`
/// is an empty one that never waits for events).
pub use crate::revocations::Revocations;

/// The `application_name` of the cache's `LISTEN` connection, by which the
/// tests find it in `pg_stat_activity`.
pub use crate::listener::APPLICATION_NAME as LISTENER_APPLICATION_NAME;

/// The service's own read of `user`'s profile by primary key (what
/// `GET /me` runs without the cache), for the benchmark's
/// PostgreSQL-alone figure; says whether there is one.
pub fn find_profile(conn: &mut PgConnection, user: Uuid) -> QueryResult<bool> {
    crate::store::profiles::find(conn, user).map(|profile| profile.is_some())
}
