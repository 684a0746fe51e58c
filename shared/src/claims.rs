//! The JWT claim sets of the contract. Both services read and write tokens
//! through these types only, so the auth service cannot mint a claim the
//! profile service does not understand.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The `typ` claim: which secret signed the token and where it is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    /// Short-lived, sent as `Authorization: Bearer` to resource servers.
    Access,
    /// Long-lived, only ever sent back to the auth service.
    Refresh,
}

/// A claim set that knows its own `typ` and `iat`, so verification can
/// check both without knowing the concrete type.
pub trait Claims: serde::de::DeserializeOwned + Serialize {
    /// The `typ` a token of this kind must carry.
    const TYPE: TokenType;
    /// The `typ` this token carries.
    fn typ(&self) -> TokenType;
    /// When the token was issued, in seconds since the epoch.
    fn iat(&self) -> i64;
}

/// Claims of an access token, signed with `JWT_SECRET_KEY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user's id.
    pub sub: Uuid,
    /// The user's email when the token was issued.
    pub email: String,
    /// Whether that email was verified then (the OpenID Connect claim).
    /// Tokens issued before the claim existed lack it: `false`.
    #[serde(default)]
    pub email_verified: bool,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Issuer (`JWT_ISSUER`).
    pub iss: String,
    /// Audience (`JWT_AUDIENCE`). We write a string; RFC 7519 also allows
    /// an array, which standard libraries write when given a list.
    #[serde(deserialize_with = "one_audience")]
    pub aud: String,
    /// A fresh id for this token.
    pub jti: Uuid,
    /// The session (refresh-token family) this token belongs to.
    pub sid: Uuid,
    /// Always [`TokenType::Access`].
    pub typ: TokenType,
    /// How the session was authenticated (RFC 8176): [`AMR_PASSWORD`],
    /// then [`AMR_OTP`] after a second factor. Tokens issued before the
    /// claim existed lack it: empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// Whether the account has TOTP on when the token was issued. Tokens
    /// issued before the claim existed lack it: `false`.
    #[serde(default)]
    pub mfa: bool,
}

/// The `amr` value of a password (RFC 8176).
pub const AMR_PASSWORD: &str = "pwd";
/// The `amr` value of a one-time password, TOTP or recovery code (RFC 8176).
pub const AMR_OTP: &str = "otp";

/// Claims of a refresh token, signed with `JWT_REFRESH_SECRET_KEY`. It has
/// no `email`: the auth service reads the current one when it refreshes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshClaims {
    /// The user's id.
    pub sub: Uuid,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Issuer (`JWT_ISSUER`).
    pub iss: String,
    /// Audience (`JWT_AUDIENCE`).
    pub aud: String,
    /// The id under which the auth service stores this token's hash.
    pub jti: Uuid,
    /// The session (refresh-token family) this token belongs to.
    pub sid: Uuid,
    /// Always [`TokenType::Refresh`].
    pub typ: TokenType,
}

/// `aud` as a string, or the first entry of an array (jsonwebtoken has
/// already checked that ours is among them).
fn one_audience<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Audience {
        One(String),
        Many(Vec<String>),
    }
    match Audience::deserialize(deserializer)? {
        Audience::One(aud) => Ok(aud),
        Audience::Many(list) => list
            .into_iter()
            .next()
            .ok_or_else(|| serde::de::Error::custom("empty aud")),
    }
}

impl Claims for AccessClaims {
    const TYPE: TokenType = TokenType::Access;
    fn typ(&self) -> TokenType {
        self.typ
    }
    fn iat(&self) -> i64 {
        self.iat
    }
}

impl Claims for RefreshClaims {
    const TYPE: TokenType = TokenType::Refresh;
    fn typ(&self) -> TokenType {
        self.typ
    }
    fn iat(&self) -> i64 {
        self.iat
    }
}
