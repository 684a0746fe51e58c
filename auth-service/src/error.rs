//! The auth service's one error type and its HTTP mapping.
//!
//! Use [`AuthError::Validation`] for a body of the right shape with bad
//! values (422), [`AuthError::InvalidRequest`] for a wrong shape (400),
//! [`AuthError::InvalidGrant`] for anything wrong with credentials or a
//! refresh token (400, one body whatever the cause, so nothing leaks).
//! Database and pool failures convert with `?`: an unreachable database is
//! 503, anything unexpected is logged once here and answered with a
//! generic 500 body.

use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use shared::api::{ErrorBody, ErrorCode, FieldErrors};
use shared::http::{ErrorStyle, error_response};

/// Everything a request to the auth service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    Validation(FieldErrors),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("invalid grant: {0}")]
    InvalidGrant(&'static str),
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    #[error("email already registered")]
    EmailTaken,
    #[error("rate limited for {0:?}")]
    RateLimited(Duration),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("refresh of this session is busy: {0}")]
    Busy(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Detail of every failed password login.
pub const BAD_CREDENTIALS: &str = "Wrong email or password.";
/// Detail of every refused refresh token.
pub const BAD_REFRESH_TOKEN: &str = "The refresh token is invalid, expired or revoked.";

impl AuthError {
    fn status_and_body(&self) -> (StatusCode, ErrorBody) {
        use ErrorCode as C;
        let plain = |status, code, detail: &str| (status, ErrorBody::new(code, detail));
        match self {
            Self::Validation(fields) => {
                (StatusCode::UNPROCESSABLE_ENTITY, fields.clone().into_body())
            }
            Self::InvalidRequest(detail) => {
                plain(StatusCode::BAD_REQUEST, C::InvalidRequest, detail)
            }
            Self::InvalidGrant(detail) => plain(StatusCode::BAD_REQUEST, C::InvalidGrant, detail),
            Self::UnsupportedGrantType => plain(
                StatusCode::BAD_REQUEST,
                C::UnsupportedGrantType,
                "grant_type must be password or refresh_token.",
            ),
            Self::EmailTaken => plain(
                StatusCode::CONFLICT,
                C::EmailTaken,
                "An account with this email already exists.",
            ),
            Self::RateLimited(_) => plain(
                StatusCode::TOO_MANY_REQUESTS,
                C::RateLimited,
                "Too many attempts; try again after the time in Retry-After.",
            ),
            Self::Unavailable(_) => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                C::Unavailable,
                "The service cannot reach its database; try again shortly.",
            ),
            Self::Busy(_) => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                C::Unavailable,
                "Another refresh of this session is still running; try again shortly.",
            ),
            Self::Internal(_) => plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                C::Internal,
                "Something went wrong on our side.",
            ),
        }
    }

    /// The response in `style`, with `Retry-After` where it applies.
    pub fn response(&self, style: ErrorStyle) -> HttpResponse {
        let (status, body) = self.status_and_body();
        match self {
            Self::Internal(_) => tracing::error!(error = %self, "request failed"),
            Self::Unavailable(_) | Self::Busy(_) => tracing::warn!(error = %self, "request failed"),
            _ => {}
        }
        let mut response = error_response(status, &style.apply(body));
        let retry_after = match self {
            Self::RateLimited(wait) => {
                Some((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
            }
            Self::Unavailable(_) | Self::Busy(_) => Some(1),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        self.status_and_body().0
    }

    fn error_response(&self) -> HttpResponse {
        self.response(ErrorStyle::Plain)
    }
}

/// An [`AuthError`] answered by a token endpoint (`/login`, `/refresh`),
/// whose bodies also carry `error_description`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct TokenEndpointError(#[from] pub AuthError);

impl ResponseError for TokenEndpointError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.response(ErrorStyle::TokenEndpoint)
    }
}

impl From<FieldErrors> for AuthError {
    fn from(fields: FieldErrors) -> Self {
        Self::Validation(fields)
    }
}

impl From<DieselError> for AuthError {
    fn from(error: DieselError) -> Self {
        match &error {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
                if info.constraint_name() == Some("users_email_key") =>
            {
                Self::EmailTaken
            }
            error if shared::db::is_unreachable(error) => Self::Unavailable(error.to_string()),
            _ => Self::Internal(error.to_string()),
        }
    }
}

impl From<crate::store::sessions::RotateError> for AuthError {
    fn from(error: crate::store::sessions::RotateError) -> Self {
        match error {
            crate::store::sessions::RotateError::Busy(cause) => Self::Busy(cause.to_string()),
            crate::store::sessions::RotateError::Query(cause) => cause.into(),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AuthError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

impl From<actix_web::error::BlockingError> for AuthError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<bcrypt::BcryptError> for AuthError {
    fn from(error: bcrypt::BcryptError) -> Self {
        Self::Internal(format!("bcrypt: {error}"))
    }
}

impl From<shared::token::TokenError> for AuthError {
    fn from(error: shared::token::TokenError) -> Self {
        Self::Internal(format!("token signing: {error}"))
    }
}
