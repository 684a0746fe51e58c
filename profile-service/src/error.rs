//! The profile service's one error type and its HTTP mapping.
//!
//! [`ProfileError::MissingToken`] and [`ProfileError::InvalidToken`] are
//! the RFC 6750 answers (401 with `WWW-Authenticate`); database and other
//! unexpected failures convert with `?` into [`ProfileError::Infra`] (503
//! when the database is away, else a logged, generic 500).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use service_kit::db::{DbError, WorkError};
use service_kit::error::{InfraError, error_response};
use shared::api::{ErrorBody, ErrorCode, FieldErrors};
use shared::events::DeliveryError;

/// Everything a request to the profile service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{0}")]
    Validation(FieldErrors),
    #[error("no bearer token")]
    MissingToken,
    #[error("invalid bearer token")]
    InvalidToken,
    /// A token that says it is a refresh token (and does not verify as an
    /// access token): named, since its `typ` is readable by whoever holds it.
    #[error("a refresh token sent as the bearer token")]
    RefreshTokenSent,
    #[error("more than one Authorization header")]
    AmbiguousCredentials,
    /// An event delivery whose signature or timestamp is refused.
    #[error(transparent)]
    Delivery(#[from] shared::events::DeliveryError),
    /// An event delivery whose body is not an event.
    #[error("not an event: {0}")]
    BadEvent(String),
    #[error(transparent)]
    Infra(#[from] InfraError),
}

impl ProfileError {
    fn status_and_body(&self) -> (StatusCode, ErrorBody) {
        use ErrorCode as C;
        let plain = |status, code, detail: &str| (status, ErrorBody::new(code, detail));
        match self {
            Self::Validation(fields) => {
                (StatusCode::UNPROCESSABLE_ENTITY, fields.clone().into_body())
            }
            Self::MissingToken => plain(
                StatusCode::UNAUTHORIZED,
                C::InvalidToken,
                "An access token is required: send Authorization: Bearer <token>.",
            ),
            Self::InvalidToken => plain(
                StatusCode::UNAUTHORIZED,
                C::InvalidToken,
                "The access token is invalid or expired.",
            ),
            Self::RefreshTokenSent => plain(
                StatusCode::UNAUTHORIZED,
                C::InvalidToken,
                service_kit::bearer::REFRESH_TOKEN_SENT,
            ),
            Self::AmbiguousCredentials => plain(
                StatusCode::BAD_REQUEST,
                C::InvalidRequest,
                "Send one Authorization header, not several.",
            ),
            Self::Delivery(error @ DeliveryError::Unsigned) => plain(
                StatusCode::UNAUTHORIZED,
                C::InvalidToken,
                &format!("{error}."),
            ),
            Self::Delivery(error @ DeliveryError::Stale) => plain(
                StatusCode::BAD_REQUEST,
                C::InvalidRequest,
                &format!("{error}."),
            ),
            Self::BadEvent(problem) => plain(
                StatusCode::BAD_REQUEST,
                C::InvalidRequest,
                &format!("The body is not an event: {problem}."),
            ),
            Self::Infra(infra) => infra.status_and_body(),
        }
    }
}

impl ResponseError for ProfileError {
    fn status_code(&self) -> StatusCode {
        self.status_and_body().0
    }

    fn error_response(&self) -> HttpResponse {
        let challenge = match self {
            Self::Infra(infra) => return infra.error_response(),
            Self::Validation(_) | Self::BadEvent(_) => None,
            Self::Delivery(_) => None,
            Self::MissingToken => Some("Bearer"),
            Self::InvalidToken | Self::RefreshTokenSent => Some("Bearer error=\"invalid_token\""),
            Self::AmbiguousCredentials => Some("Bearer error=\"invalid_request\""),
        };
        let (status, body) = self.status_and_body();
        let mut response = error_response(status, &body);
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

impl From<FieldErrors> for ProfileError {
    fn from(fields: FieldErrors) -> Self {
        Self::Validation(fields)
    }
}

impl From<DbError> for ProfileError {
    fn from(error: DbError) -> Self {
        Self::Infra(error.into())
    }
}

impl From<diesel::result::Error> for ProfileError {
    /// `NotFound` means the profile of a token's user could not be had:
    /// the account was deleted (its profile is refused re-creation), so
    /// the token is no longer good.
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => Self::InvalidToken,
            error => Self::Infra(error.into()),
        }
    }
}

impl WorkError for ProfileError {
    fn as_db_error(&self) -> Option<&DbError> {
        match self {
            Self::Infra(InfraError::Db(error)) => Some(error),
            _ => None,
        }
    }
}
