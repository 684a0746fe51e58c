//! The `login_failures` table: failed logins in a row per email, and the
//! back-off they earn. Keyed by the normalised email whether or not an
//! account has it, so the back-off is no account oracle.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::schema::login_failures;

/// Until when `email` must wait, if it must.
pub fn locked_until(conn: &mut PgConnection, email: &str) -> QueryResult<Option<DateTime<Utc>>> {
    login_failures::table
        .find(email)
        .select(login_failures::locked_until)
        .first(conn)
        .optional()
        .map(Option::flatten)
}

/// Counts one more failure for `email` (atomically) and returns the count.
pub fn record(conn: &mut PgConnection, email: &str) -> QueryResult<i32> {
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::email.eq(email),
            login_failures::failures.eq(1),
        ))
        .on_conflict(login_failures::email)
        .do_update()
        .set((
            login_failures::failures.eq(login_failures::failures + 1),
            login_failures::updated_at.eq(diesel::dsl::now),
        ))
        .returning(login_failures::failures)
        .get_result(conn)
}

/// Makes `email` wait until `until` before its next attempt.
pub fn lock(conn: &mut PgConnection, email: &str, until: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(login_failures::table.find(email))
        .set(login_failures::locked_until.eq(until))
        .execute(conn)
        .map(drop)
}

/// Forgets the failures of `email` after a successful login, and those
/// of emails that have been quiet for a day (at most 100 at a time).
pub fn clear(conn: &mut PgConnection, email: &str, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::delete(login_failures::table.find(email)).execute(conn)?;
    diesel::sql_query(
        "DELETE FROM login_failures WHERE email IN \
         (SELECT email FROM login_failures WHERE updated_at < $1 \
          AND (locked_until IS NULL OR locked_until < $1) LIMIT 100 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(now - chrono::Duration::days(1))
    .execute(conn)
    .map(drop)
}
