//! `POST /login`: the OAuth 2.0 token endpoint (RFC 6749 §4.3 and §6), for
//! the password grant and the refresh-token grant.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use service_kit::extract::{FormBody, OneAuthorization};
use shared::api::ErrorBody;
use shared::responses::{
    NotForm, PayloadTooLarge, RateLimited, RequestTimeout, TokenIssued, Unavailable,
};
use utoipa::ToSchema;

use crate::client_ip::{ClientNetwork, UserAgent};
use crate::error::AuthError;
use crate::rate_limit::RateLimit;
use crate::services::sessions::{self, Login};
use crate::state::AppState;

/// The token request form. Parameters the endpoint does not use
/// (`client_id`, `scope`, ...) are ignored; a parameter given twice is
/// refused.
#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// `password` (the default when absent or empty) or `refresh_token`.
    #[schema(example = "password", pattern = "^(password|refresh_token)?$")]
    pub grant_type: Option<String>,
    /// The email, for the password grant.
    #[schema(example = "ada@example.com")]
    pub username: Option<String>,
    /// The password, for the password grant.
    #[schema(example = "correct horse battery staple", format = Password)]
    pub password: Option<String>,
    /// With the password grant, for an account with TOTP on: a current
    /// six-digit code or an unused recovery code.
    #[schema(example = "123456")]
    pub otp: Option<String>,
    /// The refresh token, for the refresh-token grant.
    pub refresh_token: Option<String>,
    /// Ignored: this is a public client's endpoint.
    pub client_id: Option<String>,
    /// Ignored: tokens carry no scopes.
    pub scope: Option<String>,
}

impl TokenRequest {
    /// Whether a value had bytes that are not UTF-8: the form decoder
    /// replaces them with U+FFFD, and two different byte strings must not
    /// become the same password.
    fn has_undecodable_value(&self) -> bool {
        [
            &self.grant_type,
            &self.username,
            &self.password,
            &self.otp,
            &self.refresh_token,
        ]
        .into_iter()
        .flatten()
        .any(|value| value.contains('\u{FFFD}'))
    }
}

/// Issues a token pair: `grant_type=password` with `username` (the email)
/// and `password` (and `otp` when the account has TOTP on), or
/// `grant_type=refresh_token` with `refresh_token`.
#[utoipa::path(
    post,
    path = "/login",
    tag = "sessions",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, response = TokenIssued),
        (status = 400, description = "`invalid_request` (malformed form, missing or repeated parameter, more than one `Authorization` header), `invalid_grant` (wrong email or password, wrong or used `otp`, bad refresh token), `mfa_required` (right password, the account has TOTP on and no `otp` was sent) or `unsupported_grant_type`.", body = ErrorBody, example = json!({"error": "invalid_grant", "detail": "Wrong email or password.", "error_description": "Wrong email or password."})),
        (status = 408, response = RequestTimeout),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = NotForm),
        (status = 429, response = RateLimited),
        (status = 503, response = Unavailable),
    )
)]
pub async fn token(
    _: OneAuthorization,
    state: web::Data<AppState>,
    limit: web::Data<RateLimit>,
    client: ClientNetwork,
    agent: UserAgent,
    form: FormBody<TokenRequest>,
) -> Result<HttpResponse, AuthError> {
    let form = form.0;
    if form.has_undecodable_value() {
        return Err(AuthError::InvalidRequest(
            "Form values must be valid UTF-8 once percent-decoded.".into(),
        ));
    }
    let grant_type = form
        .grant_type
        .as_deref()
        .filter(|g| !g.is_empty())
        .unwrap_or("password");
    // A password grant is counted by the per-client limit once it has its
    // turn at the hashing gate (in `log_in`); every other request now.
    let password_grant =
        grant_type == "password" && form.username.is_some() && form.password.is_some();
    if !password_grant {
        limit.check_token_request(client).await?;
    }
    let tokens = match grant_type {
        "password" => match (form.username, form.password) {
            (Some(username), Some(password)) => {
                let login = Login {
                    username: &username,
                    password,
                    otp: form.otp,
                };
                sessions::log_in(&state, &limit, client, agent, login).await?
            }
            (username, password) => {
                let missing = [("username", username), ("password", password)]
                    .into_iter()
                    .filter_map(|(name, value)| value.is_none().then_some(name))
                    .collect();
                return Err(AuthError::MissingFields(missing));
            }
        },
        "refresh_token" => {
            let Some(refresh_token) = form.refresh_token else {
                return Err(AuthError::MissingFields(vec!["refresh_token"]));
            };
            sessions::refresh(&state, client, agent, refresh_token).await?
        }
        _ => return Err(AuthError::UnsupportedGrantType),
    };
    Ok(super::token_response(tokens))
}
