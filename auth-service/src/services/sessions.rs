//! Sessions: opening one with a password (and the second factor of an
//! account with TOTP on), rotating its refresh token, listing a user's
//! own, and ending them (each end announced by an event written in the
//! same transaction).
//!
//! bcrypt runs on the blocking pool *without* a database connection
//! ([`with_passwords`]), and each database step takes a connection only
//! for its queries ([`with_conn`]): a login storm then queues on the CPU,
//! not on the pool, and never turns into 503s while the database is fine.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::Connection;
use shared::api::{LogoutScope, SessionInfo, TokenResponse};
use shared::claims::AccessClaims;
use shared::claims::TokenType;
use uuid::Uuid;

use crate::client_ip::{ClientNetwork, UserAgent};
use crate::domain::{Email, Password};
use crate::error::{ACCESS_TOKEN_SENT, AuthError, BAD_CREDENTIALS, BAD_REFRESH_TOKEN, UNVERIFIED};
use crate::mail::config::EmailVerification;
use crate::measure::{self, LoginOutcome};
use crate::offload::{with_conn, with_passwords_in};
use crate::rate_limit::RateLimit;
use crate::services::totp::{self, BAD_OTP};
use crate::state::AppState;
use crate::store::login_failures::{Attempt, Verdict};
use crate::store::sessions::{LastUse, NewRefreshToken, RotateError, Rotation};
use crate::store::{known_networks, login_failures, sessions, users};
use crate::tokens::{MintedRefresh, Session, fingerprint};

/// The row that stands for `minted` in the database, replacing `parent`.
fn row_for(minted: &MintedRefresh, parent: Option<Uuid>, now: DateTime<Utc>) -> NewRefreshToken {
    NewRefreshToken {
        id: minted.claims.jti,
        session_id: minted.claims.sid,
        parent_id: parent,
        token_hash: fingerprint(&minted.token),
        issued_at: DateTime::from_timestamp(minted.claims.iat, 0).unwrap_or(now),
        expires_at: DateTime::from_timestamp(minted.claims.exp, 0).unwrap_or(now),
    }
}

/// What a password grant presents.
pub struct Login<'a> {
    pub username: &'a str,
    pub password: String,
    pub otp: Option<String>,
}

/// The password grant. It takes its turn at the hashing gate first, so a
/// full gate sheds it (503) before any database statement; then the
/// per-client limit counts it, and the attempt is counted per email and
/// client network and (for a network that never logged in to the account)
/// per account, in one statement each; only a counted attempt runs bcrypt
/// (against the dummy hash for an unknown email, at the same cost), in the
/// turn taken. A success resets its network's count, remembers the
/// network, upgrades a weak hash and opens a session.
pub async fn log_in(
    state: &Arc<AppState>,
    limit: &RateLimit,
    client: ClientNetwork,
    agent: UserAgent,
    login: Login<'_>,
) -> Result<TokenResponse, AuthError> {
    let turn = state.hash_gate.take_turn(client.0).map_err(|why| {
        measure::login(LoginOutcome::Shed);
        AuthError::Shed(why)
    })?;
    limit.check_token_request(client).await?;
    let Login {
        username,
        password,
        otp,
    } = login;
    let now = Utc::now();
    let network = client.label();
    let email = Email::parse(username).ok();
    let (lookup, counted_network) = (email.clone(), network.clone());
    let (user, verdict, known) = with_conn(state, move |conn, state| {
        let Some(email) = lookup else {
            return Ok((None, Verdict::Check, false));
        };
        let user = users::find_by_email(conn, email.as_str())?;
        let user_id = user.as_ref().map_or(Uuid::nil(), |user| user.id);
        let hash = state.network_hash(user_id, &counted_network);
        let known = known_networks::is_known(conn, user_id, &hash, now)?;
        let attempt = Attempt {
            email: email.as_str(),
            network: &counted_network,
            known_network: known,
            network_limit: state.login_failure_limit,
            account_limit: state.login_failure_account_limit,
            now,
        };
        Ok((user, login_failures::reserve(conn, &attempt)?, known))
    })
    .await?;
    if let Verdict::Wait(until) = verdict {
        measure::login(LoginOutcome::Backoff);
        tracing::info!("login refused while its email backs off");
        let wait = until
            .signed_duration_since(now)
            .to_std()
            .unwrap_or_default();
        return Err(AuthError::RateLimited(wait));
    }
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let (verified, upgraded) = with_passwords_in(state, turn, move |passwords| {
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
    .await
    .inspect_err(|error| {
        if matches!(error, AuthError::Shed(_)) {
            measure::login(LoginOutcome::Shed);
        }
    })?;
    let (Some(user), true) = (user, verified) else {
        measure::login(LoginOutcome::InvalidGrant);
        return Err(AuthError::InvalidGrant(BAD_CREDENTIALS));
    };
    // Said only once the password is right: it tells nothing to a guesser.
    if state.mail.verification == EmailVerification::Required && !user.email_verified {
        measure::login(LoginOutcome::InvalidGrant);
        tracing::info!(user = %user.id, "login refused: address not verified");
        return Err(AuthError::InvalidGrant(UNVERIFIED));
    }
    with_conn(state, move |conn, state| {
        // The second factor, after the password: without it nothing below
        // runs, so the attempt stays counted in the back-off (a code is
        // guessed no faster than a password).
        let second_factor = user.totp_enabled;
        if second_factor {
            let Some(otp) = otp else {
                measure::login(LoginOutcome::InvalidGrant);
                tracing::info!(user = %user.id, "login needs the second factor");
                return Err(AuthError::MfaRequired);
            };
            if !totp::check_login_otp(conn, state, user.id, &otp, now)? {
                measure::login(LoginOutcome::InvalidGrant);
                tracing::info!(user = %user.id, "login refused: wrong second factor");
                return Err(AuthError::InvalidGrant(BAD_OTP));
            }
        }
        if let Some(hash) = upgraded {
            users::set_password_hash(conn, user.id, &hash)?;
            tracing::info!(user = %user.id, "password hash upgraded to the configured cost");
        }
        // A success is no failure: it leaves the account ceiling as it was.
        login_failures::forget(conn, &user.email, &network, !known, now)?;
        state.remember_network(conn, user.id, &client, now)?;
        let refresh = state.tokens.mint_refresh(user.id, Uuid::new_v4(), now)?;
        let by = LastUse {
            ip: client.label(),
            user_agent: agent.0,
        };
        sessions::open(
            conn,
            user.id,
            &row_for(&refresh, None, now),
            &by,
            second_factor,
        )?;
        let session = Session {
            id: refresh.claims.sid,
            second_factor,
        };
        service_kit::telemetry::record_session(user.id, session.id);
        measure::login(LoginOutcome::Success);
        tracing::info!("session opened");
        Ok(state
            .tokens
            .respond(user.id, &user.identity(), session, refresh.token, now)?)
    })
    .await
}

/// The refresh grant: verifies the token, then rotates it under the
/// session's row lock. A replay within the grace window gets the successor
/// already issued; reuse after it revokes the session.
pub async fn refresh(
    state: &Arc<AppState>,
    client: ClientNetwork,
    agent: UserAgent,
    token: String,
) -> Result<TokenResponse, AuthError> {
    let claims = state
        .tokens
        .verify_refresh(&token)
        .map_err(|_| refused_refresh(&token))?;
    service_kit::telemetry::record_session(claims.sub, claims.sid);
    with_conn(state, move |conn, state| {
        let now = Utc::now();
        let successor = state.tokens.mint_refresh(claims.sub, claims.sid, now)?;
        let by = LastUse {
            ip: client.label(),
            user_agent: agent.0,
        };
        let rotation = conn.transaction(|conn| {
            let rotation = sessions::rotate(
                conn,
                claims.sub,
                claims.jti,
                &fingerprint(&token),
                &row_for(&successor, Some(claims.jti), now),
                state.reuse_grace,
                &by,
            )?;
            if rotation == Rotation::ReuseDetected {
                // The stolen session dies at the profile service too.
                state
                    .events
                    .sessions_revoked(conn, claims.sub, &[claims.sid], now)?;
            }
            Ok::<_, RotateError>(rotation)
        })?;
        let (identity, second_factor, refresh_token) = match rotation {
            Rotation::Rotated {
                identity,
                second_factor,
            } => {
                // A network a session is refreshed from stays known too.
                state.remember_network(conn, claims.sub, &client, now)?;
                (identity, second_factor, successor.token)
            }
            Rotation::Replayed {
                identity,
                second_factor,
                successor,
            } => {
                tracing::info!("retired refresh token replayed within the grace window");
                let token = state.tokens.reissue_refresh(
                    claims.sub,
                    claims.sid,
                    successor.id,
                    successor.issued_at.timestamp(),
                    successor.expires_at.timestamp(),
                )?;
                (identity, second_factor, token)
            }
            Rotation::ReuseDetected => {
                measure::reuse_detected();
                measure::session_revoked("reuse");
                tracing::warn!("refresh token reuse detected; session revoked");
                return Err(AuthError::InvalidGrant(BAD_REFRESH_TOKEN));
            }
            Rotation::Refused => return Err(AuthError::InvalidGrant(BAD_REFRESH_TOKEN)),
        };
        let session = Session {
            id: claims.sid,
            second_factor,
        };
        Ok(state
            .tokens
            .respond(claims.sub, &identity, session, refresh_token, now)?)
    })
    .await
}

/// Why a refresh token that did not verify is refused: one body whatever
/// the cause, except that an access token is named (its `typ` is readable
/// by whoever holds it, so naming it leaks nothing).
fn refused_refresh(token: &str) -> AuthError {
    match shared::token::claimed_type(token) {
        Some(TokenType::Access) => AuthError::InvalidGrant(ACCESS_TOKEN_SENT),
        _ => AuthError::InvalidGrant(BAD_REFRESH_TOKEN),
    }
}

/// Ends sessions by a refresh token: its own (`local`), every other one
/// of its user (`others`) or all of them (`global`). A token that does
/// not verify, is unknown, or whose session already ended changes nothing
/// and is not reported: logout is idempotent (and a revoked session's
/// token cannot end the others).
pub async fn log_out(
    state: &Arc<AppState>,
    token: String,
    scope: LogoutScope,
) -> Result<(), AuthError> {
    let Ok(claims) = state.tokens.verify_refresh(&token) else {
        return Ok(());
    };
    with_conn(state, move |conn, state| {
        let now = Utc::now();
        let hash = fingerprint(&token);
        let (user, session) = (claims.sub, claims.sid);
        let ended = conn.transaction(|conn| {
            if !sessions::is_live_token(conn, session, claims.jti, &hash, now)? {
                return Ok::<_, diesel::result::Error>(Vec::new());
            }
            let ended = match scope {
                LogoutScope::Local => {
                    sessions::revoke_own(conn, user, session, now)?;
                    vec![session]
                }
                LogoutScope::Others => sessions::revoke_all(conn, user, Some(session), now)?,
                LogoutScope::Global => sessions::revoke_all(conn, user, None, now)?,
            };
            state.events.sessions_revoked(conn, user, &ended, now)?;
            if scope == LogoutScope::Global {
                state.events.user_revoked(conn, user, now)?;
            }
            Ok(ended)
        })?;
        if !ended.is_empty() {
            service_kit::telemetry::record_session(user, session);
            measure::sessions_revoked("logout", ended.len());
            tracing::info!(?scope, ended = ended.len(), "sessions ended by logout");
        }
        Ok(())
    })
    .await
}

/// The caller's live sessions, newest first, theirs marked `current`.
pub async fn list(
    state: &Arc<AppState>,
    caller: AccessClaims,
) -> Result<Vec<SessionInfo>, AuthError> {
    with_conn(state, move |conn, _| {
        let listed = sessions::list_live(conn, caller.sub, Utc::now())?;
        // The caller's own session is among the live ones, or the token's
        // session has ended (a Bearer route refuses it).
        if !listed.iter().any(|session| session.id == caller.sid) {
            return Err(AuthError::SessionRevoked);
        }
        Ok(listed
            .into_iter()
            .map(|session| SessionInfo {
                id: session.id,
                created_at: session.created_at,
                last_used_at: session.refreshed_at.unwrap_or(session.created_at),
                user_agent: session.user_agent,
                ip: session.ip,
                current: session.id == caller.sid,
            })
            .collect())
    })
    .await
}

/// Detail of a `DELETE /sessions/{id}` that names no live session of the
/// caller's.
pub const NO_SUCH_SESSION: &str = "No live session of yours has this id.";

/// Ends the caller's session `id` (their own current one included).
pub async fn end(state: &Arc<AppState>, caller: AccessClaims, id: Uuid) -> Result<(), AuthError> {
    with_conn(state, move |conn, state| {
        let now = Utc::now();
        conn.transaction(|conn| {
            if !sessions::is_live(conn, caller.sub, caller.sid, now)? {
                return Err(AuthError::SessionRevoked);
            }
            if !sessions::revoke_own(conn, caller.sub, id, now)? {
                return Err(AuthError::NotFound(NO_SUCH_SESSION));
            }
            state
                .events
                .sessions_revoked(conn, caller.sub, &[id], now)?;
            Ok(())
        })?;
        measure::session_revoked("session_delete");
        tracing::info!(session = %id, "session ended by its owner");
        Ok(())
    })
    .await
}
