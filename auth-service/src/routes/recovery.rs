//! `POST /recover` and `POST /reset`: a forgotten password, recovered
//! through the mailbox.

use actix_web::{HttpResponse, web};
use service_kit::extract::{JsonBody, OneAuthorization};
use shared::api::{Accepted, EmailRequest, ErrorBody, FieldErrors, ResetRequest};
use shared::responses::{NotJson, PayloadTooLarge, RateLimited, RequestTimeout, Unavailable};

use crate::client_ip::ClientNetwork;
use crate::domain::{OneTimeToken, Password};
use crate::error::AuthError;
use crate::jobs::Purpose;
use crate::routes::verify::parse_email;
use crate::services::recovery;
use crate::state::AppState;

/// Mails a password-reset link to the address, if it has an account (at
/// most once per `MAIL_INTERVAL_SECONDS`). The answer, and the time it
/// takes, are the same whether the account exists.
#[utoipa::path(
    post,
    path = "/recover",
    tag = "accounts",
    request_body = EmailRequest,
    responses(
        (status = 202, description = "Accepted, whether or not the account exists.", body = Accepted),
        (status = 400, description = "Malformed JSON (`invalid_request`).", body = ErrorBody),
        (status = 408, response = RequestTimeout),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "Not an email address (`validation_error`).", body = ErrorBody),
        (status = 429, response = RateLimited),
        (status = 503, description = "No mail is configured (`SMTP_URL` is empty), or the database is away (`unavailable`).", body = ErrorBody),
    )
)]
pub async fn recover(
    _: OneAuthorization,
    state: web::Data<AppState>,
    body: JsonBody<EmailRequest>,
) -> Result<HttpResponse, AuthError> {
    let email = parse_email(&body.0.email)?;
    recovery::request_mail(&state, email, Purpose::Reset).await?;
    Ok(HttpResponse::Accepted().json(Accepted {}))
}

/// Sets a new password with the token from the reset mail: every session
/// of the account is revoked, the login back-off cleared, the address
/// counts as verified, and a notice is mailed. A password the rules refuse
/// is 422 and leaves the token usable.
#[utoipa::path(
    post,
    path = "/reset",
    tag = "accounts",
    request_body = ResetRequest,
    responses(
        (status = 204, description = "The password is set; every session is revoked."),
        (status = 400, description = "An unknown, used, superseded or expired token (`invalid_grant`), or malformed JSON (`invalid_request`).", body = ErrorBody, example = json!({"error": "invalid_grant", "detail": "The reset token is invalid, expired or already used."})),
        (status = 408, response = RequestTimeout),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "The new password breaks the signup rules (`validation_error`).", body = ErrorBody),
        (status = 429, response = RateLimited),
        (status = 503, response = Unavailable),
    )
)]
pub async fn reset(
    _: OneAuthorization,
    client: ClientNetwork,
    state: web::Data<AppState>,
    body: JsonBody<ResetRequest>,
) -> Result<HttpResponse, AuthError> {
    let ResetRequest { token, password } = body.0;
    let password =
        Password::parse(password).map_err(|problem| FieldErrors::one("password", problem))?;
    recovery::reset(&state, client, OneTimeToken::parse(&token), password).await?;
    Ok(HttpResponse::NoContent().finish())
}
