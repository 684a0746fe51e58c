//! The `Authorization: Bearer` extractor: verifies the access token locally
//! with `JWT_SECRET_KEY` (signature, HS256, `exp`, `iat`, `iss`, `aud`,
//! `typ`); the auth service is never called.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use service_kit::error::InfraError;
use service_kit::extract::OneAuthorization;
use shared::api::MAX_EMAIL_CHARS;
use shared::claims::{AccessClaims, TokenType};
use shared::token::TokenCodec;

use crate::error::ProfileError;

/// The verified claims of the request's access token.
#[derive(Debug, Clone)]
pub struct Authenticated(pub AccessClaims);

impl FromRequest for Authenticated {
    type Error = ProfileError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Authenticated, ProfileError> {
    let codec = req
        .app_data::<web::Data<TokenCodec>>()
        .ok_or_else(|| InfraError::internal("no token codec registered"))?;
    let token = bearer_credentials(req)?;
    match codec.decode::<AccessClaims>(token) {
        // Signed with our secret but not an email we could have issued (a
        // NUL cannot even be stored): refused like any other bad token.
        Ok(claims)
            if claims.email.contains('\0') || claims.email.chars().count() > MAX_EMAIL_CHARS =>
        {
            tracing::info!("access token refused: unusable email claim");
            Err(ProfileError::InvalidToken)
        }
        Ok(claims) => {
            service_kit::telemetry::record_session(claims.sub, claims.sid);
            Ok(Authenticated(claims))
        }
        Err(reason) => {
            tracing::info!(%reason, "access token refused");
            match shared::token::claimed_type(token) {
                Some(TokenType::Refresh) => Err(ProfileError::RefreshTokenSent),
                _ => Err(ProfileError::InvalidToken),
            }
        }
    }
}

/// The token of an `Authorization: Bearer` header. No header, or another
/// scheme (such as Basic), means no bearer credentials at all; a Bearer
/// header without a readable token is an invalid one.
fn bearer_credentials(req: &HttpRequest) -> Result<&str, ProfileError> {
    if OneAuthorization::is_ambiguous(req) {
        return Err(ProfileError::AmbiguousCredentials);
    }
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(ProfileError::MissingToken)?
        .as_bytes();
    // "Bearer" alone, or "Bearer <token>"; "Bearerxyz" is another scheme.
    let is_bearer = value.len() >= 6
        && value[..6].eq_ignore_ascii_case(b"bearer")
        && value.get(6).is_none_or(u8::is_ascii_whitespace);
    if !is_bearer {
        return Err(ProfileError::MissingToken);
    }
    let token = std::str::from_utf8(&value[6..])
        .map_err(|_| ProfileError::InvalidToken)?
        .trim();
    if token.is_empty() {
        return Err(ProfileError::InvalidToken);
    }
    Ok(token)
}
