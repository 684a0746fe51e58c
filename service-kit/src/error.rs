//! The one infrastructure error both services wrap: the database (or the
//! pool in front of it) is away, or something failed that no client input
//! explains. Each service's own error enum has a variant holding this one,
//! so the 503/500 answers, their `Retry-After` and their logging are
//! written once.
//!
//! The cause is kept as a `source()` chain for the log line; no response
//! body ever carries it.

use std::error::Error as StdError;
use std::fmt;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use shared::api::{ErrorBody, ErrorCode};

type Cause = Box<dyn StdError + Send + Sync + 'static>;

/// A failure of what the service runs on, not of the request.
#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    /// The database or pool is unreachable: 503 with `Retry-After`.
    #[error("the database is unavailable")]
    Unavailable(#[source] Cause),
    /// Anything unexpected: a logged 500 with a generic body.
    #[error("internal error")]
    Internal(#[source] Cause),
}

/// What a 503 `unavailable` says when the database is away.
pub const UNAVAILABLE_DETAIL: &str = "The service cannot reach its database; try again shortly.";
/// What a 500 says, whatever the cause.
pub const INTERNAL_DETAIL: &str = "Something went wrong on our side.";

impl InfraError {
    /// An unexpected failure described by `message` (no cause to chain).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into().into())
    }

    /// The status and contract body; never the cause's text.
    pub fn status_and_body(&self) -> (StatusCode, ErrorBody) {
        match self {
            Self::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorBody::new(ErrorCode::Unavailable, UNAVAILABLE_DETAIL),
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorBody::new(ErrorCode::Internal, INTERNAL_DETAIL),
            ),
        }
    }

    /// Logs the whole cause chain once, at the level the failure deserves.
    pub fn log(&self) {
        let chain = Chain(self);
        match self {
            Self::Unavailable(_) => tracing::warn!(error = %chain, "request failed"),
            Self::Internal(_) => tracing::error!(error = %chain, "request failed"),
        }
    }
}

impl ResponseError for InfraError {
    fn status_code(&self) -> StatusCode {
        self.status_and_body().0
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let (status, body) = self.status_and_body();
        let response = error_response(status, &body);
        match self {
            Self::Unavailable(_) => with_retry_after(response, 1),
            Self::Internal(_) => response,
        }
    }
}

/// The response for `body` with `status` and `Content-Type: application/json`.
pub fn error_response(status: StatusCode, body: &ErrorBody) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

/// `response` with `Retry-After: seconds` (at least 1).
pub fn with_retry_after(mut response: HttpResponse, seconds: u64) -> HttpResponse {
    response.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from(seconds.max(1)),
    );
    response
}

/// Whether a diesel error means the database went away (503) rather than a
/// bug or a bad query (500).
pub fn is_unreachable(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        error,
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}

impl From<diesel::result::Error> for InfraError {
    fn from(error: diesel::result::Error) -> Self {
        if is_unreachable(&error) {
            Self::Unavailable(error.into())
        } else {
            Self::Internal(error.into())
        }
    }
}

impl From<diesel::r2d2::PoolError> for InfraError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<actix_web::error::BlockingError> for InfraError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        Self::Internal(error.to_string().into())
    }
}

/// An error and each of its sources, joined by `: `, for one log line.
pub struct Chain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_never_carries_the_cause_but_the_log_chain_does() {
        let error = InfraError::internal("secret detail of a failing query");
        let (status, body) = error.status_and_body();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.detail.contains("secret detail"));
        assert_eq!(
            Chain(&error).to_string(),
            "internal error: secret detail of a failing query"
        );
    }

    #[test]
    fn a_pool_timeout_is_unavailable() {
        let error = InfraError::Unavailable("timed out waiting for connection".into());
        assert_eq!(error.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let response = error.error_response();
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
    }
}
