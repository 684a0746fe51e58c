//! `/mfa/totp`: a signed-in user enrols, confirms and removes a TOTP
//! second factor.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use service_kit::extract::JsonBody;
use shared::api::{ErrorBody, FieldErrors, RecoveryCodes, TotpCodeRequest, TotpEnrolment};
use shared::responses::{NotJson, PayloadTooLarge, RateLimited, RequestTimeout, Unavailable};

use crate::bearer::Authenticated;
use crate::client_ip::ClientNetwork;
use crate::error::AuthError;
use crate::mfa::codes::Code;
use crate::services::totp;
use crate::state::AppState;

/// Starts a TOTP enrolment: a new secret, as base32 and as an
/// `otpauth://` URI for a QR code, shown this once. It replaces an earlier
/// pending enrolment; TOTP is on only after `/mfa/totp/confirm`.
#[utoipa::path(
    post,
    path = "/mfa/totp",
    tag = "mfa",
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "A pending enrolment.", body = TotpEnrolment),
        (status = 400, description = "More than one `Authorization` header (`invalid_request`).", body = ErrorBody),
        (status = 401, description = "Missing, invalid or revoked access token (`invalid_token`).", body = ErrorBody),
        (status = 403, description = "No `MFA_ENCRYPTION_KEY` on this server (`feature_disabled`).", body = ErrorBody, example = json!({"error": "feature_disabled", "detail": "A second factor is not configured on this server (no MFA_ENCRYPTION_KEY)."})),
        (status = 409, description = "TOTP is already on (`conflict`).", body = ErrorBody, example = json!({"error": "conflict", "detail": "TOTP is already on for this account; turn it off first."})),
        (status = 429, response = RateLimited),
        (status = 503, response = Unavailable),
    )
)]
pub async fn enrol(
    caller: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AuthError> {
    let enrolment = totp::enrol(&state, caller.0).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(enrolment))
}

/// Turns TOTP on with a first code from the authenticator. Answers ten
/// one-time recovery codes (shown this once) and revokes every other
/// session of the account. A wrong code counts as a failed login.
#[utoipa::path(
    post,
    path = "/mfa/totp/confirm",
    tag = "mfa",
    security(("oauth2" = [])),
    request_body = TotpCodeRequest,
    responses(
        (status = 200, description = "TOTP is on; every other session is revoked.", body = RecoveryCodes),
        (status = 400, description = "A wrong, expired or used code, or no pending enrolment (`invalid_grant`); malformed JSON (`invalid_request`).", body = ErrorBody, example = json!({"error": "invalid_grant", "detail": "The code is wrong, expired or already used."})),
        (status = 401, description = "Missing, invalid or revoked access token (`invalid_token`).", body = ErrorBody),
        (status = 403, description = "No `MFA_ENCRYPTION_KEY` on this server (`feature_disabled`).", body = ErrorBody),
        (status = 408, response = RequestTimeout),
        (status = 409, description = "TOTP is already on (`conflict`).", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "The code is not six digits (`validation_error`).", body = ErrorBody),
        (status = 429, response = RateLimited),
        (status = 503, response = Unavailable),
    )
)]
pub async fn confirm(
    caller: Authenticated,
    client: ClientNetwork,
    state: web::Data<AppState>,
    body: JsonBody<TotpCodeRequest>,
) -> Result<HttpResponse, AuthError> {
    let Some(Code::Totp(code)) = Code::parse(&body.0.code) else {
        return Err(FieldErrors::one("code", "must be six digits").into());
    };
    let codes = totp::confirm(&state, client, caller.0, code).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(codes))
}

/// Turns TOTP off, given a current code or an unused recovery code: the
/// secret and the recovery codes are deleted. A wrong code counts as a
/// failed login.
#[utoipa::path(
    delete,
    path = "/mfa/totp",
    tag = "mfa",
    security(("oauth2" = [])),
    request_body = TotpCodeRequest,
    responses(
        (status = 204, description = "TOTP is off."),
        (status = 400, description = "A wrong, expired or used code, or TOTP is not on (`invalid_grant`); malformed JSON (`invalid_request`).", body = ErrorBody, example = json!({"error": "invalid_grant", "detail": "The code is wrong, expired or already used."})),
        (status = 401, description = "Missing, invalid or revoked access token (`invalid_token`).", body = ErrorBody),
        (status = 403, description = "No `MFA_ENCRYPTION_KEY` on this server (`feature_disabled`).", body = ErrorBody),
        (status = 408, response = RequestTimeout),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "The code is neither six digits nor a ten-character recovery code (`validation_error`).", body = ErrorBody),
        (status = 429, response = RateLimited),
        (status = 503, response = Unavailable),
    )
)]
pub async fn disable(
    caller: Authenticated,
    client: ClientNetwork,
    state: web::Data<AppState>,
    body: JsonBody<TotpCodeRequest>,
) -> Result<HttpResponse, AuthError> {
    let Some(code) = Code::parse(&body.0.code) else {
        return Err(FieldErrors::one(
            "code",
            "must be six digits or a ten-character recovery code",
        )
        .into());
    };
    totp::disable(&state, client, caller.0, code).await?;
    Ok(HttpResponse::NoContent().finish())
}
