//! The `totp_factors` and `recovery_codes` tables: an account's encrypted
//! TOTP secret (pending or confirmed), the last time step accepted, and
//! the hashes of its unused recovery codes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::mfa::cipher::Sealed;
use crate::schema::{recovery_codes, totp_factors, users};

/// A stored TOTP factor.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = totp_factors, check_for_backend(diesel::pg::Pg))]
pub struct Factor {
    pub secret_ciphertext: Vec<u8>,
    pub secret_nonce: Vec<u8>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub last_used_step: Option<i64>,
}

impl Factor {
    /// The secret as sealed.
    pub fn sealed(&self) -> Sealed {
        Sealed {
            nonce: self.secret_nonce.clone(),
            ciphertext: self.secret_ciphertext.clone(),
        }
    }
}

/// Stores `sealed` as `user`'s pending enrolment, replacing an earlier
/// pending one; `false` (nothing written) when TOTP is already on.
pub fn put_pending(conn: &mut PgConnection, user: Uuid, sealed: &Sealed) -> QueryResult<bool> {
    use diesel::sql_types::{Bytea, Uuid as SqlUuid};
    let written = diesel::sql_query(
        "INSERT INTO totp_factors (user_id, secret_ciphertext, secret_nonce) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET secret_ciphertext = EXCLUDED.secret_ciphertext, \
         secret_nonce = EXCLUDED.secret_nonce, created_at = now(), last_used_step = NULL \
         WHERE totp_factors.confirmed_at IS NULL",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<Bytea, _>(&sealed.ciphertext)
    .bind::<Bytea, _>(&sealed.nonce)
    .execute(conn)?;
    Ok(written == 1)
}

/// `user`'s factor, its row locked until the transaction ends (two
/// requests with one code queue, and the second sees the step used).
pub fn lock(conn: &mut PgConnection, user: Uuid) -> QueryResult<Option<Factor>> {
    totp_factors::table
        .find(user)
        .select(Factor::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Records that a code of `step` was accepted for `user`.
pub fn use_step(conn: &mut PgConnection, user: Uuid, step: i64) -> QueryResult<()> {
    diesel::update(totp_factors::table.find(user))
        .set(totp_factors::last_used_step.eq(step))
        .execute(conn)
        .map(drop)
}

/// Turns `user`'s pending factor on, with `hashes` as its recovery codes
/// (replacing any left over).
pub fn confirm(
    conn: &mut PgConnection,
    user: Uuid,
    step: i64,
    hashes: &[Vec<u8>],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(totp_factors::table.find(user))
        .set((
            totp_factors::confirmed_at.eq(now),
            totp_factors::last_used_step.eq(step),
        ))
        .execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user))).execute(conn)?;
    let rows: Vec<_> = hashes
        .iter()
        .map(|hash| {
            (
                recovery_codes::user_id.eq(user),
                recovery_codes::code_hash.eq(hash),
            )
        })
        .collect();
    diesel::insert_into(recovery_codes::table)
        .values(&rows)
        .execute(conn)?;
    set_enabled(conn, user, true)
}

/// Turns TOTP off for `user`: the factor and its recovery codes go.
pub fn remove(conn: &mut PgConnection, user: Uuid) -> QueryResult<()> {
    diesel::delete(totp_factors::table.find(user)).execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user))).execute(conn)?;
    set_enabled(conn, user, false)
}

fn set_enabled(conn: &mut PgConnection, user: Uuid, on: bool) -> QueryResult<()> {
    diesel::update(users::table.find(user))
        .set(users::totp_enabled.eq(on))
        .execute(conn)
        .map(drop)
}

/// The hashes of `user`'s unused recovery codes.
pub fn recovery_hashes(conn: &mut PgConnection, user: Uuid) -> QueryResult<Vec<Vec<u8>>> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user))
        .select(recovery_codes::code_hash)
        .load(conn)
}

/// Uses up the recovery code hashed to `hash`; whether it was unused.
pub fn use_recovery(conn: &mut PgConnection, user: Uuid, hash: &[u8]) -> QueryResult<bool> {
    let deleted = diesel::delete(recovery_codes::table.find((user, hash))).execute(conn)?;
    Ok(deleted == 1)
}
