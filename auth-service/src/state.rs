//! The state every handler shares (behind `web::Data`, which the services
//! see as the `Arc` it is).

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::{PgConnection, QueryResult};
use hmac::{Hmac, Mac};
use service_kit::db::PgPool;
use sha2::Sha256;
use uuid::Uuid;

use crate::client_ip::ClientNetwork;
use crate::events::Events;
use crate::hash_gate::HashGate;
use crate::mail::config::MailSettings;
use crate::mfa::Mfa;
use crate::passwords::Passwords;
use crate::store::known_networks;
use crate::tokens::Tokens;

/// The auth service's application state.
pub struct AppState {
    pub pool: PgPool,
    pub passwords: Passwords,
    pub hash_gate: HashGate,
    pub tokens: Tokens,
    /// `LOGIN_FAILURE_LIMIT`; 0 turns the back-off off.
    pub login_failure_limit: u32,
    /// `LOGIN_FAILURE_ACCOUNT_LIMIT`; 0 turns the account ceiling off.
    pub login_failure_account_limit: u32,
    /// `REFRESH_REUSE_GRACE_SECONDS`.
    pub reuse_grace: Duration,
    /// `REFRESH_TOKEN_EXPIRE_MINUTES`: also how long a network a user
    /// logged in from stays known.
    pub refresh_ttl: Duration,
    /// Mail, and what verification asks of an account.
    pub mail: MailSettings,
    /// Writes the events a change announces, in its transaction.
    pub events: Events,
    /// Keys the hashes of known networks (a server secret, so a copy of
    /// the table does not tell where users log in from).
    pub network_key: Hmac<Sha256>,
    /// The second factor's keys; `None` without `MFA_ENCRYPTION_KEY`.
    pub mfa: Option<Mfa>,
}

impl AppState {
    /// The stored form of "`user` logged in from `network`".
    pub fn network_hash(&self, user: Uuid, network: &str) -> Vec<u8> {
        let mut mac = self.network_key.clone();
        mac.update(user.as_bytes());
        mac.update(network.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Remembers that `user` used `client` until the refresh-token
    /// lifetime from `now` (a login, a signup or a refresh from it), so the
    /// network is exempt from the account-wide login ceiling.
    pub fn remember_network(
        &self,
        conn: &mut PgConnection,
        user: Uuid,
        client: &ClientNetwork,
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        let until = now + chrono::Duration::from_std(self.refresh_ttl).unwrap_or_default();
        let hash = self.network_hash(user, &client.label());
        known_networks::remember(conn, user, &hash, until, now)
    }
}
