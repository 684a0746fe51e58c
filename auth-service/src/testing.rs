//! The surface of this crate for the benchmarks (`bench/`), the fuzz
//! targets (`fuzz/`) and the end-to-end tests (`tests/`), and for nothing
//! else: each item is here because one of them needs it, so the rest of
//! the crate stays private. The service itself never goes through here.

use chrono::{DateTime, Utc};
use shared::token::TokenError;
use uuid::Uuid;

use crate::config::Config;
use crate::domain::Password;
use crate::passwords::Passwords;
use crate::tokens::Tokens;

/// The migrations the service runs at start-up, for the tests' template
/// database.
pub use crate::store::MIGRATIONS;

/// The tables, for the scale run's `COPY` targets: a column renamed in the
/// schema fails to compile there instead of failing at run time.
pub use crate::schema::{
    known_networks, login_account_failures, login_failures, refresh_tokens, sessions, users,
};

/// How long a claimed outbox row is kept from other runners: a runner
/// killed mid-send leaves its rows to the next one after this.
pub use crate::workers::runner::LEASE as OUTBOX_LEASE;

/// The email rules signup and login parse with (the `email` fuzz target;
/// the scale run stores the skeleton of the emails it makes up).
pub use crate::domain::Email;

/// The `/login` form (the `login_form` fuzz target).
pub use crate::routes::login::TokenRequest;

/// How `X-Forwarded-For` names the client (the `forwarded_for` fuzz
/// target).
pub use crate::client_ip::{client_behind, forwarded_entries};

/// What the database keeps of a refresh token (its SHA-256).
pub use crate::tokens::fingerprint;

/// A bcrypt hash of `password` at `cost`, as signup stores it; blocks for
/// one bcrypt round.
pub fn hash_password(password: &str, cost: u32) -> Result<String, String> {
    let password = Password::parse(password.to_owned())?;
    let passwords = Passwords::new(cost).map_err(|e| e.to_string())?;
    passwords.hash(&password).map_err(|e| e.to_string())
}

/// Signs tokens exactly as the service does (its keys, claims and
/// lifetimes), for rows the scale run writes to the database directly.
pub struct TokenSigner(Tokens);

impl TokenSigner {
    /// The signer of a service configured by `config`.
    pub fn new(config: &Config) -> Self {
        Self(Tokens::new(config))
    }

    /// The access token a login of `user` (`email`, verified) in
    /// `session` at `now` is given.
    pub fn access_token(
        &self,
        user: Uuid,
        email: &str,
        session: Uuid,
        now: DateTime<Utc>,
    ) -> Result<String, TokenError> {
        let identity = crate::store::users::Identity {
            email: email.to_owned(),
            email_verified: true,
            totp_enabled: false,
        };
        let session = crate::tokens::Session {
            id: session,
            second_factor: false,
        };
        self.0
            .respond(user, &identity, session, String::new(), now)
            .map(|response| response.access_token)
    }

    /// Refresh token `jti` of `session`, issued at `iat` until `exp` (Unix
    /// seconds): the same claims give the same token the service issued.
    pub fn refresh_token(
        &self,
        user: Uuid,
        session: Uuid,
        jti: Uuid,
        iat: i64,
        exp: i64,
    ) -> Result<String, TokenError> {
        self.0.reissue_refresh(user, session, jti, iat, exp)
    }
}
