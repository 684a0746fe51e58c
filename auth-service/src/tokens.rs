//! Minting tokens: the claims of a fresh access or refresh token, signed;
//! the fingerprint (SHA-256) that stands for a refresh token wherever it
//! is stored; and the OAuth 2.0 token response.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use shared::api::TokenResponse;
use shared::claims::{AMR_OTP, AMR_PASSWORD, AccessClaims, RefreshClaims, TokenType};
use shared::token::{TokenCodec, TokenError, TokenSettings};
use uuid::Uuid;

use crate::config::Config;
use crate::store::users::Identity;

/// Both codecs and lifetimes.
pub struct Tokens {
    access: TokenCodec,
    refresh: TokenCodec,
    settings: TokenSettings,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

/// A session as its access tokens name it: its id, and whether it was
/// opened with a second factor.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    pub id: Uuid,
    pub second_factor: bool,
}

/// A freshly signed refresh token and its claims.
pub struct MintedRefresh {
    pub token: String,
    pub claims: RefreshClaims,
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
            access: TokenCodec::new(config.common.access_keys.clone(), &config.common.tokens),
            refresh: TokenCodec::new(config.refresh_keys.clone(), &config.common.tokens),
            settings: config.common.tokens.clone(),
            access_ttl: config.access_ttl,
            refresh_ttl: config.refresh_ttl,
        }
    }

    /// A new refresh token in `session`, issued `now`.
    pub fn mint_refresh(
        &self,
        user: Uuid,
        session: Uuid,
        now: DateTime<Utc>,
    ) -> Result<MintedRefresh, TokenError> {
        let expires = now.timestamp().saturating_add(seconds(self.refresh_ttl));
        let claims = self.refresh_claims(user, session, Uuid::new_v4(), now.timestamp(), expires);
        let token = self.refresh.encode(&claims)?;
        crate::measure::token_issued("refresh");
        Ok(MintedRefresh { token, claims })
    }

    /// The refresh token `jti` already issued at `iat` until `exp`, signed
    /// again: HS256 of the same claims gives the same token, so the
    /// database needs only its hash to hand it out twice (a retired token
    /// replayed in the grace window gets its existing successor).
    pub fn reissue_refresh(
        &self,
        user: Uuid,
        session: Uuid,
        jti: Uuid,
        iat: i64,
        exp: i64,
    ) -> Result<String, TokenError> {
        let claims = self.refresh_claims(user, session, jti, iat, exp);
        crate::measure::token_issued("refresh");
        self.refresh.encode(&claims)
    }

    fn refresh_claims(
        &self,
        user: Uuid,
        session: Uuid,
        jti: Uuid,
        iat: i64,
        exp: i64,
    ) -> RefreshClaims {
        RefreshClaims {
            sub: user,
            iat,
            exp,
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            jti,
            sid: session,
            typ: TokenType::Refresh,
        }
    }

    /// The token response for `refresh_token` of `session`, with a new
    /// access token beside it; `second_factor`: the session was opened
    /// with one (its `amr`).
    pub fn respond(
        &self,
        user: Uuid,
        identity: &Identity,
        session: Session,
        refresh_token: String,
        now: DateTime<Utc>,
    ) -> Result<TokenResponse, TokenError> {
        let mut amr = vec![AMR_PASSWORD.to_owned()];
        if session.second_factor {
            amr.push(AMR_OTP.to_owned());
        }
        let claims = AccessClaims {
            sub: user,
            email: identity.email.clone(),
            email_verified: identity.email_verified,
            iat: now.timestamp(),
            exp: now.timestamp().saturating_add(seconds(self.access_ttl)),
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            jti: Uuid::new_v4(),
            sid: session.id,
            typ: TokenType::Access,
            amr,
            mfa: identity.totp_enabled,
        };
        crate::measure::token_issued("access");
        Ok(TokenResponse {
            access_token: self.access.encode(&claims)?,
            refresh_token,
            token_type: "bearer".to_owned(),
            expires_in: seconds(self.access_ttl),
        })
    }

    /// The codec that verifies access tokens (the Bearer routes').
    pub fn access_codec(&self) -> &TokenCodec {
        &self.access
    }

    /// Verifies a refresh token: refresh secret, `typ`, `exp`, `iss`, `aud`.
    pub fn verify_refresh(&self, token: &str) -> Result<RefreshClaims, TokenError> {
        self.refresh.decode(token)
    }
}
