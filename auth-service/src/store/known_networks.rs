//! The `known_networks` table: client networks each user has logged in
//! from, as keyed hashes, exempt from the account-wide login ceiling until
//! they expire.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::schema::known_networks;

/// Whether `user` has logged in from the network hashed as `hash` and
/// that memory has not expired. An unknown email asks about the nil user,
/// so both cost the same query.
pub fn is_known(
    conn: &mut PgConnection,
    user: Uuid,
    hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        known_networks::table
            .find((user, hash))
            .filter(known_networks::expires_at.gt(now)),
    ))
    .get_result(conn)
}

diesel::define_sql_function! {
    /// The upsert and sweep of [`remember`] (migration
    /// `hot_path_functions`): how many expired memories it swept.
    fn remember_network(
        user_id: diesel::sql_types::Uuid,
        network_hash: diesel::sql_types::Bytea,
        expires_at: diesel::sql_types::Timestamptz,
        now: diesel::sql_types::Timestamptz,
    ) -> diesel::sql_types::Integer;
}

/// Remembers that `user` logged in from `hash` until `expires_at`, and
/// sweeps up to 100 memories expired before `now` (never this one, which
/// the same statement writes): one prepared statement, as each login,
/// signup and refresh makes it.
pub fn remember(
    conn: &mut PgConnection,
    user: Uuid,
    hash: &[u8],
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::select(remember_network(user, hash, expires_at, now))
        .get_result::<i32>(conn)
        .map(drop)
}
