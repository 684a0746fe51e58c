//! Minting token pairs: the claims of a fresh access or refresh token, the
//! stored form of a refresh token (its SHA-256, never the token), and the
//! OAuth 2.0 token response.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use shared::api::TokenResponse;
use shared::claims::{AccessClaims, RefreshClaims, TokenType};
use shared::token::{TokenCodec, TokenError, TokenSettings};
use uuid::Uuid;

use crate::config::Config;
use crate::store::sessions::NewRefreshToken;

/// Both codecs and lifetimes.
pub struct Tokens {
    access: TokenCodec,
    refresh: TokenCodec,
    settings: TokenSettings,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

/// A refresh token, and the row that stands for it in the database.
pub struct MintedRefresh {
    pub token: String,
    pub record: NewRefreshToken,
}

/// The SHA-256 of a refresh token: what the database keeps.
pub fn fingerprint(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

impl Tokens {
    pub fn new(config: &Config) -> Self {
        Self {
            access: TokenCodec::new(&config.common.jwt_secret, &config.common.tokens),
            refresh: TokenCodec::new(&config.refresh_secret, &config.common.tokens),
            settings: config.common.tokens.clone(),
            access_ttl: config.access_ttl,
            refresh_ttl: config.refresh_ttl,
        }
    }

    /// A new refresh token in `session`, replacing `parent` if any.
    pub fn mint_refresh(
        &self,
        user: Uuid,
        session: Uuid,
        parent: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<MintedRefresh, TokenError> {
        let claims = RefreshClaims {
            sub: user,
            iat: now.timestamp(),
            exp: now.timestamp().saturating_add(seconds(self.refresh_ttl)),
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            jti: Uuid::new_v4(),
            sid: session,
            typ: TokenType::Refresh,
        };
        let token = self.refresh.encode(&claims)?;
        let record = NewRefreshToken {
            id: claims.jti,
            session_id: session,
            parent_id: parent,
            token_hash: fingerprint(&token),
            issued_at: now,
            expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or(now),
        };
        Ok(MintedRefresh { token, record })
    }

    /// The token response for `refresh`, with a new access token beside it.
    pub fn respond(
        &self,
        user: Uuid,
        email: &str,
        refresh: &MintedRefresh,
        now: DateTime<Utc>,
    ) -> Result<TokenResponse, TokenError> {
        let claims = AccessClaims {
            sub: user,
            email: email.to_owned(),
            iat: now.timestamp(),
            exp: now.timestamp().saturating_add(seconds(self.access_ttl)),
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            jti: Uuid::new_v4(),
            sid: refresh.record.session_id,
            typ: TokenType::Access,
        };
        Ok(TokenResponse {
            access_token: self.access.encode(&claims)?,
            refresh_token: refresh.token.clone(),
            token_type: "bearer".to_owned(),
            expires_in: seconds(self.access_ttl),
        })
    }

    /// Verifies a refresh token: refresh secret, `typ`, `exp`, `iss`, `aud`.
    pub fn verify_refresh(&self, token: &str) -> Result<RefreshClaims, TokenError> {
        self.refresh.decode(token)
    }
}
