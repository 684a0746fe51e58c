//! The `outbox` table: work for after the response. [`enqueue`] takes the
//! transaction's connection of the change that needs the work; a runner
//! [`claim`]s due rows (leasing them, so two runners never hold the same
//! row and a runner killed mid-delivery leaves it to the next), then
//! [`finish`]es, [`retry_at`]s or [`give_up`]s each.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Interval, Text};

use crate::jobs::Job;
use crate::schema::outbox;
use crate::store::interval;

/// A claimed row.
#[derive(Debug, QueryableByName)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct Claimed {
    pub id: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// Writes `job` to the outbox, to run once the transaction commits (a
/// trigger wakes the runners).
pub fn enqueue<J: Job>(conn: &mut PgConnection, job: &J) -> QueryResult<()> {
    let payload = serde_json::to_value(job)
        .map_err(|error| diesel::result::Error::SerializationError(Box::new(error)))?;
    diesel::insert_into(outbox::table)
        .values((outbox::kind.eq(J::KIND), outbox::payload.eq(payload)))
        .execute(conn)
        .map(drop)
}

/// Claims up to `limit` due rows of `kinds`, oldest first, and leases them
/// for `lease`: no other runner sees them until then.
pub fn claim(
    conn: &mut PgConnection,
    kinds: &[&str],
    limit: i64,
    lease: Duration,
) -> QueryResult<Vec<Claimed>> {
    diesel::sql_query(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = now() + $1 \
         WHERE id IN (SELECT id FROM outbox \
                      WHERE failed_at IS NULL AND next_attempt_at <= now() AND kind = ANY($2) \
                      ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
         RETURNING id, kind, payload, attempts, created_at",
    )
    .bind::<Interval, _>(interval(lease))
    .bind::<Array<Text>, _>(kinds)
    .bind::<BigInt, _>(limit)
    .load(conn)
}

/// The row's work is done: it goes, and with it any secret it held.
pub fn finish(conn: &mut PgConnection, id: i64) -> QueryResult<()> {
    diesel::delete(outbox::table.find(id))
        .execute(conn)
        .map(drop)
}

/// The row's work failed for now: due again at `at`.
pub fn retry_at(
    conn: &mut PgConnection,
    id: i64,
    at: DateTime<Utc>,
    error: &str,
) -> QueryResult<()> {
    diesel::update(outbox::table.find(id))
        .set((outbox::next_attempt_at.eq(at), outbox::last_error.eq(error)))
        .execute(conn)
        .map(drop)
}

/// The row's work will never be done: kept for an operator with its
/// payload's `token` erased, and never claimed again.
pub fn give_up(conn: &mut PgConnection, id: i64, error: &str) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE outbox SET failed_at = now(), last_error = $2, payload = CASE \
           WHEN payload ? 'message' THEN jsonb_set(payload, '{message}', (payload->'message') - 'token') \
           ELSE payload END \
         WHERE id = $1",
    )
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(error)
    .execute(conn)
    .map(drop)
}

/// How many rows of `kinds` wait, and since when the oldest has.
pub fn pending(
    conn: &mut PgConnection,
    kinds: &[&str],
) -> QueryResult<(i64, Option<DateTime<Utc>>)> {
    outbox::table
        .filter(outbox::kind.eq_any(kinds))
        .filter(outbox::failed_at.is_null())
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(outbox::created_at),
        ))
        .first(conn)
}
