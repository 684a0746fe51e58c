//! What every handler shares, and the two ways handlers reach blocking
//! work: [`blocking`] for queries, [`hashing`] for bcrypt.

use std::time::Duration;

use actix_web::web;
use diesel::PgConnection;
use shared::db::PgPool;

use crate::error::AuthError;
use crate::passwords::Passwords;
use crate::rate_limit::RateLimit;
use crate::tokens::Tokens;

/// The application state behind `web::Data`.
pub struct AppState {
    pub pool: PgPool,
    pub passwords: Passwords,
    pub tokens: Tokens,
    pub rate_limit: RateLimit,
    /// `LOGIN_FAILURE_LIMIT`; 0 turns the back-off off.
    pub login_failure_limit: u32,
    /// `REFRESH_REUSE_GRACE_SECONDS`.
    pub reuse_grace: Duration,
}

/// Runs `work` with a pooled connection and the state on the blocking
/// thread pool (see [`shared::db::blocking`]). No bcrypt in here: that is
/// [`hashing`]'s, so a connection is held only for queries.
pub async fn blocking<T, F>(state: &web::Data<AppState>, work: F) -> Result<T, AuthError>
where
    F: FnOnce(&mut PgConnection, &AppState) -> Result<T, AuthError> + Send + 'static,
    T: Send + 'static,
{
    let shared_state = state.clone();
    shared::db::blocking(&state.pool, move |conn| work(conn, &shared_state)).await
}

/// Runs `work` (bcrypt) on the blocking thread pool inside the caller's
/// tracing span, holding no database connection while it hashes.
pub async fn hashing<T, F>(state: &web::Data<AppState>, work: F) -> Result<T, AuthError>
where
    F: FnOnce(&Passwords) -> Result<T, AuthError> + Send + 'static,
    T: Send + 'static,
{
    let state = state.clone();
    let span = tracing::Span::current();
    web::block(move || span.in_scope(|| work(&state.passwords))).await?
}
