//! `POST /refresh`, `POST /logout`, `GET /sessions` and
//! `DELETE /sessions/{id}`: a session's life after login.

use actix_web::{HttpResponse, web};
use service_kit::extract::{JsonBody, OneAuthorization};
use shared::api::{
    ErrorBody, FieldErrors, LogoutRequest, LogoutScope, RefreshRequest, SessionInfo,
};
use shared::responses::{
    NotJson, PayloadTooLarge, RateLimited, RequestTimeout, TokenIssued, Unavailable,
};

use crate::bearer::Authenticated;
use crate::client_ip::{ClientNetwork, UserAgent};
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
    agent: UserAgent,
    state: web::Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, AuthError> {
    let tokens = sessions::refresh(&state, client, agent, body.0.refresh_token).await?;
    Ok(super::token_response(tokens))
}

/// Ends the session the refresh token belongs to (`scope` `local`, the
/// default), every other session of its user (`others`) or all of them
/// (`global`). Their refresh tokens stop working, and the profile service
/// refuses their access tokens within seconds. An unknown, already
/// revoked or invalid token gets 204 and changes nothing.
#[utoipa::path(
    post,
    path = "/logout",
    tag = "sessions",
    request_body = LogoutRequest,
    responses(
        (status = 204, description = "The sessions are over (or never existed)."),
        (status = 400, description = "Malformed JSON, a missing field or more than one `Authorization` header (`invalid_request`).", body = ErrorBody, example = json!({"error": "invalid_request", "detail": "The field refresh_token is required.", "fields": {"refresh_token": "is required"}})),
        (status = 408, response = RequestTimeout),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "A `scope` other than `local`, `others`, `global` (`validation_error`).", body = ErrorBody, example = json!({"error": "validation_error", "detail": "The request has invalid fields.", "fields": {"scope": "must be one of local, others, global"}})),
        (status = 503, response = Unavailable),
    )
)]
pub async fn logout(
    _: OneAuthorization,
    state: web::Data<AppState>,
    body: JsonBody<LogoutRequest>,
) -> Result<HttpResponse, AuthError> {
    let LogoutRequest {
        refresh_token,
        scope,
    } = body.0;
    let scope = LogoutScope::parse(scope.as_deref())
        .map_err(|problem| FieldErrors::one("scope", problem))?;
    sessions::log_out(&state, refresh_token, scope).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's live sessions, newest first; `current` marks the one of
/// the token presented.
#[utoipa::path(
    get,
    path = "/sessions",
    tag = "sessions",
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "Live sessions, newest first.", body = [SessionInfo]),
        (status = 401, description = "Missing, invalid or revoked access token (`invalid_token`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    )
)]
pub async fn list(
    caller: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AuthError> {
    let listed = sessions::list(&state, caller.0).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(listed))
}

/// Ends one of the caller's sessions (the current one too): its refresh
/// tokens stop working, and the profile service refuses its access tokens
/// within seconds.
#[utoipa::path(
    delete,
    path = "/sessions/{id}",
    tag = "sessions",
    security(("oauth2" = [])),
    params(("id" = String, Path, description = "The session's id (the `sid` of its tokens).")),
    responses(
        (status = 204, description = "The session is over."),
        (status = 401, description = "Missing, invalid or revoked access token (`invalid_token`).", body = ErrorBody),
        (status = 404, description = "No live session of the caller's has this id (`not_found`).", body = ErrorBody, example = json!({"error": "not_found", "detail": "No live session of yours has this id."})),
        (status = 503, response = Unavailable),
    )
)]
pub async fn end(
    caller: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AuthError> {
    // Not a UUID: no session has that id (a 404 like any unknown id).
    let id =
        uuid::Uuid::parse_str(&id).map_err(|_| AuthError::NotFound(sessions::NO_SUCH_SESSION))?;
    sessions::end(&state, caller.0, id).await?;
    Ok(HttpResponse::NoContent().finish())
}
