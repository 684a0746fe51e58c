//! The state every handler shares, behind `web::Data`.

use std::time::Duration;

use service_kit::db::PgPool;

use crate::passwords::Passwords;
use crate::tokens::Tokens;

/// The auth service's application state.
pub struct AppState {
    pub pool: PgPool,
    pub passwords: Passwords,
    pub tokens: Tokens,
    /// `LOGIN_FAILURE_LIMIT`; 0 turns the back-off off.
    pub login_failure_limit: u32,
    /// `REFRESH_REUSE_GRACE_SECONDS`.
    pub reuse_grace: Duration,
}
