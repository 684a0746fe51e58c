//! The profile service's one error type and its HTTP mapping.
//!
//! [`ProfileError::MissingToken`] and [`ProfileError::InvalidToken`] are
//! the RFC 6750 answers (401 with `WWW-Authenticate`); database failures
//! convert with `?` (503 when the database is away, else a logged 500).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use shared::api::{ErrorBody, ErrorCode, FieldErrors};
use shared::http::error_response;

/// Everything a request to the profile service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{0}")]
    Validation(FieldErrors),
    #[error("no bearer token")]
    MissingToken,
    #[error("invalid bearer token")]
    InvalidToken,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
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
            Self::Unavailable(_) => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                C::Unavailable,
                "The service cannot reach its database; try again shortly.",
            ),
            Self::Internal(_) => plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                C::Internal,
                "Something went wrong on our side.",
            ),
        }
    }
}

impl ResponseError for ProfileError {
    fn status_code(&self) -> StatusCode {
        self.status_and_body().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, body) = self.status_and_body();
        let mut response = error_response(status, &body);
        let challenge = match self {
            Self::MissingToken => Some("Bearer"),
            Self::InvalidToken => Some("Bearer error=\"invalid_token\""),
            Self::Unavailable(_) => {
                tracing::warn!(error = %self, "request failed");
                None
            }
            Self::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                None
            }
            Self::Validation(_) => None,
        };
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static(challenge),
            );
        }
        if matches!(self, Self::Unavailable(_)) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(1u32));
        }
        response
    }
}

impl From<FieldErrors> for ProfileError {
    fn from(fields: FieldErrors) -> Self {
        Self::Validation(fields)
    }
}

impl From<diesel::result::Error> for ProfileError {
    fn from(error: diesel::result::Error) -> Self {
        if shared::db::is_unreachable(&error) {
            Self::Unavailable(error.to_string())
        } else {
            Self::Internal(error.to_string())
        }
    }
}

impl From<diesel::r2d2::PoolError> for ProfileError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

impl From<actix_web::error::BlockingError> for ProfileError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        Self::Internal(error.to_string())
    }
}
