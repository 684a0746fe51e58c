//! Login attempts counted *before* the password is checked, in one
//! statement each, so that parallel guesses cannot slip past the count:
//!
//! - `login_failures`: attempts in a row per (email, client network). From
//!   the `limit`-th on, each attempt sets a wait of 1 s doubling up to
//!   15 minutes; while it runs, attempts are refused without counting.
//! - `login_account_failures`: attempts per email per hour from networks
//!   that never logged in to it, up to a ceiling.
//!
//! Keyed by the normalised email whether or not an account has it, so the
//! back-off is no account oracle.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamptz};

use crate::schema::{login_account_failures, login_failures};

/// The longest back-off after repeated failed logins, in seconds.
pub const MAX_BACKOFF_SECONDS: i32 = 15 * 60;

/// One login attempt to count.
pub struct Attempt<'a> {
    pub email: &'a str,
    /// The client network, as text (`203.0.113.7`, `2001:db8:1:2::/64`).
    pub network: &'a str,
    /// Whether `network` has logged in to this account before.
    pub known_network: bool,
    /// `LOGIN_FAILURE_LIMIT`; 0 counts nothing per network.
    pub network_limit: u32,
    /// `LOGIN_FAILURE_ACCOUNT_LIMIT`; 0 counts nothing per account.
    pub account_limit: u32,
    pub now: DateTime<Utc>,
}

/// What counting an attempt decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Counted: check the password.
    Check,
    /// Refused until then, uncounted: no password check.
    Wait(DateTime<Utc>),
}

/// Counts `attempt` on both counters in one transaction: if the account
/// ceiling refuses it, the network count is rolled back too.
pub fn reserve(conn: &mut PgConnection, attempt: &Attempt<'_>) -> QueryResult<Verdict> {
    let outcome = conn.transaction(|conn| {
        if let Verdict::Wait(until) = reserve_network(conn, attempt)? {
            return Ok(Verdict::Wait(until));
        }
        if attempt.known_network || attempt.account_limit == 0 {
            return Ok(Verdict::Check);
        }
        match reserve_account(conn, attempt)? {
            Verdict::Check => Ok(Verdict::Check),
            wait => Err(Abort::Refused(wait)),
        }
    });
    match outcome {
        Ok(verdict) | Err(Abort::Refused(verdict)) => Ok(verdict),
        Err(Abort::Query(error)) => Err(error),
    }
}

/// Why the counting transaction rolled back.
enum Abort {
    /// The account ceiling refused: the network count is undone too.
    Refused(Verdict),
    Query(diesel::result::Error),
}

impl From<diesel::result::Error> for Abort {
    fn from(error: diesel::result::Error) -> Self {
        Self::Query(error)
    }
}

fn reserve_network(conn: &mut PgConnection, attempt: &Attempt<'_>) -> QueryResult<Verdict> {
    if attempt.network_limit == 0 {
        return Ok(Verdict::Check);
    }
    let limit = i32::try_from(attempt.network_limit).unwrap_or(i32::MAX);
    let first_lock = (limit <= 1).then(|| attempt.now + chrono::Duration::seconds(1));
    let counted = diesel::sql_query(
        "INSERT INTO login_failures AS f (email, network, failures, locked_until, updated_at) \
         VALUES ($1, $2, 1, $3, $4) \
         ON CONFLICT (email, network) DO UPDATE SET \
             failures = f.failures + 1, \
             locked_until = CASE WHEN f.failures + 1 >= $5 \
                 THEN $4 + LEAST($6, power(2, LEAST(20, f.failures + 1 - $5))) * interval '1 second' \
                 ELSE NULL END, \
             updated_at = $4 \
         WHERE f.locked_until IS NULL OR f.locked_until <= $4",
    )
    .bind::<Text, _>(attempt.email)
    .bind::<Text, _>(attempt.network)
    .bind::<Nullable<Timestamptz>, _>(first_lock)
    .bind::<Timestamptz, _>(attempt.now)
    .bind::<Integer, _>(limit)
    .bind::<Integer, _>(MAX_BACKOFF_SECONDS)
    .execute(conn)?;
    if counted == 1 {
        return Ok(Verdict::Check);
    }
    let until = login_failures::table
        .find((attempt.email, attempt.network))
        .select(login_failures::locked_until)
        .first::<Option<DateTime<Utc>>>(conn)?;
    Ok(Verdict::Wait(until.unwrap_or(attempt.now)))
}

fn reserve_account(conn: &mut PgConnection, attempt: &Attempt<'_>) -> QueryResult<Verdict> {
    let ceiling = i32::try_from(attempt.account_limit).unwrap_or(i32::MAX);
    let counted = diesel::sql_query(
        "INSERT INTO login_account_failures AS a (email, window_start, failures) \
         VALUES ($1, $2, 1) \
         ON CONFLICT (email) DO UPDATE SET \
             window_start = CASE WHEN a.window_start <= $2 - interval '1 hour' \
                 THEN $2 ELSE a.window_start END, \
             failures = CASE WHEN a.window_start <= $2 - interval '1 hour' \
                 THEN 1 ELSE a.failures + 1 END \
         WHERE a.window_start <= $2 - interval '1 hour' OR a.failures < $3",
    )
    .bind::<Text, _>(attempt.email)
    .bind::<Timestamptz, _>(attempt.now)
    .bind::<Integer, _>(ceiling)
    .execute(conn)?;
    if counted == 1 {
        return Ok(Verdict::Check);
    }
    let window_start = login_account_failures::table
        .find(attempt.email)
        .select(login_account_failures::window_start)
        .first::<DateTime<Utc>>(conn)?;
    Ok(Verdict::Wait(window_start + chrono::Duration::hours(1)))
}

/// Forgets the attempts of `email` from `network` after a successful
/// login (and takes back the one it counted on the account when
/// `counted_on_account`), and sweeps counters that have been quiet for a
/// day (at most 100 of each at a time).
pub fn forget(
    conn: &mut PgConnection,
    email: &str,
    network: &str,
    counted_on_account: bool,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::delete(login_failures::table.find((email, network))).execute(conn)?;
    if counted_on_account {
        diesel::update(login_account_failures::table.find(email))
            .filter(login_account_failures::failures.gt(0))
            .set(login_account_failures::failures.eq(login_account_failures::failures - 1))
            .execute(conn)?;
    }
    let day_ago = now - chrono::Duration::days(1);
    diesel::sql_query(
        "DELETE FROM login_failures WHERE (email, network) IN \
         (SELECT email, network FROM login_failures WHERE updated_at < $1 \
          AND (locked_until IS NULL OR locked_until < $1) \
          ORDER BY updated_at LIMIT 100 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Timestamptz, _>(day_ago)
    .execute(conn)?;
    diesel::sql_query(
        "DELETE FROM login_account_failures WHERE email IN \
         (SELECT email FROM login_account_failures WHERE window_start < $1 \
          ORDER BY window_start LIMIT 100 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Timestamptz, _>(day_ago)
    .execute(conn)
    .map(drop)
}

/// Forgets every failed attempt on `email`, from any network (a password
/// reset proved the owner holds the mailbox).
pub fn clear(conn: &mut PgConnection, email: &str) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::email.eq(email))).execute(conn)?;
    diesel::delete(login_account_failures::table.find(email))
        .execute(conn)
        .map(drop)
}
