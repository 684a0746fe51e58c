//! `POST /password`: a signed-in user changes their password. The current
//! password is checked like a login's ([`reauthenticate`]); a success
//! revokes every *other* session of the account (each announced by a
//! `session.revoked` event) and mails a notice.

use std::sync::Arc;

use diesel::Connection;
use shared::claims::AccessClaims;

use crate::client_ip::ClientNetwork;
use crate::domain::Password;
use crate::error::AuthError;
use crate::mail::queue;
use crate::offload::with_conn;
use crate::services::reauth::{Reauthenticated, reauthenticate};
use crate::state::AppState;
use crate::store::{login_failures, sessions, users};

/// Sets `new` as the password of the caller's account, given its
/// `current` one.
pub async fn change(
    state: &Arc<AppState>,
    client: ClientNetwork,
    caller: AccessClaims,
    current: String,
    new: Password,
) -> Result<(), AuthError> {
    let Reauthenticated {
        account,
        network,
        known,
        now,
        made: new_hash,
    } = reauthenticate(state, client, &caller, current, move |passwords| {
        Ok(passwords.hash(&new)?)
    })
    .await?;
    let (user, session) = (caller.sub, caller.sid);
    let revoked = with_conn(state, move |conn, state| {
        Ok(conn.transaction(|conn| {
            users::set_password_hash(conn, user, &new_hash)?;
            let revoked = sessions::revoke_all(conn, user, Some(session), now)?;
            state.events.sessions_revoked(conn, user, &revoked, now)?;
            login_failures::forget(conn, &account.email, &network, !known, now)?;
            queue::password_changed(conn, &state.mail, &account.email)?;
            Ok::<_, diesel::result::Error>(revoked.len())
        })?)
    })
    .await?;
    crate::measure::sessions_revoked("password_change", revoked);
    tracing::info!(%user, revoked, "password changed; other sessions revoked");
    Ok(())
}
