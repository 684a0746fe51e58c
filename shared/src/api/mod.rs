//! The request and response bodies of the contract (`API.md`), with their
//! OpenAPI schemas. Handlers, tests and the generated documents all use
//! these types, so they cannot disagree.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

mod account;
mod discovery;
mod mfa;
mod sessions;

pub use account::{Accepted, EmailRequest, PasswordChangeRequest, ResetRequest, VerifyRequest};
pub use discovery::{PublicKey, PublicKeySet, ServerMetadata};
pub use mfa::{RecoveryCodes, TotpCodeRequest, TotpEnrolment};
pub use sessions::{DeleteAccountRequest, LogoutRequest, LogoutScope, SessionInfo};

/// The most characters an email may have (RFC 5321's path limit),
/// counted in Unicode characters, inclusive. The auth service refuses a
/// longer one at signup; the profile service refuses a token carrying one.
pub const MAX_EMAIL_CHARS: usize = 254;

/// The auth service's public routes (its own, beside health and docs).
pub const AUTH_ROUTES: &[&str] = &[
    "/signup",
    "/login",
    "/refresh",
    "/logout",
    "/verify",
    "/verify/resend",
    "/recover",
    "/reset",
    "/password",
    "/sessions",
    "/account",
    "/.well-known/jwks.json",
    "/.well-known/oauth-authorization-server",
    "/mfa/totp",
    "/mfa/totp/confirm",
];
/// The profile service's public routes.
pub const PROFILE_ROUTES: &[&str] = &["/me"];

/// `POST /signup` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"email": "ada@example.com", "password": "correct horse battery staple"}))]
pub struct SignupRequest {
    /// Trimmed and lower-cased; at most 254 characters.
    #[schema(max_length = 254, format = Email)]
    pub email: String,
    /// 8 characters to 72 bytes (bcrypt's limit); no NUL character.
    #[schema(min_length = 8, max_length = 72, pattern = "^[^\\u0000]*$", format = Password)]
    pub password: String,
}

/// A user as the auth service shows it: never the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "8b7c2c1e-0a4e-4c43-9b1a-3f1f9b0f1c2d", "email": "ada@example.com", "created_at": "2026-11-29T10:00:00Z"}))]
pub struct UserResponse {
    pub id: Uuid,
    pub email: String,
    /// RFC 3339, UTC.
    pub created_at: DateTime<Utc>,
}

/// The OAuth 2.0 token response (RFC 6749 §5.1), sent with
/// `Cache-Control: no-store`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"access_token": "eyJhbGciOiJIUzI1NiJ9…", "refresh_token": "eyJhbGciOiJIUzI1NiJ9…", "token_type": "bearer", "expires_in": 1800}))]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `"bearer"`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// `POST /refresh` and `POST /logout` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"refresh_token": "eyJhbGciOiJIUzI1NiJ9…"}))]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// A profile as `GET /me` and `PATCH /me` return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "8b7c2c1e-0a4e-4c43-9b1a-3f1f9b0f1c2d", "email": "ada@example.com", "email_verified": true, "mfa": false, "display_name": "Ada", "bio": null, "created_at": "2026-11-29T10:00:00Z", "updated_at": "2026-11-29T10:05:00Z"}))]
pub struct ProfileResponse {
    /// The user's id (the token's `sub`).
    pub id: Uuid,
    /// The `email` claim of the newest token presented.
    pub email: String,
    /// The `email_verified` claim of the token presented.
    #[serde(default)]
    pub email_verified: bool,
    /// The `mfa` claim of the token presented: whether the account has
    /// TOTP on.
    #[serde(default)]
    pub mfa: bool,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: DateTime<Utc>,
    /// RFC 3339, UTC.
    pub updated_at: DateTime<Utc>,
}

/// `PATCH /me` body: a field left out stays as it is, `null` clears it.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"display_name": "Ada", "bio": null}))]
pub struct ProfilePatch {
    /// At most 64 characters; `null` clears.
    #[serde(default, with = "::serde_with::rust::double_option")]
    #[schema(value_type = Option<String>, max_length = 64, pattern = "^[^\\u0000]*$")]
    pub display_name: Option<Option<String>>,
    /// At most 1024 characters; `null` clears.
    #[serde(default, with = "::serde_with::rust::double_option")]
    #[schema(value_type = Option<String>, max_length = 1024, pattern = "^[^\\u0000]*$")]
    pub bio: Option<Option<String>>,
}

/// `GET /healthz` and `GET /readyz` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct HealthResponse {
    pub status: String,
}

/// The `error` field of every error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidGrant,
    UnsupportedGrantType,
    InvalidToken,
    NotFound,
    MethodNotAllowed,
    EmailTaken,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    ValidationError,
    RateLimited,
    Unavailable,
    Internal,
    /// The request conflicts with the account's state (TOTP already on).
    Conflict,
    /// The feature is not configured on this server.
    FeatureDisabled,
    /// The password was right; the account also needs its second factor
    /// (the `otp` form parameter).
    MfaRequired,
}

/// Every error response's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"error": "validation_error", "detail": "The request has invalid fields.", "fields": {"password": "must be at least 8 characters"}}))]
pub struct ErrorBody {
    pub error: ErrorCode,
    /// One sentence for a person.
    pub detail: String,
    /// Same text as `detail`; only on the token endpoints (`/login`,
    /// `/refresh`), for OAuth 2.0 client libraries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// Field name to what is wrong with it: on `validation_error`, and on
    /// `invalid_request` for a required field left out ([`REQUIRED`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
}

impl ErrorBody {
    /// A body with `error` and `detail` only.
    pub fn new(error: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            error,
            detail: detail.into(),
            error_description: None,
            fields: None,
        }
    }

    /// The 400 body for a request that left out the required `names`: a
    /// wrong shape (`invalid_request`), but named field by field like a
    /// 422, so a client can tell which.
    pub fn missing_fields(names: &[&str]) -> ErrorBody {
        let detail = match names {
            [one] => format!("The field {one} is required."),
            many => format!("The fields {} are required.", many.join(", ")),
        };
        let fields = names
            .iter()
            .map(|name| ((*name).to_owned(), REQUIRED.to_owned()))
            .collect();
        ErrorBody {
            fields: Some(fields),
            ..ErrorBody::new(ErrorCode::InvalidRequest, detail)
        }
    }

    /// Adds `error_description` (a copy of `detail`), as token endpoints do.
    pub fn for_token_endpoint(mut self) -> Self {
        self.error_description = Some(self.detail.clone());
        self
    }
}

/// What `fields` says of a required field the request left out.
pub const REQUIRED: &str = "is required";

/// Field-level problems of a request, gathered before answering 422.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    /// `field` is wrong, and nothing else.
    pub fn one(field: &str, problem: impl Into<String>) -> Self {
        let mut fields = Self::default();
        fields.add(field, problem);
        fields
    }

    /// Records that `field` is wrong; the first problem of a field wins.
    pub fn add(&mut self, field: &str, problem: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_insert_with(|| problem.into());
    }

    /// `Ok(())` when nothing was recorded.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    /// The 422 body for these problems.
    pub fn into_body(self) -> ErrorBody {
        ErrorBody {
            fields: Some(self.0),
            ..ErrorBody::new(
                ErrorCode::ValidationError,
                "The request has invalid fields.",
            )
        }
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.keys().map(String::as_str).collect();
        write!(f, "invalid fields: {}", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn patch_tells_absent_from_null() {
        let patch: ProfilePatch = serde_json::from_str(r#"{"bio": null}"#).unwrap();
        assert_eq!(patch.display_name, None);
        assert_eq!(patch.bio, Some(None));
        let patch: ProfilePatch = serde_json::from_str(r#"{"display_name": "Ada"}"#).unwrap();
        assert_eq!(patch.display_name, Some(Some("Ada".into())));
    }

    #[test]
    fn patch_refuses_unknown_fields() {
        assert!(serde_json::from_str::<ProfilePatch>(r#"{"email": "x@y.z"}"#).is_err());
    }

    #[test]
    fn error_body_leaves_out_empty_parts() {
        let body =
            serde_json::to_value(ErrorBody::new(ErrorCode::NotFound, "No such route.")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": "not_found", "detail": "No such route."})
        );
        let oauth = serde_json::to_value(
            ErrorBody::new(ErrorCode::InvalidGrant, "Wrong email or password.")
                .for_token_endpoint(),
        )
        .unwrap();
        assert_eq!(oauth["error_description"], "Wrong email or password.");
    }
}
