//! The second factor: enrolling TOTP (`POST /mfa/totp`), turning it on
//! with a first code (`/mfa/totp/confirm`: recovery codes out, every other
//! session revoked), turning it off (`DELETE /mfa/totp`), and checking the
//! `otp` of a password login. Codes are checked after the attempt was
//! counted in the login back-off, exactly as a password is, and are never
//! logged.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use shared::api::{RecoveryCodes, TotpEnrolment};
use shared::claims::AccessClaims;
use uuid::Uuid;

use crate::client_ip::ClientNetwork;
use crate::error::AuthError;
use crate::mfa::Mfa;
use crate::mfa::codes::{Code, matching_step};
use crate::offload::with_conn;
use crate::services::reauth::{Admitted, admit};
use crate::state::AppState;
use crate::store::totp::Factor;
use crate::store::{login_failures, sessions, totp};

/// Detail of `POST /mfa/totp` and confirm while TOTP is on.
pub const ALREADY_ON: &str = "TOTP is already on for this account; turn it off first.";
/// Detail of a confirm without a pending enrolment.
pub const NOTHING_PENDING: &str =
    "There is no pending TOTP enrolment: start one with POST /mfa/totp.";
/// Detail of a `DELETE /mfa/totp` while TOTP is off.
pub const NOT_ON: &str = "TOTP is not on for this account.";
/// Detail of a wrong code at confirm or delete.
pub const WRONG_CODE: &str = "The code is wrong, expired or already used.";
/// Detail of a wrong `otp` at login.
pub const BAD_OTP: &str = "The one-time code is wrong, expired or already used.";

fn keys(state: &AppState) -> Result<&Mfa, AuthError> {
    state.mfa.as_ref().ok_or(AuthError::FeatureDisabled)
}

/// Starts (or restarts) the caller's enrolment: a new secret, shown once.
pub async fn enrol(
    state: &Arc<AppState>,
    caller: AccessClaims,
) -> Result<TotpEnrolment, AuthError> {
    let enrolment = keys(state)?.enrol(caller.sub, &caller.email)?;
    let sealed = enrolment.sealed;
    with_conn(state, move |conn, _| {
        conn.transaction(|conn| {
            if !sessions::is_live(conn, caller.sub, caller.sid, Utc::now())? {
                return Err(AuthError::SessionRevoked);
            }
            if !totp::put_pending(conn, caller.sub, &sealed)? {
                return Err(AuthError::Conflict(ALREADY_ON));
            }
            Ok(())
        })
    })
    .await?;
    tracing::info!(user = %caller.sub, "TOTP enrolment started");
    Ok(enrolment.shown)
}

/// Turns TOTP on with a first `code` (six digits) of the pending
/// enrolment: hands out ten recovery codes and revokes every other
/// session of the account (each announced by an event).
pub async fn confirm(
    state: &Arc<AppState>,
    client: ClientNetwork,
    caller: AccessClaims,
    code: String,
) -> Result<RecoveryCodes, AuthError> {
    let mfa = keys(state)?;
    let Admitted {
        account,
        network,
        known,
        now,
    } = admit(state, &client, &caller).await?;
    let (user, session) = (caller.sub, caller.sid);
    let (codes, hashes) = mfa.recovery_codes(user)?;
    let revoked = with_conn(state, move |conn, state| {
        conn.transaction(|conn| {
            let mfa = keys(state)?;
            let factor = totp::lock(conn, user)?.ok_or(AuthError::InvalidGrant(NOTHING_PENDING))?;
            if factor.confirmed_at.is_some() {
                return Err(AuthError::Conflict(ALREADY_ON));
            }
            let step = totp_step(mfa, user, &factor, &code, now)
                .ok_or(AuthError::InvalidGrant(WRONG_CODE))?;
            totp::confirm(conn, user, step, &hashes, now)?;
            let revoked = sessions::revoke_all(conn, user, Some(session), now)?;
            state.events.sessions_revoked(conn, user, &revoked, now)?;
            login_failures::forget(conn, &account.email, &network, !known, now)?;
            Ok(revoked.len())
        })
    })
    .await
    .inspect_err(|error| refused(error, "TOTP confirmation"))?;
    crate::measure::sessions_revoked("totp_enabled", revoked);
    tracing::info!(%user, revoked, "TOTP turned on; other sessions revoked");
    Ok(RecoveryCodes {
        recovery_codes: codes,
    })
}

/// Turns TOTP off, given a current code or an unused recovery code: the
/// secret and the recovery codes are deleted.
pub async fn disable(
    state: &Arc<AppState>,
    client: ClientNetwork,
    caller: AccessClaims,
    code: Code,
) -> Result<(), AuthError> {
    keys(state)?;
    let Admitted {
        account,
        network,
        known,
        now,
    } = admit(state, &client, &caller).await?;
    let user = caller.sub;
    with_conn(state, move |conn, state| {
        conn.transaction(|conn| {
            let mfa = keys(state)?;
            let factor = totp::lock(conn, user)?
                .filter(|factor| factor.confirmed_at.is_some())
                .ok_or(AuthError::InvalidGrant(NOT_ON))?;
            if !use_code(conn, mfa, user, &factor, &code, now)? {
                return Err(AuthError::InvalidGrant(WRONG_CODE));
            }
            totp::remove(conn, user)?;
            login_failures::forget(conn, &account.email, &network, !known, now)?;
            Ok(())
        })
    })
    .await
    .inspect_err(|error| refused(error, "TOTP removal"))?;
    tracing::info!(%user, "TOTP turned off");
    Ok(())
}

/// The second factor of a password login of `user` (whose password was
/// right and who has TOTP on): whether `otp`, a current TOTP code or an
/// unused recovery code, is good; a good one is used up.
pub fn check_login_otp(
    conn: &mut PgConnection,
    state: &AppState,
    user: Uuid,
    otp: &str,
    now: DateTime<Utc>,
) -> Result<bool, AuthError> {
    let Some(mfa) = state.mfa.as_ref() else {
        tracing::error!(%user, "an account has TOTP on but MFA_ENCRYPTION_KEY is not set");
        return Ok(false);
    };
    let Some(code) = Code::parse(otp) else {
        return Ok(false);
    };
    conn.transaction(|conn| {
        let Some(factor) = totp::lock(conn, user)?.filter(|f| f.confirmed_at.is_some()) else {
            return Ok(false);
        };
        use_code(conn, mfa, user, &factor, &code, now)
    })
}

/// Whether `code` is good for `factor`; a good one is used up (its time
/// step recorded, or the recovery code deleted).
fn use_code(
    conn: &mut PgConnection,
    mfa: &Mfa,
    user: Uuid,
    factor: &Factor,
    code: &Code,
    now: DateTime<Utc>,
) -> Result<bool, AuthError> {
    match code {
        Code::Totp(code) => {
            let Some(step) = totp_step(mfa, user, factor, code, now) else {
                return Ok(false);
            };
            totp::use_step(conn, user, step)?;
            Ok(true)
        }
        Code::Recovery(code) => {
            let stored = totp::recovery_hashes(conn, user)?;
            match mfa.find_recovery(user, code, &stored) {
                Some(hash) => Ok(totp::use_recovery(conn, user, hash)?),
                None => Ok(false),
            }
        }
    }
}

/// The time step `code` matches for `factor` (after its last used one).
fn totp_step(
    mfa: &Mfa,
    user: Uuid,
    factor: &Factor,
    code: &str,
    now: DateTime<Utc>,
) -> Option<i64> {
    let Some(secret) = mfa.open(user, &factor.sealed()) else {
        // Another key, or a row copied from another account: no code fits.
        tracing::error!(%user, "a stored TOTP secret does not decrypt under MFA_ENCRYPTION_KEY");
        return None;
    };
    let now = u64::try_from(now.timestamp()).unwrap_or_default();
    matching_step(&secret, code, now, factor.last_used_step)
}

fn refused(error: &AuthError, what: &str) {
    if matches!(error, AuthError::InvalidGrant(_) | AuthError::Conflict(_)) {
        tracing::info!(%error, "{what} refused");
    }
}
