//! The bodies of the account's life after signup (part two): verifying
//! an address, recovering and changing a password.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /verify` body: the token from the verification mail's link.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"token": "q9Xb1p0Yt6H4cFvM2aLkR8sWnE3uJd7iZgTyOhCxVbA"}))]
pub struct VerifyRequest {
    /// 43 characters of base64url.
    pub token: String,
}

/// `POST /verify/resend` and `POST /recover` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"email": "ada@example.com"}))]
pub struct EmailRequest {
    /// Normalised as at signup.
    #[schema(max_length = 254, format = Email)]
    pub email: String,
}

/// `POST /reset` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"token": "q9Xb1p0Yt6H4cFvM2aLkR8sWnE3uJd7iZgTyOhCxVbA", "password": "a new correct horse"}))]
pub struct ResetRequest {
    /// The token from the reset mail's link.
    pub token: String,
    /// The new password, by the signup rules.
    #[schema(min_length = 8, max_length = 72, pattern = "^[^\\u0000]*$", format = Password)]
    pub password: String,
}

/// `POST /password` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"current_password": "correct horse battery staple", "new_password": "a new correct horse"}))]
pub struct PasswordChangeRequest {
    #[schema(format = Password)]
    pub current_password: String,
    /// By the signup rules.
    #[schema(min_length = 8, max_length = 72, pattern = "^[^\\u0000]*$", format = Password)]
    pub new_password: String,
}

/// The `202 {}` of requests whose answer must not tell whether an account
/// exists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({}))]
pub struct Accepted {}
