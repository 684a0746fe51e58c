//! The auth service's Bearer routes (`/password`, and the session routes to
//! come) take an access token exactly as the profile service does
//! (`service_kit::bearer`); the service then checks in its own database
//! that the token's session is still live.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use service_kit::error::InfraError;
use shared::claims::AccessClaims;

use crate::error::AuthError;
use crate::state::AppState;

/// The verified claims of the request's access token.
#[derive(Debug, Clone)]
pub struct Authenticated(pub AccessClaims);

impl FromRequest for Authenticated {
    type Error = AuthError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Authenticated, AuthError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| InfraError::internal("no application state registered"))?;
    let claims = service_kit::bearer::authenticate(req, state.tokens.access_codec())?;
    Ok(Authenticated(claims))
}
