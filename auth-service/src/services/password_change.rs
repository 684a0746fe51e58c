//! `POST /password`: a signed-in user changes their password. The current
//! password is checked like a login's (the attempt counted first, in the
//! same back-off); a success revokes every *other* session of the account
//! and mails a notice.

use std::sync::Arc;

use chrono::Utc;
use diesel::Connection;
use shared::claims::AccessClaims;

use crate::client_ip::ClientNetwork;
use crate::domain::Password;
use crate::error::AuthError;
use crate::hash_gate::Shed;
use crate::mail::queue;
use crate::offload::{with_conn, with_passwords};
use crate::state::AppState;
use crate::store::login_failures::{Attempt, Verdict};
use crate::store::{known_networks, login_failures, sessions, users};

/// Detail of a wrong current password.
pub const WRONG_PASSWORD: &str = "The current password is wrong.";

/// Sets `new` as the password of the caller's account, given its
/// `current` one.
pub async fn change(
    state: &Arc<AppState>,
    client: ClientNetwork,
    caller: AccessClaims,
    current: String,
    new: Password,
) -> Result<(), AuthError> {
    if state.hash_gate.is_full_for(client.0) {
        return Err(AuthError::Shed(Shed::QueueFull));
    }
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
    let stored = account.password_hash.clone();
    let new_hash = with_passwords(state, client, move |passwords| {
        if passwords.verify(&current, Some(&stored)) {
            Ok(Some(passwords.hash(&new)?))
        } else {
            Ok(None)
        }
    })
    .await?;
    let Some(new_hash) = new_hash else {
        tracing::info!("password change refused: wrong current password");
        return Err(AuthError::InvalidGrant(WRONG_PASSWORD));
    };
    let revoked = with_conn(state, move |conn, state| {
        Ok(conn.transaction(|conn| {
            users::set_password_hash(conn, user, &new_hash)?;
            let revoked = sessions::revoke_all(conn, user, Some(session), now)?;
            login_failures::forget(conn, &account.email, &network, !known, now)?;
            queue::password_changed(conn, &state.mail, &account.email)?;
            Ok::<_, diesel::result::Error>(revoked)
        })?)
    })
    .await?;
    crate::measure::sessions_revoked("password_change", revoked);
    tracing::info!(%user, revoked, "password changed; other sessions revoked");
    Ok(())
}
