//! The `Authorization: Bearer` extractor: verifies the access token locally
//! (`service_kit::bearer`) and refuses one the auth service's events
//! revoked (the in-memory [`Revocations`]); the auth service is never
//! called, and no query runs.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use service_kit::bearer::{self, BearerError};
use service_kit::error::InfraError;
use shared::claims::AccessClaims;
use shared::token::TokenCodec;

use crate::error::ProfileError;
use crate::revocations::Revocations;

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
    let claims = bearer::authenticate(req, codec).map_err(|error| match error {
        BearerError::Missing => ProfileError::MissingToken,
        BearerError::Invalid => ProfileError::InvalidToken,
        BearerError::RefreshTokenSent => ProfileError::RefreshTokenSent,
        BearerError::Ambiguous => ProfileError::AmbiguousCredentials,
    })?;
    let revocations = req
        .app_data::<web::Data<Revocations>>()
        .ok_or_else(|| InfraError::internal("no revocation set registered"))?;
    if revocations.refuses(&claims) {
        return Err(ProfileError::InvalidToken);
    }
    Ok(Authenticated(claims))
}
