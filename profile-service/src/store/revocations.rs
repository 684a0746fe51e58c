//! The revocations the auth service's events brought (`revoked_sessions`,
//! `revoked_users`), the webhook ids already applied (`received_events`),
//! and the notification that tells every replica.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use uuid::Uuid;

use crate::revocations::Revocation;
use crate::schema::{profiles, received_events, revoked_sessions, revoked_users};
use crate::store::CHANNEL;

/// Records `webhook_id` as applied; `false` when it already was (a
/// redelivery, which must change nothing).
pub fn first_delivery(conn: &mut PgConnection, webhook_id: &str) -> QueryResult<bool> {
    let inserted = diesel::insert_into(received_events::table)
        .values(received_events::webhook_id.eq(webhook_id))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(inserted == 1)
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

/// Stores `revocation` (merged with what the user already has).
pub fn store(conn: &mut PgConnection, revocation: Revocation) -> QueryResult<()> {
    match revocation {
        Revocation::Session { session, expires } => diesel::sql_query(
            "INSERT INTO revoked_sessions (session_id, expires_at) VALUES ($1, $2) \
             ON CONFLICT (session_id) DO UPDATE \
             SET expires_at = greatest(revoked_sessions.expires_at, excluded.expires_at)",
        )
        .bind::<diesel::sql_types::Uuid, _>(session)
        .bind::<diesel::sql_types::Timestamptz, _>(at(expires))
        .execute(conn)
        .map(drop),
        Revocation::User {
            user,
            before,
            deleted,
            expires,
        } => diesel::sql_query(
            "INSERT INTO revoked_users (user_id, before, deleted, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO UPDATE SET \
               before = greatest(revoked_users.before, excluded.before), \
               deleted = revoked_users.deleted OR excluded.deleted, \
               expires_at = greatest(revoked_users.expires_at, excluded.expires_at)",
        )
        .bind::<diesel::sql_types::Uuid, _>(user)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, _>(before.map(at))
        .bind::<diesel::sql_types::Bool, _>(deleted)
        .bind::<diesel::sql_types::Timestamptz, _>(at(expires))
        .execute(conn)
        .map(drop),
    }
}

/// Tells every replica's listener (this one's included) about
/// `payload` when the transaction commits.
pub fn announce(conn: &mut PgConnection, payload: &str) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_notify($1, $2)")
        .bind::<Text, _>(CHANNEL)
        .bind::<Text, _>(payload)
        .execute(conn)
        .map(drop)
}

/// Deletes the profile of `user` (its trigger evicts it from every cache).
pub fn delete_profile(conn: &mut PgConnection, user: Uuid) -> QueryResult<()> {
    diesel::delete(profiles::table.find(user))
        .execute(conn)
        .map(drop)
}

/// A `revoked_users` row: user, before, deleted, expires_at.
type UserRow = (Uuid, Option<DateTime<Utc>>, bool, DateTime<Utc>);

/// Every revocation still in force at `now`.
pub fn live(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<Vec<Revocation>> {
    let sessions: Vec<(Uuid, DateTime<Utc>)> = revoked_sessions::table
        .filter(revoked_sessions::expires_at.gt(now))
        .select((revoked_sessions::session_id, revoked_sessions::expires_at))
        .load(conn)?;
    let users: Vec<UserRow> = revoked_users::table
        .filter(revoked_users::expires_at.gt(now))
        .select((
            revoked_users::user_id,
            revoked_users::before,
            revoked_users::deleted,
            revoked_users::expires_at,
        ))
        .load(conn)?;
    Ok(sessions
        .into_iter()
        .map(|(session, expires)| Revocation::Session {
            session,
            expires: expires.timestamp(),
        })
        .chain(
            users
                .into_iter()
                .map(|(user, before, deleted, expires)| Revocation::User {
                    user,
                    before: before.map(|before| before.timestamp()),
                    deleted,
                    expires: expires.timestamp(),
                }),
        )
        .collect())
}

/// Deletes up to 1,000 rows of each table that no longer matter at `now`
/// (expired revocations; webhook ids older than an hour).
pub fn sweep(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    let hour_ago = now - chrono::Duration::hours(1);
    let mut gone = 0;
    for (sql, cutoff) in [
        (
            "DELETE FROM revoked_sessions WHERE session_id IN (SELECT session_id FROM revoked_sessions \
             WHERE expires_at <= $1 ORDER BY expires_at LIMIT 1000)",
            now,
        ),
        (
            "DELETE FROM revoked_users WHERE user_id IN (SELECT user_id FROM revoked_users \
             WHERE expires_at <= $1 ORDER BY expires_at LIMIT 1000)",
            now,
        ),
        (
            "DELETE FROM received_events WHERE webhook_id IN (SELECT webhook_id FROM received_events \
             WHERE received_at <= $1 ORDER BY received_at LIMIT 1000)",
            hour_ago,
        ),
    ] {
        gone += diesel::sql_query(sql)
            .bind::<diesel::sql_types::Timestamptz, _>(cutoff)
            .execute(conn)?;
    }
    Ok(gone)
}
