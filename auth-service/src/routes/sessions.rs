//! `POST /refresh` and `POST /logout`: a session's life after login.

use actix_web::{HttpResponse, web};
use service_kit::extract::{JsonBody, OneAuthorization};
use shared::api::{ErrorBody, RefreshRequest};
use shared::responses::{
    NotJson, PayloadTooLarge, RateLimited, RequestTimeout, TokenIssued, Unavailable,
};

use crate::client_ip::ClientNetwork;
use crate::error::AuthError;
use crate::services::sessions;
use crate::state::AppState;

/// Exchanges a refresh token for a new pair in the same session (the same
/// rotation as the refresh-token grant of `/login`).
#[utoipa::path(
    post,
    path = "/refresh",
    tag = "sessions",
    request_body = RefreshRequest,
    responses(
        (status = 200, response = TokenIssued),
        (status = 400, description = "`invalid_request` (malformed JSON, more than one `Authorization` header) or `invalid_grant` (invalid, expired, retired or revoked refresh token).", body = ErrorBody, example = json!({"error": "invalid_grant", "detail": "The refresh token is invalid, expired or revoked.", "error_description": "The refresh token is invalid, expired or revoked."})),
        (status = 408, response = RequestTimeout),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 429, response = RateLimited),
        (status = 503, response = Unavailable),
    )
)]
pub async fn refresh(
    _: OneAuthorization,
    client: ClientNetwork,
    state: web::Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, AuthError> {
    let tokens = sessions::refresh(&state, client, body.0.refresh_token).await?;
    Ok(super::token_response(tokens))
}

/// Ends the session the refresh token belongs to: its refresh tokens stop
/// working. An unknown or already revoked token gets 204 too.
#[utoipa::path(
    post,
    path = "/logout",
    tag = "sessions",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "The session is over (or never existed)."),
        (status = 400, description = "Malformed JSON, a missing field or more than one `Authorization` header (`invalid_request`).", body = ErrorBody, example = json!({"error": "invalid_request", "detail": "The field refresh_token is required.", "fields": {"refresh_token": "is required"}})),
        (status = 408, response = RequestTimeout),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    )
)]
pub async fn logout(
    _: OneAuthorization,
    state: web::Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, AuthError> {
    sessions::log_out(&state, body.0.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}
