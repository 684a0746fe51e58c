//! The three things a client does with credentials: log in with a password,
//! exchange a refresh token, and end a session.
//!
//! bcrypt runs on the blocking pool *without* a database connection
//! ([`hashing`]), and each database step takes a connection only for its
//! queries ([`blocking`]): a login storm then queues on the CPU, not on the
//! pool, and never turns into 503s while the database is fine.

use actix_web::web;
use chrono::{DateTime, Utc};
use shared::api::TokenResponse;
use uuid::Uuid;

use crate::domain::{Email, Password};
use crate::error::{AuthError, BAD_CREDENTIALS, BAD_REFRESH_TOKEN};
use crate::state::{AppState, blocking, hashing};
use crate::store::sessions::Rotation;
use crate::store::{login_failures, sessions, users};
use crate::tokens::fingerprint;

/// The longest back-off after repeated failed logins.
const MAX_BACKOFF_SECONDS: i64 = 15 * 60;

/// The password grant: checks the email's back-off, verifies the password
/// (against the dummy hash for an unknown email, at the same cost), counts
/// failures per email, upgrades a weak hash, and opens a session.
pub async fn password(
    state: &web::Data<AppState>,
    username: &str,
    password: String,
) -> Result<TokenResponse, AuthError> {
    let now = Utc::now();
    let email = Email::parse(username).ok();
    let lookup = email.clone();
    let (user, locked_until) = blocking(state, move |conn, _| {
        let Some(email) = lookup else {
            return Ok((None, None));
        };
        let user = users::find_by_email(conn, email.as_str())?;
        Ok((user, login_failures::locked_until(conn, email.as_str())?))
    })
    .await?;
    if let Some(until) = locked_until.filter(|until| *until > now) {
        let wait = until
            .signed_duration_since(now)
            .to_std()
            .unwrap_or_default();
        return Err(AuthError::RateLimited(wait));
    }
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let (verified, upgraded) = hashing(state, move |passwords| {
        let verified = passwords.verify(&password, stored.as_deref());
        let upgraded = match stored {
            // A password that no longer meets the signup rules keeps its hash.
            Some(hash) if verified && passwords.needs_rehash(&hash) => Password::parse(password)
                .ok()
                .map(|password| passwords.hash(&password))
                .transpose()?,
            _ => None,
        };
        Ok((verified, upgraded))
    })
    .await?;
    let (Some(user), true) = (user, verified) else {
        if let Some(email) = email {
            blocking(state, move |conn, state| {
                let failures = login_failures::record(conn, email.as_str())?;
                if let Some(until) = backoff_until(failures, state.login_failure_limit, now) {
                    login_failures::lock(conn, email.as_str(), until)?;
                }
                Ok(())
            })
            .await?;
        }
        return Err(AuthError::InvalidGrant(BAD_CREDENTIALS));
    };
    blocking(state, move |conn, state| {
        if let Some(hash) = upgraded {
            users::set_password_hash(conn, user.id, &hash)?;
            tracing::info!(user = %user.id, "password hash upgraded to the configured cost");
        }
        login_failures::clear(conn, &user.email, now)?;
        let refresh = state
            .tokens
            .mint_refresh(user.id, Uuid::new_v4(), None, now)?;
        sessions::open(conn, user.id, &refresh.record)?;
        let session = refresh.record.session_id;
        shared::telemetry::record_session(user.id, session);
        tracing::info!("session opened");
        Ok(state
            .tokens
            .respond(user.id, &user.email, session, refresh.token, now)?)
    })
    .await
}

/// When an email that has now failed `failures` times in a row may try
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
/// session's row lock. A replay within the grace window gets the successor
/// already issued; reuse after it revokes the session.
pub async fn refresh(
    state: &web::Data<AppState>,
    token: String,
) -> Result<TokenResponse, AuthError> {
    let claims = state
        .tokens
        .verify_refresh(&token)
        .map_err(|_| AuthError::InvalidGrant(BAD_REFRESH_TOKEN))?;
    shared::telemetry::record_session(claims.sub, claims.sid);
    blocking(state, move |conn, state| {
        let now = Utc::now();
        let successor = state
            .tokens
            .mint_refresh(claims.sub, claims.sid, Some(claims.jti), now)?;
        let rotation = sessions::rotate(
            conn,
            claims.sub,
            claims.jti,
            &fingerprint(&token),
            &successor.record,
            state.reuse_grace,
        )?;
        let (email, refresh_token) = match rotation {
            Rotation::Rotated { email } => (email, successor.token),
            Rotation::Replayed { email, successor } => {
                tracing::info!("retired refresh token replayed within the grace window");
                let token = state
                    .tokens
                    .reissue_refresh(claims.sub, claims.sid, &successor)?;
                (email, token)
            }
            Rotation::ReuseDetected => {
                tracing::warn!("refresh token reuse detected; session revoked");
                return Err(AuthError::InvalidGrant(BAD_REFRESH_TOKEN));
            }
            Rotation::Refused => return Err(AuthError::InvalidGrant(BAD_REFRESH_TOKEN)),
        };
        Ok(state
            .tokens
            .respond(claims.sub, &email, claims.sid, refresh_token, now)?)
    })
    .await
}

/// Ends the session `token` belongs to. A token that does not verify, or
/// is unknown, changes nothing and is not reported: logout is idempotent.
pub async fn logout(state: &web::Data<AppState>, token: String) -> Result<(), AuthError> {
    let Ok(claims) = state.tokens.verify_refresh(&token) else {
        return Ok(());
    };
    blocking(state, move |conn, _| {
        if sessions::revoke_by_token(
            conn,
            claims.sid,
            claims.jti,
            &fingerprint(&token),
            Utc::now(),
        )? {
            shared::telemetry::record_session(claims.sub, claims.sid);
            tracing::info!("session ended by logout");
        }
        Ok(())
    })
    .await
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
