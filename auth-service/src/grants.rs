//! The three things a client does with credentials: log in with a password,
//! exchange a refresh token, and end a session. Each is one blocking unit
//! of work (diesel and bcrypt), called from a handler through
//! [`crate::state::blocking`].

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use shared::api::TokenResponse;
use uuid::Uuid;

use crate::domain::{Email, Password};
use crate::error::{AuthError, BAD_CREDENTIALS, BAD_REFRESH_TOKEN};
use crate::state::AppState;
use crate::store::sessions::Rotation;
use crate::store::{sessions, users};
use crate::tokens::fingerprint;

/// The longest back-off after repeated failed logins.
const MAX_BACKOFF_SECONDS: i64 = 15 * 60;

/// The password grant: checks the account's back-off, verifies the password
/// (against the dummy hash for an unknown email, at the same cost), counts
/// failures, upgrades a weak hash, and opens a session.
pub fn password(
    conn: &mut PgConnection,
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<TokenResponse, AuthError> {
    let now = Utc::now();
    let user = match Email::parse(username) {
        Ok(email) => users::find_by_email(conn, email.as_str())?,
        Err(_) => None,
    };
    if let Some(until) = user
        .as_ref()
        .and_then(|u| u.locked_until)
        .filter(|until| *until > now)
    {
        let wait = until
            .signed_duration_since(now)
            .to_std()
            .unwrap_or_default();
        return Err(AuthError::RateLimited(wait));
    }
    let verified = state
        .passwords
        .verify(password, user.as_ref().map(|u| u.password_hash.as_str()));
    let Some(user) = user else {
        return Err(AuthError::InvalidGrant(BAD_CREDENTIALS));
    };
    if !verified {
        let failures = users::record_failure(conn, user.id)?;
        if let Some(until) = backoff_until(failures, state.login_failure_limit, now) {
            users::lock_until(conn, user.id, until)?;
        }
        return Err(AuthError::InvalidGrant(BAD_CREDENTIALS));
    }
    if user.failed_logins > 0 || user.locked_until.is_some() {
        users::record_success(conn, user.id)?;
    }
    if state.passwords.needs_rehash(&user.password_hash) {
        // A password that no longer meets the signup rules keeps its hash.
        if let Ok(password) = Password::parse(password.to_owned()) {
            users::set_password_hash(conn, user.id, &state.passwords.hash(&password)?)?;
            tracing::info!(user = %user.id, "password hash upgraded to the configured cost");
        }
    }
    let refresh = state
        .tokens
        .mint_refresh(user.id, Uuid::new_v4(), None, now)?;
    sessions::open(conn, user.id, &refresh.record)?;
    shared::telemetry::record_session(user.id, refresh.record.session_id);
    tracing::info!("session opened");
    Ok(state.tokens.respond(user.id, &user.email, &refresh, now)?)
}

/// When an account that has now failed `failures` times in a row may try
/// again: after `limit` failures the wait starts at 1 s and doubles with
/// each further failure, up to 15 minutes.
pub fn backoff_until(failures: i32, limit: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let limit = i64::from(limit);
    let failures = i64::from(failures);
    if limit == 0 || failures < limit {
        return None;
    }
    let doublings = u32::try_from(failures - limit).unwrap_or(u32::MAX).min(20);
    let seconds = 2_i64.pow(doublings).min(MAX_BACKOFF_SECONDS);
    Some(now + chrono::Duration::seconds(seconds))
}

/// The refresh grant: verifies the token, then rotates it under the
/// session's row lock. Reuse after the grace window revokes the session.
pub fn refresh(
    conn: &mut PgConnection,
    state: &AppState,
    token: &str,
) -> Result<TokenResponse, AuthError> {
    let claims = state
        .tokens
        .verify_refresh(token)
        .map_err(|_| AuthError::InvalidGrant(BAD_REFRESH_TOKEN))?;
    shared::telemetry::record_session(claims.sub, claims.sid);
    let now = Utc::now();
    let successor = state
        .tokens
        .mint_refresh(claims.sub, claims.sid, Some(claims.jti), now)?;
    let rotation = sessions::rotate(
        conn,
        claims.sub,
        claims.jti,
        &fingerprint(token),
        &successor.record,
        state.reuse_grace,
    )?;
    match rotation {
        Rotation::Rotated | Rotation::ReissuedInGrace => {
            if rotation == Rotation::ReissuedInGrace {
                tracing::info!(session = %claims.sid, "retired refresh token reused within the grace window");
            }
            let email = users::email_of(conn, claims.sub)?;
            Ok(state.tokens.respond(claims.sub, &email, &successor, now)?)
        }
        Rotation::ReuseDetected => {
            tracing::warn!(session = %claims.sid, user = %claims.sub, "refresh token reuse detected; session revoked");
            Err(AuthError::InvalidGrant(BAD_REFRESH_TOKEN))
        }
        Rotation::Refused => Err(AuthError::InvalidGrant(BAD_REFRESH_TOKEN)),
    }
}

/// Ends the session `token` belongs to. A token that does not verify, or
/// is unknown, changes nothing and is not reported: logout is idempotent.
pub fn logout(conn: &mut PgConnection, state: &AppState, token: &str) -> Result<(), AuthError> {
    let Ok(claims) = state.tokens.verify_refresh(token) else {
        return Ok(());
    };
    if sessions::revoke_by_token(
        conn,
        claims.sid,
        claims.jti,
        &fingerprint(token),
        Utc::now(),
    )? {
        tracing::info!(session = %claims.sid, "session ended by logout");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_at_the_limit_and_doubles_to_fifteen_minutes() {
        let now = Utc::now();
        let wait = |failures| backoff_until(failures, 10, now).map(|t| (t - now).num_seconds());
        assert_eq!(wait(9), None);
        assert_eq!(wait(10), Some(1));
        assert_eq!(wait(11), Some(2));
        assert_eq!(wait(13), Some(8));
        assert_eq!(wait(30), Some(900));
        assert_eq!(wait(i32::MAX), Some(900));
        assert_eq!(backoff_until(50, 0, now), None);
    }
}
