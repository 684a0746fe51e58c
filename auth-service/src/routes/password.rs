//! `POST /password`: a signed-in user changes their password.

use actix_web::{HttpResponse, web};
use service_kit::extract::JsonBody;
use shared::api::{ErrorBody, FieldErrors, PasswordChangeRequest};
use shared::responses::{NotJson, PayloadTooLarge, RateLimited, RequestTimeout, Unavailable};

use crate::bearer::Authenticated;
use crate::client_ip::ClientNetwork;
use crate::domain::Password;
use crate::error::AuthError;
use crate::services::password_change;
use crate::state::AppState;

/// Changes the caller's password, given the current one. Every *other*
/// session of the account is revoked (the caller's stays), and a notice is
/// mailed. A wrong current password counts as a failed login.
#[utoipa::path(
    post,
    path = "/password",
    tag = "accounts",
    security(("oauth2" = [])),
    request_body = PasswordChangeRequest,
    responses(
        (status = 204, description = "Changed; every other session is revoked."),
        (status = 400, description = "A wrong current password (`invalid_grant`), malformed JSON or more than one `Authorization` header (`invalid_request`).", body = ErrorBody, example = json!({"error": "invalid_grant", "detail": "The current password is wrong."})),
        (status = 401, description = "Missing, invalid or revoked access token (`invalid_token`).", body = ErrorBody),
        (status = 408, response = RequestTimeout),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "The new password breaks the signup rules (`validation_error`).", body = ErrorBody),
        (status = 429, response = RateLimited),
        (status = 503, response = Unavailable),
    )
)]
pub async fn change(
    caller: Authenticated,
    client: ClientNetwork,
    state: web::Data<AppState>,
    body: JsonBody<PasswordChangeRequest>,
) -> Result<HttpResponse, AuthError> {
    let PasswordChangeRequest {
        current_password,
        new_password,
    } = body.0;
    let new_password = Password::parse(new_password)
        .map_err(|problem| FieldErrors::one("new_password", problem))?;
    password_change::change(&state, client, caller.0, current_password, new_password).await?;
    Ok(HttpResponse::NoContent().finish())
}
