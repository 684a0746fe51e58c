//! Accounts: creating one. The email's uniqueness is the database's
//! constraint (409 from the insert), never a check before it.

use std::sync::Arc;

use diesel::Connection;
use service_kit::db::{DbError, PgPool};
use uuid::Uuid;

use crate::client_ip::ClientNetwork;
use crate::domain::{Email, Password};
use crate::error::AuthError;
use crate::jobs::Purpose;
use crate::mail::config::EmailVerification;
use crate::mail::queue;
use crate::offload::{with_conn, with_passwords};
use crate::state::AppState;
use crate::store::users::{self, NewUser, User};

/// Hashes `password` (off the async workers, holding no connection), then
/// stores the account and, when addresses are verified, the verification
/// mail, in one transaction.
/// The network it signs up from becomes one the account knows (exempt
/// from the account-wide login ceiling), as a login would make it.
pub async fn sign_up(
    state: &Arc<AppState>,
    client: ClientNetwork,
    email: Email,
    password: Password,
) -> Result<User, AuthError> {
    let hash = with_passwords(state, client, move |passwords| {
        Ok(passwords.hash(&password)?)
    })
    .await?;
    let user = with_conn(state, move |conn, state| {
        conn.transaction(|conn| {
            let now = chrono::Utc::now();
            let skeleton = email.skeleton();
            let verify = state.mail.verification != EmailVerification::Off;
            let new = NewUser {
                id: Uuid::new_v4(),
                email: email.as_str(),
                email_skeleton: &skeleton,
                password_hash: &hash,
                email_verified: !verify,
            };
            let user = users::insert(conn, &new)?;
            state.remember_network(conn, user.id, &client, now)?;
            if verify {
                queue::token_mail(
                    conn,
                    &state.mail,
                    user.id,
                    &user.email,
                    Purpose::Verify,
                    now,
                )?;
            }
            Ok(user)
        })
    })
    .await?;
    tracing::info!(user = %user.id, "account created");
    Ok(user)
}

/// Gives accounts stored before look-alike skeletons existed (or under
/// older rules, see the migrations) their skeleton at start-up, bringing
/// the address to today's normal form (a domain's A-label to Unicode,
/// say) when that form is free. An account whose address breaks today's
/// rules, or whose normal form or skeleton another account has, keeps its
/// email and no skeleton, and is logged for an operator at every start:
/// never merged, never dropped.
pub async fn backfill_skeletons(pool: PgPool) -> Result<(), DbError> {
    service_kit::db::blocking(&pool, |conn| {
        let mut after = Uuid::nil();
        loop {
            let page = users::without_skeleton(conn, after, 500)?;
            let Some((last, _)) = page.last() else {
                return Ok(());
            };
            after = *last;
            for (id, stored) in page {
                let Ok(email) = Email::parse(&stored) else {
                    tracing::warn!(user = %id, "stored email breaks today's rules; left for an operator");
                    continue;
                };
                match users::set_normal_form(conn, id, email.as_str(), &email.skeleton()) {
                    Ok(()) if email.as_str() != stored => {
                        tracing::info!(user = %id, "stored email brought to today's normal form");
                    }
                    Ok(()) => {}
                    Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    )) => tracing::warn!(user = %id, "stored email, in today's normal form, is or looks like another account's; left for an operator"),
                    Err(error) => return Err(error.into()),
                }
            }
        }
    })
    .await
}
