//! The `event_outbox` table: events for receivers, one row per event and
//! endpoint, written in the transaction of the change ([`enqueue`]). A
//! runner [`claim`]s the oldest row of each (endpoint, user) that is due,
//! leasing it, then [`finish`]es or [`retry_at`]s it. Rows are never
//! given up: a receiver that is down gets them when it is back.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Interval, Text};
use uuid::Uuid;

use crate::schema::event_outbox;
use crate::store::interval;

/// A row to write.
#[derive(Debug, Insertable)]
#[diesel(table_name = event_outbox, check_for_backend(diesel::pg::Pg))]
pub struct NewEvent<'a> {
    pub webhook_id: &'a str,
    pub endpoint: &'a str,
    pub user_id: Uuid,
    pub body: &'a str,
}

/// A claimed row.
#[derive(Debug, QueryableByName)]
#[diesel(table_name = event_outbox, check_for_backend(diesel::pg::Pg))]
pub struct Claimed {
    pub id: i64,
    pub webhook_id: String,
    pub endpoint: String,
    pub body: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

/// Writes `rows` (one event for each endpoint).
pub fn enqueue(conn: &mut PgConnection, rows: &[NewEvent<'_>]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    diesel::insert_into(event_outbox::table)
        .values(rows)
        .execute(conn)
        .map(drop)
}

/// Claims up to `limit` rows for `endpoints`, each the oldest row of its
/// (endpoint, user) and due, and leases them for `lease`. A user whose
/// oldest row is leased or backing off gets nothing: their events go one
/// at a time, in order. Two runners racing for a row: the second's
/// `UPDATE` waits for the first's, then re-checks `next_attempt_at` and
/// skips it.
pub fn claim(
    conn: &mut PgConnection,
    endpoints: &[String],
    limit: i64,
    lease: Duration,
) -> QueryResult<Vec<Claimed>> {
    diesel::sql_query(
        "UPDATE event_outbox SET attempts = attempts + 1, next_attempt_at = now() + $1 \
         WHERE id IN (SELECT id FROM ( \
                        SELECT DISTINCT ON (endpoint, user_id) id, next_attempt_at \
                        FROM event_outbox WHERE endpoint = ANY($2) \
                        ORDER BY endpoint, user_id, id) heads \
                      WHERE next_attempt_at <= now() ORDER BY id LIMIT $3) \
           AND next_attempt_at <= now() \
         RETURNING id, webhook_id, endpoint, body, attempts",
    )
    .bind::<Interval, _>(interval(lease))
    .bind::<Array<Text>, _>(endpoints)
    .bind::<BigInt, _>(limit)
    .load(conn)
}

/// Delivered: the row goes.
pub fn finish(conn: &mut PgConnection, id: i64) -> QueryResult<()> {
    diesel::delete(event_outbox::table.find(id))
        .execute(conn)
        .map(drop)
}

/// Not delivered: due again at `at`.
pub fn retry_at(
    conn: &mut PgConnection,
    id: i64,
    at: DateTime<Utc>,
    error: &str,
) -> QueryResult<()> {
    diesel::update(event_outbox::table.find(id))
        .set((
            event_outbox::next_attempt_at.eq(at),
            event_outbox::last_error.eq(error),
        ))
        .execute(conn)
        .map(drop)
}

/// How many rows wait for `endpoint`.
pub fn pending_for(conn: &mut PgConnection, endpoint: &str) -> QueryResult<i64> {
    event_outbox::table
        .filter(event_outbox::endpoint.eq(endpoint))
        .count()
        .get_result(conn)
}
