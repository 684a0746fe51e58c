//! Accounts: creating one. The email's uniqueness is the database's
//! constraint (409 from the insert), never a check before it.

use actix_web::web;
use uuid::Uuid;

use crate::domain::{Email, Password};
use crate::error::AuthError;
use crate::offload::{with_conn, with_passwords};
use crate::state::AppState;
use crate::store::users::{self, NewUser, User};

/// Hashes `password` (off the async workers, holding no connection), then
/// stores the account.
pub async fn sign_up(
    state: &web::Data<AppState>,
    email: Email,
    password: Password,
) -> Result<User, AuthError> {
    let hash = with_passwords(state, move |passwords| Ok(passwords.hash(&password)?)).await?;
    let user = with_conn(state, move |conn, _| {
        let new = NewUser {
            id: Uuid::new_v4(),
            email: email.as_str(),
            password_hash: &hash,
        };
        Ok(users::insert(conn, &new)?)
    })
    .await?;
    tracing::info!(user = %user.id, "account created");
    Ok(user)
}
