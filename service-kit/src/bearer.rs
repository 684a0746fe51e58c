//! The `Authorization: Bearer` check both services make on access tokens,
//! locally: signature, algorithm, `exp`, `iat`, `iss`, `aud`, `typ` (by
//! `shared`'s codec), and an email claim we could have issued. Each service
//! maps a [`BearerError`] to its 401 in its own `error.rs`.

use actix_web::HttpRequest;
use actix_web::http::header;
use shared::api::MAX_EMAIL_CHARS;
use shared::claims::{AccessClaims, TokenType};
use shared::token::TokenCodec;

use crate::extract::OneAuthorization;

/// The `detail` of a 401 for [`BearerError::RefreshTokenSent`].
pub const REFRESH_TOKEN_SENT: &str =
    "This is a refresh token; send an access token (the access_token of the token response).";

/// Why a request carries no usable access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    /// No `Authorization` header, or another scheme (such as Basic).
    #[error("no bearer token")]
    Missing,
    /// A Bearer header whose token does not verify.
    #[error("invalid bearer token")]
    Invalid,
    /// A Bearer header whose token does not verify and says it is a
    /// refresh token: named in the answer, since its `typ` is readable by
    /// whoever holds it.
    #[error("a refresh token sent as the bearer token")]
    RefreshTokenSent,
    /// More than one `Authorization` header.
    #[error("more than one Authorization header")]
    Ambiguous,
}

/// The verified claims of the request's access token.
pub fn authenticate(req: &HttpRequest, codec: &TokenCodec) -> Result<AccessClaims, BearerError> {
    let token = credentials(req)?;
    match codec.decode::<AccessClaims>(token) {
        // Signed with our key but not an email we could have issued (a
        // NUL cannot even be stored): refused like any other bad token.
        Ok(claims)
            if claims.email.contains('\0') || claims.email.chars().count() > MAX_EMAIL_CHARS =>
        {
            tracing::info!("access token refused: unusable email claim");
            Err(BearerError::Invalid)
        }
        Ok(claims) => {
            crate::telemetry::record_session(claims.sub, claims.sid);
            Ok(claims)
        }
        Err(reason) => {
            tracing::info!(%reason, "access token refused");
            match shared::token::claimed_type(token) {
                Some(TokenType::Refresh) => Err(BearerError::RefreshTokenSent),
                _ => Err(BearerError::Invalid),
            }
        }
    }
}

/// The token of an `Authorization: Bearer` header. No header, or another
/// scheme (such as Basic), means no bearer credentials at all; a Bearer
/// header without a readable token is an invalid one.
pub fn credentials(req: &HttpRequest) -> Result<&str, BearerError> {
    if OneAuthorization::is_ambiguous(req) {
        return Err(BearerError::Ambiguous);
    }
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(BearerError::Missing)?
        .as_bytes();
    // "Bearer" alone, or "Bearer <token>"; "Bearerxyz" is another scheme.
    let is_bearer = value.len() >= 6
        && value[..6].eq_ignore_ascii_case(b"bearer")
        && value.get(6).is_none_or(u8::is_ascii_whitespace);
    if !is_bearer {
        return Err(BearerError::Missing);
    }
    let token = std::str::from_utf8(&value[6..])
        .map_err(|_| BearerError::Invalid)?
        .trim();
    if token.is_empty() {
        return Err(BearerError::Invalid);
    }
    Ok(token)
}

/// The `WWW-Authenticate` challenge of a 401 (or 400) for `error`
/// (RFC 6750 §3).
pub fn challenge(error: BearerError) -> &'static str {
    match error {
        BearerError::Missing => "Bearer",
        BearerError::Invalid | BearerError::RefreshTokenSent => "Bearer error=\"invalid_token\"",
        BearerError::Ambiguous => "Bearer error=\"invalid_request\"",
    }
}
