//! The one infrastructure error both services wrap: the database (or the
//! pool in front of it) failed ([`DbError`], mapped to HTTP here and only
//! here), or something failed that no client input explains. Each
//! service's own error enum has a variant holding this one, so the 503/500
//! answers, their `Retry-After` and their logging are written once.
//!
//! The cause is kept as a `source()` chain for the log line; no response
//! body ever carries it.

use std::error::Error as StdError;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use shared::api::{ErrorBody, ErrorCode};

use crate::db::DbError;
/// Re-exported beside the errors it prints.
pub use crate::telemetry::Chain;

type Cause = Box<dyn StdError + Send + Sync + 'static>;

/// A failure of what the service runs on, not of the request.
#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    /// The database failed: 503 with `Retry-After` when it is away or busy
    /// ([`DbError::is_transient`]), else a logged 500.
    #[error(transparent)]
    Db(#[from] DbError),
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

    /// Whether this is the database being away or busy (503), not a bug.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Db(db) if db.is_transient())
    }

    /// The status and contract body; never the cause's text.
    pub fn status_and_body(&self) -> (StatusCode, ErrorBody) {
        match self {
            Self::Db(db) if db.is_transient() => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorBody::new(ErrorCode::Unavailable, UNAVAILABLE_DETAIL),
            ),
            Self::Db(_) | Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorBody::new(ErrorCode::Internal, INTERNAL_DETAIL),
            ),
        }
    }

    /// Logs the whole cause chain once, at the level the failure deserves.
    pub fn log(&self) {
        let chain = Chain(self);
        if self.is_transient() {
            tracing::warn!(error = %chain, "request failed");
        } else {
            tracing::error!(error = %chain, "request failed");
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
        if self.is_transient() {
            with_retry_after(response, 1)
        } else {
            response
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

impl From<diesel::result::Error> for InfraError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(error.into())
    }
}

impl From<actix_web::error::BlockingError> for InfraError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        Self::Internal(error.to_string().into())
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
        let error = InfraError::from(DbError::PoolTimeout(None));
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
