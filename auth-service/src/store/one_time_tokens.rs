//! The `one_time_tokens` table: the SHA-256 of each account's live
//! verification and reset token, one per purpose. Its `created_at` is when
//! the account was last mailed for that purpose.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types;
use uuid::Uuid;

use crate::jobs::Purpose;
use crate::schema::one_time_tokens;

/// Stores `hash` as `user`'s token for `purpose` until `expires_at`,
/// replacing the one before (which stops working), unless that one was
/// made after `not_since` (the mail interval): then nothing changes and
/// the answer is `false`.
pub fn issue(
    conn: &mut PgConnection,
    user: Uuid,
    purpose: Purpose,
    hash: &[u8],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    not_since: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::sql_query(
        "INSERT INTO one_time_tokens (user_id, purpose, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (user_id, purpose) DO UPDATE \
         SET token_hash = excluded.token_hash, created_at = excluded.created_at, \
             expires_at = excluded.expires_at \
         WHERE one_time_tokens.created_at <= $6",
    )
    .bind::<sql_types::Uuid, _>(user)
    .bind::<sql_types::Text, _>(purpose.as_str())
    .bind::<sql_types::Bytea, _>(hash)
    .bind::<sql_types::Timestamptz, _>(now)
    .bind::<sql_types::Timestamptz, _>(expires_at)
    .bind::<sql_types::Timestamptz, _>(not_since)
    .execute(conn)
    .map(|rows| rows == 1)
}

/// Uses up the live token for `purpose` whose hash is `hash`: the account
/// it belongs to, or `None` when there is no such token or it expired.
pub fn take(
    conn: &mut PgConnection,
    purpose: Purpose,
    hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<Uuid>> {
    diesel::delete(
        one_time_tokens::table
            .filter(one_time_tokens::purpose.eq(purpose.as_str()))
            .filter(one_time_tokens::token_hash.eq(hash))
            .filter(one_time_tokens::expires_at.gt(now)),
    )
    .returning(one_time_tokens::user_id)
    .get_result(conn)
    .optional()
}

/// The account the live token for `purpose` with `hash` belongs to,
/// without using it up (a reset whose new password is refused keeps its
/// token).
pub fn peek(
    conn: &mut PgConnection,
    purpose: Purpose,
    hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<Uuid>> {
    one_time_tokens::table
        .filter(one_time_tokens::purpose.eq(purpose.as_str()))
        .filter(one_time_tokens::token_hash.eq(hash))
        .filter(one_time_tokens::expires_at.gt(now))
        .select(one_time_tokens::user_id)
        .first(conn)
        .optional()
}
