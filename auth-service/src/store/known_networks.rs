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
/// sweeps up to 100 expired memories.
pub fn remember(
    conn: &mut PgConnection,
    user: Uuid,
    hash: &[u8],
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(known_networks::table)
        .values((
            known_networks::user_id.eq(user),
            known_networks::network_hash.eq(hash),
            known_networks::expires_at.eq(expires_at),
        ))
        .on_conflict((known_networks::user_id, known_networks::network_hash))
        .do_update()
        .set(known_networks::expires_at.eq(expires_at))
        .execute(conn)?;
    diesel::sql_query(
        "DELETE FROM known_networks WHERE (user_id, network_hash) IN \
         (SELECT user_id, network_hash FROM known_networks WHERE expires_at < $1 \
          ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .execute(conn)
    .map(drop)
}
