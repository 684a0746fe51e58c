//! The `sessions` and `refresh_tokens` tables: one session per login, one
//! row per refresh token, rotation and revocation. Each function that
//! changes more than one row runs in one transaction ([`rotate`] in its
//! caller's).

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::schema::{refresh_tokens, sessions, users};
use crate::store::users::Identity;

/// A stored session.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub revoked_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub second_factor: bool,
}

/// A stored refresh token (its hash, never the token).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg))]
pub struct RefreshToken {
    pub id: Uuid,
    pub token_hash: Vec<u8>,
    pub used_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

/// A refresh token to store.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg))]
pub struct NewRefreshToken {
    pub id: Uuid,
    pub session_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub token_hash: Vec<u8>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A refresh token already issued, as much of it as signing it again needs.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg))]
pub struct IssuedToken {
    pub id: Uuid,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token did. `identity` is the account's
/// current one, read in the same transaction, for the new access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// First use: the token is retired and its successor stored.
    /// `second_factor`: the session was opened with one (its `amr`).
    Rotated {
        identity: Identity,
        second_factor: bool,
    },
    /// A second use within the grace window while the successor is still
    /// unused: the caller hands out that same successor again, so the
    /// session keeps one live chain.
    Replayed {
        identity: Identity,
        second_factor: bool,
        successor: IssuedToken,
    },
    /// A second use after the grace window (or once the successor was used
    /// in turn): the session is now revoked.
    ReuseDetected,
    /// Unknown, mismatched, expired or already revoked: nothing changed.
    Refused,
}

/// Why a rotation did not run.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// The session's row lock was not had within the lock timeout.
    #[error("the session is locked by another refresh")]
    Busy,
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

diesel::define_sql_function! {
    /// The session row locked for this transaction (migration
    /// `lock_session`); false when the lock timeout ran out.
    fn lock_session(session: diesel::sql_types::Uuid) -> diesel::sql_types::Bool;
}

/// Locks the row of `session` for this transaction (see the
/// `lock_session` migration): `Busy` only when the lock timeout ran out
/// (the pool's connections wait [`service_kit::db::STATEMENT_TIMEOUT`]
/// for a lock, set once per connection).
fn lock(conn: &mut PgConnection, session: Uuid) -> Result<(), RotateError> {
    if diesel::select(lock_session(session)).get_result::<bool>(conn)? {
        Ok(())
    } else {
        Err(RotateError::Busy)
    }
}

/// Who used a session last: their network and `User-Agent`.
#[derive(Debug, Clone, Default)]
pub struct LastUse {
    pub ip: String,
    pub user_agent: Option<String>,
}

/// A live session as its owner sees it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct Listed {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub refreshed_at: Option<DateTime<Utc>>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// Opens a session for `user` holding its first refresh token, and deletes
/// sessions that expired more than a day ago, so the tables stay small.
pub fn open(
    conn: &mut PgConnection,
    user: Uuid,
    first: &NewRefreshToken,
    by: &LastUse,
    second_factor: bool,
) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::insert_into(sessions::table)
            .values((
                sessions::id.eq(first.session_id),
                sessions::user_id.eq(user),
                // The database's clock, to the microsecond (the token's
                // iat is whole seconds): sessions list in login order.
                sessions::created_at.eq(diesel::dsl::now),
                sessions::expires_at.eq(first.expires_at),
                sessions::ip.eq(&by.ip),
                sessions::user_agent.eq(&by.user_agent),
                sessions::second_factor.eq(second_factor),
            ))
            .execute(conn)?;
        diesel::insert_into(refresh_tokens::table)
            .values(first)
            .execute(conn)?;
        delete_long_expired(conn, first.issued_at)
    })
}

/// Deletes up to 100 sessions (and with them their tokens) that expired
/// more than a day before `now`. The `ORDER BY` keeps this an index scan:
/// without it PostgreSQL plans a sequential scan once many rows qualify
/// (350 ms a login at a million users; see the scale benchmark). The other
/// sweeps (`known_networks`, `login_failures`) follow the same rule.
fn delete_long_expired(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<()> {
    let cutoff = now - chrono::Duration::days(1);
    diesel::sql_query(
        "DELETE FROM sessions WHERE id IN \
         (SELECT id FROM sessions WHERE expires_at < $1 \
          ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(cutoff)
    .execute(conn)
    .map(drop)
}

/// Exchanges the refresh token `presented` (with its verified `jti`, `sid`
/// and `sub`, and its `hash`) for `successor`, in the caller's
/// transaction (the service's, which also writes the events of a reuse).
/// The session row is locked first, so concurrent refreshes of one
/// session queue instead of racing.
pub fn rotate(
    conn: &mut PgConnection,
    user: Uuid,
    presented: Uuid,
    hash: &[u8],
    successor: &NewRefreshToken,
    grace: Duration,
    by: &LastUse,
) -> Result<Rotation, RotateError> {
    let now = successor.issued_at;
    lock(conn, successor.session_id)?;
    // The session, its user and the presented token in one statement.
    let found = sessions::table
        .find(successor.session_id)
        .inner_join(users::table)
        .left_join(
            refresh_tokens::table.on(refresh_tokens::session_id
                .eq(sessions::id)
                .and(refresh_tokens::id.eq(presented))),
        )
        .select((
            Session::as_select(),
            Identity::as_select(),
            Option::<RefreshToken>::as_select(),
        ))
        .first(conn)
        .optional()?;
    let Some((session, identity, token)) = found else {
        return Ok(Rotation::Refused);
    };
    if session.user_id != user || session.revoked_at.is_some() || session.expires_at <= now {
        return Ok(Rotation::Refused);
    }
    let Some(token) = hashed_as(token, hash) else {
        return Ok(Rotation::Refused);
    };
    if token.expires_at <= now {
        return Ok(Rotation::Refused);
    }
    let Some(used_at) = token.used_at else {
        diesel::update(refresh_tokens::table.find(token.id))
            .set(refresh_tokens::used_at.eq(now))
            .execute(conn)?;
        diesel::insert_into(refresh_tokens::table)
            .values(successor)
            .execute(conn)?;
        diesel::update(sessions::table.find(session.id))
            .set((
                sessions::refreshed_at.eq(diesel::dsl::now),
                sessions::expires_at.eq(successor.expires_at),
                sessions::ip.eq(&by.ip),
                sessions::user_agent.eq(&by.user_agent),
            ))
            .execute(conn)?;
        return Ok(Rotation::Rotated {
            identity,
            second_factor: session.second_factor,
        });
    };
    // A clock stepping back makes the elapsed time negative: that is
    // not "within the window" when there is no window.
    let elapsed = now
        .signed_duration_since(used_at)
        .to_std()
        .unwrap_or_default();
    if !grace.is_zero() && elapsed <= grace {
        let unused_successor = refresh_tokens::table
            .filter(refresh_tokens::parent_id.eq(token.id))
            .filter(refresh_tokens::used_at.is_null())
            .select(IssuedToken::as_select())
            .first(conn)
            .optional()?;
        if let Some(successor) = unused_successor {
            return Ok(Rotation::Replayed {
                identity,
                second_factor: session.second_factor,
                successor,
            });
        }
    }
    revoke(conn, session.id, now)?;
    Ok(Rotation::ReuseDetected)
}

/// Whether `presented` is a token we issued for `session`, and the session
/// is live (neither revoked nor expired).
pub fn is_live_token(
    conn: &mut PgConnection,
    session: Uuid,
    presented: Uuid,
    hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let live = sessions::table
        .find(session)
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .count()
        .get_result::<i64>(conn)?
        == 1;
    Ok(live && find_token(conn, session, presented, hash)?.is_some())
}

/// The stored token `id` of `session`, if its hash matches `hash`
/// (compared in constant time).
fn find_token(
    conn: &mut PgConnection,
    session: Uuid,
    id: Uuid,
    hash: &[u8],
) -> QueryResult<Option<RefreshToken>> {
    let token = refresh_tokens::table
        .find(id)
        .filter(refresh_tokens::session_id.eq(session))
        .select(RefreshToken::as_select())
        .first(conn)
        .optional()?;
    Ok(hashed_as(token, hash))
}

/// `token`, if its stored hash is `hash` (compared in constant time).
fn hashed_as(token: Option<RefreshToken>, hash: &[u8]) -> Option<RefreshToken> {
    token.filter(|t| bool::from(t.token_hash.as_slice().ct_eq(hash)))
}

/// Revokes `session` unless it already was; whether this did.
fn revoke(conn: &mut PgConnection, session: Uuid, now: DateTime<Utc>) -> QueryResult<bool> {
    diesel::update(
        sessions::table
            .find(session)
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)
    .map(|rows| rows == 1)
}

/// Revokes every live session of `user` but `except` (the caller's, when
/// it keeps its own); the ids of those it revoked.
pub fn revoke_all(
    conn: &mut PgConnection,
    user: Uuid,
    except: Option<Uuid>,
    now: DateTime<Utc>,
) -> QueryResult<Vec<Uuid>> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .filter(sessions::id.ne(except.unwrap_or(Uuid::nil()))),
    )
    .set(sessions::revoked_at.eq(now))
    .returning(sessions::id)
    .get_results(conn)
}

/// Revokes `session` if it is a live session of `user`; whether it was.
pub fn revoke_own(
    conn: &mut PgConnection,
    user: Uuid,
    session: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let revoked = diesel::update(
        sessions::table
            .find(session)
            .filter(sessions::user_id.eq(user))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now)),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    Ok(revoked == 1)
}

/// The live sessions of `user`, newest first.
pub fn list_live(
    conn: &mut PgConnection,
    user: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Vec<Listed>> {
    sessions::table
        .filter(sessions::user_id.eq(user))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .order((sessions::created_at.desc(), sessions::id.desc()))
        .select(Listed::as_select())
        .load(conn)
}

/// Whether `session` of `user` is neither revoked nor expired.
pub fn is_live(
    conn: &mut PgConnection,
    user: Uuid,
    session: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        sessions::table
            .find(session)
            .filter(sessions::user_id.eq(user))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now)),
    ))
    .get_result(conn)
}
