//! `POST /verify` and `POST /verify/resend`: confirming an address with the
//! token its mail carried, and asking for that mail again.

use actix_web::{HttpResponse, web};
use service_kit::extract::{JsonBody, OneAuthorization};
use shared::api::{Accepted, EmailRequest, ErrorBody, FieldErrors, VerifyRequest};
use shared::responses::{NotJson, PayloadTooLarge, RateLimited, RequestTimeout, Unavailable};

use crate::domain::{Email, OneTimeToken};
use crate::error::AuthError;
use crate::jobs::Purpose;
use crate::services::recovery;
use crate::state::AppState;

/// Verifies the address the token was mailed to. A token works once.
#[utoipa::path(
    post,
    path = "/verify",
    tag = "accounts",
    request_body = VerifyRequest,
    responses(
        (status = 204, description = "The account's address is verified."),
        (status = 400, description = "An unknown, used or expired token (`invalid_grant`), or malformed JSON (`invalid_request`).", body = ErrorBody, example = json!({"error": "invalid_grant", "detail": "The verification token is invalid, expired or already used."})),
        (status = 408, response = RequestTimeout),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 429, response = RateLimited),
        (status = 503, response = Unavailable),
    )
)]
pub async fn verify(
    _: OneAuthorization,
    state: web::Data<AppState>,
    body: JsonBody<VerifyRequest>,
) -> Result<HttpResponse, AuthError> {
    recovery::verify(&state, OneTimeToken::parse(&body.0.token)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mails a new verification link to the address, if it has an account
/// that is not verified yet (and was not mailed within
/// `MAIL_INTERVAL_SECONDS`). The answer is the same either way.
#[utoipa::path(
    post,
    path = "/verify/resend",
    tag = "accounts",
    request_body = EmailRequest,
    responses(
        (status = 202, description = "Accepted, whether or not a mail goes out.", body = Accepted),
        (status = 400, description = "Malformed JSON (`invalid_request`).", body = ErrorBody),
        (status = 408, response = RequestTimeout),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "Not an email address (`validation_error`).", body = ErrorBody),
        (status = 429, response = RateLimited),
        (status = 503, response = Unavailable),
    )
)]
pub async fn resend(
    _: OneAuthorization,
    state: web::Data<AppState>,
    body: JsonBody<EmailRequest>,
) -> Result<HttpResponse, AuthError> {
    let email = parse_email(&body.0.email)?;
    recovery::request_mail(&state, email, Purpose::Verify).await?;
    Ok(HttpResponse::Accepted().json(Accepted {}))
}

/// The `email` field, or the 422 naming it.
pub fn parse_email(raw: &str) -> Result<Email, FieldErrors> {
    Email::parse(raw).map_err(|problem| FieldErrors::one("email", problem))
}
