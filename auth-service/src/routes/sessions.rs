//! `POST /refresh` and `POST /logout`: a session's life after login.

use actix_web::{HttpResponse, web};
use shared::api::{ErrorBody, RefreshRequest, TokenResponse};
use shared::http::JsonBody;

use crate::error::{AuthError, TokenEndpointError};
use crate::grants;
use crate::rate_limit::ClientIp;
use crate::state::AppState;

/// Exchanges a refresh token for a new pair in the same session (the same
/// rotation as the refresh-token grant of `/login`).
#[utoipa::path(
    post,
    path = "/refresh",
    tag = "sessions",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair; the presented refresh token is retired.", body = TokenResponse, headers(("Cache-Control" = String, description = "`no-store`"), ("Pragma" = String, description = "`no-cache`"))),
        (status = 400, description = "`invalid_request` (malformed JSON) or `invalid_grant` (invalid, expired, retired or revoked refresh token).", body = ErrorBody, example = json!({"error": "invalid_grant", "detail": "The refresh token is invalid, expired or revoked.", "error_description": "The refresh token is invalid, expired or revoked."})),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`).", body = ErrorBody, example = json!({"error": "payload_too_large", "detail": "The request body is larger than 64 KiB.", "error_description": "The request body is larger than 64 KiB."})),
        (status = 415, description = "Not `application/json` (`unsupported_media_type`).", body = ErrorBody, example = json!({"error": "unsupported_media_type", "detail": "The request body must be sent with Content-Type: application/json.", "error_description": "The request body must be sent with Content-Type: application/json."})),
        (status = 429, description = "Too many requests from this client (`rate_limited`).", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again.")), example = json!({"error": "rate_limited", "detail": "Too many attempts; try again after the time in Retry-After.", "error_description": "Too many attempts; try again after the time in Retry-After."})),
        (status = 503, description = "The database is unreachable or the session is busy (`unavailable`).", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again.")), example = json!({"error": "unavailable", "detail": "The service cannot reach its database; try again shortly.", "error_description": "The service cannot reach its database; try again shortly."})),
    )
)]
pub async fn refresh(
    state: web::Data<AppState>,
    client: ClientIp,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, TokenEndpointError> {
    state.rate_limit.check(client)?;
    let token = body.0.refresh_token;
    let tokens = grants::refresh(&state, token).await?;
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
        (status = 400, description = "Malformed JSON or a missing field (`invalid_request`).", body = ErrorBody, example = json!({"error": "invalid_request", "detail": "The JSON body does not have the expected shape: missing field `email`."})),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`).", body = ErrorBody, example = json!({"error": "payload_too_large", "detail": "The request body is larger than 64 KiB."})),
        (status = 415, description = "Not `application/json` (`unsupported_media_type`).", body = ErrorBody, example = json!({"error": "unsupported_media_type", "detail": "The request body must be sent with Content-Type: application/json."})),
        (status = 503, description = "The database is unreachable (`unavailable`).", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again.")), example = json!({"error": "unavailable", "detail": "The service cannot reach its database; try again shortly."})),
    )
)]
pub async fn logout(
    state: web::Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, AuthError> {
    let token = body.0.refresh_token;
    grants::logout(&state, token).await?;
    Ok(HttpResponse::NoContent().finish())
}
