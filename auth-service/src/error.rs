//! The auth service's one error type and its HTTP mapping.
//!
//! Use [`AuthError::Validation`] for a body of the right shape with bad
//! values (422), [`AuthError::InvalidRequest`] for a wrong shape (400),
//! [`AuthError::InvalidGrant`] for anything wrong with credentials or a
//! refresh token (400, one body whatever the cause, so nothing leaks; only
//! an access token sent instead is named, its `typ` being readable anyway).
//! Database, pool and other unexpected failures convert with `?` into
//! [`AuthError::Infra`], which answers 503 or a generic 500 and logs the
//! cause chain. Token endpoints add `error_description` through
//! `crate::token_endpoint`, not here.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use service_kit::bearer::BearerError;
use service_kit::db::{DbError, WorkError};
use service_kit::error::{InfraError, error_response, with_retry_after};
use shared::api::{ErrorBody, ErrorCode, FieldErrors};

/// Everything a request to the auth service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    Validation(FieldErrors),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Required fields left out: 400 `invalid_request` naming them.
    #[error("missing fields: {0:?}")]
    MissingFields(Vec<&'static str>),
    #[error("invalid grant: {0}")]
    InvalidGrant(&'static str),
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    #[error("email already registered")]
    EmailTaken,
    /// A Bearer route without a usable access token.
    #[error(transparent)]
    Bearer(#[from] service_kit::bearer::BearerError),
    /// A Bearer route's token belongs to a revoked or expired session, or
    /// to an account that is gone.
    #[error("the token's session is revoked")]
    SessionRevoked,
    /// A resource of the caller's that does not exist (a session id that
    /// is unknown, ended or another account's).
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// The request conflicts with the account's state (TOTP already on).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A second-factor route while no `MFA_ENCRYPTION_KEY` is set.
    #[error("the second factor is not configured")]
    FeatureDisabled,
    /// The password was right; the account needs its `otp` too.
    #[error("second factor required")]
    MfaRequired,
    /// `/recover` while no `SMTP_URL` is set.
    #[error("mail is not configured")]
    MailDisabled,
    #[error("rate limited for {0:?}")]
    RateLimited(Duration),
    /// The hashing gate is full: shed at once.
    #[error("shed: {0}")]
    Shed(crate::hash_gate::Shed),
    /// Another refresh of the same session holds its lock too long.
    #[error("refresh of this session is busy")]
    Busy,
    #[error(transparent)]
    Infra(#[from] InfraError),
}

/// Detail of every failed password login.
pub const BAD_CREDENTIALS: &str = "Wrong email or password.";
/// Detail of a right password on an unverified account, when
/// `EMAIL_VERIFICATION=required`.
pub const UNVERIFIED: &str =
    "The email address is not verified yet: follow the link in the verification mail.";
/// Detail of every refused refresh token.
pub const BAD_REFRESH_TOKEN: &str = "The refresh token is invalid, expired or revoked.";
/// Detail of an access token sent where the refresh token is due.
pub const ACCESS_TOKEN_SENT: &str =
    "This is an access token; send the refresh token (the refresh_token of the token response).";

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
            Self::MissingFields(names) => {
                (StatusCode::BAD_REQUEST, ErrorBody::missing_fields(names))
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
            Self::Bearer(BearerError::Missing) => plain(
                StatusCode::UNAUTHORIZED,
                C::InvalidToken,
                "An access token is required: send Authorization: Bearer <token>.",
            ),
            Self::Bearer(BearerError::Invalid) => plain(
                StatusCode::UNAUTHORIZED,
                C::InvalidToken,
                "The access token is invalid or expired.",
            ),
            Self::Bearer(BearerError::RefreshTokenSent) => plain(
                StatusCode::UNAUTHORIZED,
                C::InvalidToken,
                service_kit::bearer::REFRESH_TOKEN_SENT,
            ),
            Self::Bearer(BearerError::Ambiguous) => plain(
                StatusCode::BAD_REQUEST,
                C::InvalidRequest,
                "Send one Authorization header, not several.",
            ),
            Self::SessionRevoked => plain(
                StatusCode::UNAUTHORIZED,
                C::InvalidToken,
                "The access token's session has ended; log in again.",
            ),
            Self::NotFound(detail) => plain(StatusCode::NOT_FOUND, C::NotFound, detail),
            Self::Conflict(detail) => plain(StatusCode::CONFLICT, C::Conflict, detail),
            Self::FeatureDisabled => plain(
                StatusCode::FORBIDDEN,
                C::FeatureDisabled,
                "A second factor is not configured on this server (no MFA_ENCRYPTION_KEY).",
            ),
            Self::MfaRequired => plain(
                StatusCode::BAD_REQUEST,
                C::MfaRequired,
                "This account has a second factor: send the otp parameter with a code from the authenticator app or a recovery code.",
            ),
            Self::MailDisabled => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                C::Unavailable,
                "Password recovery by mail is not configured on this server.",
            ),
            Self::RateLimited(_) => plain(
                StatusCode::TOO_MANY_REQUESTS,
                C::RateLimited,
                "Too many attempts; try again after the time in Retry-After.",
            ),
            Self::Shed(_) => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                C::Unavailable,
                "Too many passwords are being checked right now; try again shortly.",
            ),
            Self::Busy => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                C::Unavailable,
                "Another refresh of this session is still running; try again shortly.",
            ),
            Self::Infra(infra) => infra.status_and_body(),
        }
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        self.status_and_body().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, body) = self.status_and_body();
        match self {
            Self::Infra(infra) => infra.error_response(),
            Self::RateLimited(wait) => with_retry_after(
                error_response(status, &body),
                wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            ),
            Self::Busy => {
                tracing::warn!("a refresh waited too long for its session's lock");
                with_retry_after(error_response(status, &body), 1)
            }
            Self::Bearer(error) => with_challenge(
                error_response(status, &body),
                service_kit::bearer::challenge(*error),
            ),
            Self::SessionRevoked => with_challenge(
                error_response(status, &body),
                service_kit::bearer::challenge(BearerError::Invalid),
            ),
            Self::Shed(why) => {
                tracing::warn!(reason = %why, "request shed by the hashing gate");
                with_retry_after(error_response(status, &body), 1)
            }
            _ => error_response(status, &body),
        }
    }
}

/// `response` with `WWW-Authenticate: challenge` (RFC 6750 §3).
fn with_challenge(mut response: HttpResponse, challenge: &'static str) -> HttpResponse {
    response.headers_mut().insert(
        actix_web::http::header::WWW_AUTHENTICATE,
        actix_web::http::header::HeaderValue::from_static(challenge),
    );
    response
}

impl From<FieldErrors> for AuthError {
    fn from(fields: FieldErrors) -> Self {
        Self::Validation(fields)
    }
}

impl From<DbError> for AuthError {
    /// A unique violation of the email (or its look-alike skeleton) is the
    /// 409; anything else from the database is infrastructure.
    fn from(error: DbError) -> Self {
        let email_taken = matches!(
            error.query_error(),
            Some(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
                if matches!(
                    info.constraint_name(),
                    Some("users_email_key" | "users_email_skeleton_key")
                )
        );
        if email_taken {
            Self::EmailTaken
        } else {
            Self::Infra(error.into())
        }
    }
}

impl From<DieselError> for AuthError {
    fn from(error: DieselError) -> Self {
        DbError::from(error).into()
    }
}

impl WorkError for AuthError {
    fn as_db_error(&self) -> Option<&DbError> {
        match self {
            Self::Infra(InfraError::Db(error)) => Some(error),
            _ => None,
        }
    }
}

impl From<crate::store::sessions::RotateError> for AuthError {
    fn from(error: crate::store::sessions::RotateError) -> Self {
        match error {
            crate::store::sessions::RotateError::Busy => Self::Busy,
            crate::store::sessions::RotateError::Query(cause) => cause.into(),
        }
    }
}

impl From<bcrypt::BcryptError> for AuthError {
    fn from(error: bcrypt::BcryptError) -> Self {
        Self::Infra(InfraError::Internal(error.into()))
    }
}

impl From<crate::mfa::MfaError> for AuthError {
    fn from(error: crate::mfa::MfaError) -> Self {
        Self::Infra(InfraError::Internal(error.into()))
    }
}

impl From<shared::token::TokenError> for AuthError {
    fn from(error: shared::token::TokenError) -> Self {
        Self::Infra(InfraError::Internal(error.into()))
    }
}
