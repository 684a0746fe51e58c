//! The mailed flows: verifying an address, asking again for its mail,
//! recovering a forgotten password and resetting it with the mailed token.
//!
//! Every mail leaves through the outbox, written in the transaction of the
//! change that needs it. Requests about an address that may have no
//! account (`/recover`, `/verify/resend`) only write a [`MailRequest`]:
//! the request costs the same whether the account exists, and the runner
//! resolves it later ([`resolve`]).

use std::sync::Arc;

use chrono::Utc;
use diesel::{Connection, PgConnection};

use crate::client_ip::ClientNetwork;
use crate::domain::{Email, OneTimeToken, Password};
use crate::error::AuthError;
use crate::jobs::{MailRequest, Purpose};
use crate::mail::config::{EmailVerification, MailSettings};
use crate::mail::queue;
use crate::offload::{with_conn, with_passwords};
use crate::state::AppState;
use crate::store::{login_failures, one_time_tokens, outbox, sessions, users};

/// Detail of a refused verification token.
pub const BAD_VERIFY_TOKEN: &str = "The verification token is invalid, expired or already used.";
/// Detail of a refused reset token.
pub const BAD_RESET_TOKEN: &str = "The reset token is invalid, expired or already used.";

/// `POST /verify`: uses up the token and marks its account verified.
pub async fn verify(state: &Arc<AppState>, token: Option<OneTimeToken>) -> Result<(), AuthError> {
    let token = token.ok_or(AuthError::InvalidGrant(BAD_VERIFY_TOKEN))?;
    let user = with_conn(state, move |conn, _| {
        Ok(conn.transaction(|conn| {
            let user = one_time_tokens::take(conn, Purpose::Verify, &token.hash(), Utc::now())?;
            if let Some(user) = user {
                users::mark_verified(conn, user)?;
            }
            Ok::<_, diesel::result::Error>(user)
        })?)
    })
    .await?;
    let user = user.ok_or(AuthError::InvalidGrant(BAD_VERIFY_TOKEN))?;
    tracing::info!(%user, "email address verified");
    Ok(())
}

/// `POST /verify/resend` and `POST /recover`: leaves a request for a mail
/// to `email` (see [`resolve`]). `/recover` without mail is 503; a resend
/// while verification is off asks for nothing.
pub async fn request_mail(
    state: &Arc<AppState>,
    email: Email,
    purpose: Purpose,
) -> Result<(), AuthError> {
    match purpose {
        Purpose::Reset if state.mail.mail.is_none() => return Err(AuthError::MailDisabled),
        Purpose::Verify if state.mail.verification == EmailVerification::Off => return Ok(()),
        Purpose::Reset | Purpose::Verify => {}
    }
    let request = MailRequest {
        email: email.as_str().to_owned(),
        purpose,
    };
    with_conn(state, move |conn, _| Ok(outbox::enqueue(conn, &request)?)).await
}

/// Turns a [`MailRequest`] into its mail, inside the runner's transaction:
/// nothing for an unknown address, an address already verified (for a
/// verification) or an account mailed for the same purpose within
/// `MAIL_INTERVAL_SECONDS`; else a new token (the older one stops working)
/// and the mail that carries it.
pub fn resolve(
    conn: &mut PgConnection,
    settings: &MailSettings,
    request: &MailRequest,
) -> Result<(), AuthError> {
    let Some(user) = users::find_by_email(conn, &request.email)? else {
        return Ok(());
    };
    if request.purpose == Purpose::Verify && user.email_verified {
        return Ok(());
    }
    queue::token_mail(
        conn,
        settings,
        user.id,
        &user.email,
        request.purpose,
        Utc::now(),
    )
}

/// `POST /reset`: sets the password of the token's account, revokes every
/// session, clears the login back-off, counts the address as verified and
/// mails a notice. A password the rules refuse never reaches here (422 in
/// the route), so it does not use up the token.
pub async fn reset(
    state: &Arc<AppState>,
    client: ClientNetwork,
    token: Option<OneTimeToken>,
    password: Password,
) -> Result<(), AuthError> {
    let token = token.ok_or(AuthError::InvalidGrant(BAD_RESET_TOKEN))?;
    let hash = token.hash();
    let lookup = hash.clone();
    // Only a live token gets a bcrypt run.
    with_conn(state, move |conn, _| {
        Ok(one_time_tokens::peek(
            conn,
            Purpose::Reset,
            &lookup,
            Utc::now(),
        )?)
    })
    .await?
    .ok_or(AuthError::InvalidGrant(BAD_RESET_TOKEN))?;
    let password_hash = with_passwords(state, client, move |passwords| {
        Ok(passwords.hash(&password)?)
    })
    .await?;
    let user = with_conn(state, move |conn, state| {
        Ok(conn.transaction(|conn| {
            let now = Utc::now();
            // Another reset with the same token may have won meanwhile.
            let Some(user) = one_time_tokens::take(conn, Purpose::Reset, &hash, now)? else {
                return Ok(None);
            };
            let Some(account) = users::find(conn, user)? else {
                return Ok(None);
            };
            users::set_password_hash(conn, user, &password_hash)?;
            users::mark_verified(conn, user)?;
            let revoked = sessions::revoke_all(conn, user, None, now)?;
            state.events.sessions_revoked(conn, user, &revoked, now)?;
            state.events.user_revoked(conn, user, now)?;
            login_failures::clear(conn, &account.email)?;
            queue::password_changed(conn, &state.mail, &account.email)?;
            Ok::<_, diesel::result::Error>(Some((user, revoked.len())))
        })?)
    })
    .await?;
    let (user, revoked) = user.ok_or(AuthError::InvalidGrant(BAD_RESET_TOKEN))?;
    crate::measure::sessions_revoked("password_reset", revoked);
    tracing::info!(%user, revoked, "password reset; every session revoked");
    Ok(())
}
