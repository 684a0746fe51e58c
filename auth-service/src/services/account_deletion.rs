//! `DELETE /account`: a signed-in user deletes their account, proving the
//! password again ([`reauthenticate`]). One transaction deletes the user
//! (the foreign keys take sessions, refresh tokens, known networks and
//! one-time tokens with it), forgets the address's failed logins, and
//! writes the `user.deleted` event the profile service deletes the
//! profile on. The address is then free for a new, unrelated account.

use std::sync::Arc;

use diesel::Connection;
use shared::claims::AccessClaims;

use crate::client_ip::ClientNetwork;
use crate::error::AuthError;
use crate::offload::with_conn;
use crate::services::reauth::{Reauthenticated, reauthenticate};
use crate::state::AppState;
use crate::store::{login_failures, sessions, users};

/// Deletes the caller's account, given its password.
pub async fn delete(
    state: &Arc<AppState>,
    client: ClientNetwork,
    caller: AccessClaims,
    password: String,
) -> Result<(), AuthError> {
    let Reauthenticated { account, now, .. } =
        reauthenticate(state, client, &caller, password, |_| Ok(())).await?;
    let user = caller.sub;
    let ended = with_conn(state, move |conn, state| {
        Ok(conn.transaction(|conn| {
            let live = sessions::revoke_all(conn, user, None, now)?;
            // A concurrent deletion may have won: then it wrote the event.
            if !users::delete(conn, user)? {
                return Ok(None);
            }
            login_failures::clear(conn, &account.email)?;
            state.events.user_deleted(conn, user, now)?;
            Ok::<_, diesel::result::Error>(Some(live.len()))
        })?)
    })
    .await?;
    let ended = ended.ok_or(AuthError::SessionRevoked)?;
    crate::measure::sessions_revoked("account_delete", ended);
    tracing::info!(%user, sessions = ended, "account deleted");
    Ok(())
}
