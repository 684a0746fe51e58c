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

/// Remembers that `user` logged in from `hash` until `expires_at`, and
/// sweeps up to 100 expired memories (never this one, which the same
/// statement writes): one round trip, as each login, signup and refresh
/// makes it.
pub fn remember(
    conn: &mut PgConnection,
    user: Uuid,
    hash: &[u8],
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "WITH swept AS ( \
             DELETE FROM known_networks WHERE (user_id, network_hash) IN \
             (SELECT user_id, network_hash FROM known_networks \
              WHERE expires_at < $4 AND (user_id, network_hash) <> ($1, $2) \
              ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED)) \
         INSERT INTO known_networks (user_id, network_hash, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, network_hash) DO UPDATE SET expires_at = EXCLUDED.expires_at",
    )
    .bind::<diesel::sql_types::Uuid, _>(user)
    .bind::<diesel::sql_types::Bytea, _>(hash)
    .bind::<diesel::sql_types::Timestamptz, _>(expires_at)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .execute(conn)
    .map(drop)
}
