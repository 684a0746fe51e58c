//! A signed-in user proves their password again (`POST /password`,
//! `DELETE /account`): the token's session must be live, and the password
//! is checked like a login's, the attempt counted first in the same
//! back-off, so a stolen access token cannot guess it faster than a login
//! could. [`admit`] is its first half, for routes that check a
//! second-factor code instead.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use shared::claims::AccessClaims;

use crate::client_ip::ClientNetwork;
use crate::error::AuthError;
use crate::hash_gate::Shed;
use crate::offload::{with_conn, with_passwords};
use crate::passwords::Passwords;
use crate::state::AppState;
use crate::store::login_failures::{Attempt, Verdict};
use crate::store::users::User;
use crate::store::{known_networks, login_failures, sessions, users};

/// Detail of a wrong password.
pub const WRONG_PASSWORD: &str = "The current password is wrong.";

/// A caller whose password was right.
pub struct Reauthenticated<T> {
    pub account: User,
    /// The caller's network, and whether it was known (for
    /// `login_failures::forget`).
    pub network: String,
    pub known: bool,
    pub now: DateTime<Utc>,
    /// What `then` made while the password was at hand.
    pub made: T,
}

/// A caller whose live session was checked and whose attempt was counted
/// in the login back-off (a success must `login_failures::forget` it).
pub struct Admitted {
    pub account: User,
    /// The caller's network, and whether it was known (for
    /// `login_failures::forget`).
    pub network: String,
    pub known: bool,
    pub now: DateTime<Utc>,
}

/// Checks that the caller's session is live and counts an attempt of
/// theirs in the login back-off, before any secret of theirs is checked:
/// a password here, or a second-factor code.
pub async fn admit(
    state: &Arc<AppState>,
    client: &ClientNetwork,
    caller: &AccessClaims,
) -> Result<Admitted, AuthError> {
    let now = Utc::now();
    let network = client.label();
    let (user, session) = (caller.sub, caller.sid);
    let counted = network.clone();
    let (account, verdict, known) = with_conn(state, move |conn, state| {
        // A Bearer route refuses a token whose session was revoked.
        let live = sessions::is_live(conn, user, session, now)?;
        let Some(account) = users::find(conn, user)?.filter(|_| live) else {
            return Ok((None, Verdict::Check, false));
        };
        let hash = state.network_hash(user, &counted);
        let known = known_networks::is_known(conn, user, &hash, now)?;
        let attempt = Attempt {
            email: &account.email,
            network: &counted,
            known_network: known,
            network_limit: state.login_failure_limit,
            account_limit: state.login_failure_account_limit,
            now,
        };
        let verdict = login_failures::reserve(conn, &attempt)?;
        Ok((Some(account), verdict, known))
    })
    .await?;
    let account = account.ok_or(AuthError::SessionRevoked)?;
    if let Verdict::Wait(until) = verdict {
        let wait = until
            .signed_duration_since(now)
            .to_std()
            .unwrap_or_default();
        return Err(AuthError::RateLimited(wait));
    }
    Ok(Admitted {
        account,
        network,
        known,
        now,
    })
}

/// Checks `password` for the caller's account; on success runs `then`
/// (bcrypt work, a new hash say) in the same hashing turn.
pub async fn reauthenticate<T, F>(
    state: &Arc<AppState>,
    client: ClientNetwork,
    caller: &AccessClaims,
    password: String,
    then: F,
) -> Result<Reauthenticated<T>, AuthError>
where
    F: FnOnce(&Passwords) -> Result<T, AuthError> + Send + 'static,
    T: Send + 'static,
{
    if state.hash_gate.is_full_for(client.0) {
        return Err(AuthError::Shed(Shed::QueueFull));
    }
    let Admitted {
        account,
        network,
        known,
        now,
    } = admit(state, &client, caller).await?;
    let stored = account.password_hash.clone();
    let made = with_passwords(state, client, move |passwords| {
        if passwords.verify(&password, Some(&stored)) {
            then(passwords).map(Some)
        } else {
            Ok(None)
        }
    })
    .await?;
    let Some(made) = made else {
        tracing::info!("re-authentication refused: wrong password");
        return Err(AuthError::InvalidGrant(WRONG_PASSWORD));
    };
    Ok(Reauthenticated {
        account,
        network,
        known,
        now,
        made,
    })
}
