//! `DELETE /account`: a signed-in user deletes their account.

use actix_web::{HttpResponse, web};
use service_kit::extract::JsonBody;
use shared::api::{DeleteAccountRequest, ErrorBody};
use shared::responses::{NotJson, PayloadTooLarge, RateLimited, RequestTimeout, Unavailable};

use crate::bearer::Authenticated;
use crate::client_ip::ClientNetwork;
use crate::error::AuthError;
use crate::services::account_deletion;
use crate::state::AppState;

/// Deletes the caller's account, given its password: the user, their
/// sessions and tokens go at once; the profile service deletes the
/// profile and refuses the user's access tokens within seconds. The email
/// is then free for a new, unrelated account. A wrong password counts as
/// a failed login.
#[utoipa::path(
    delete,
    path = "/account",
    tag = "accounts",
    security(("oauth2" = [])),
    request_body = DeleteAccountRequest,
    responses(
        (status = 204, description = "The account is deleted."),
        (status = 400, description = "A wrong password (`invalid_grant`), malformed JSON or more than one `Authorization` header (`invalid_request`).", body = ErrorBody, example = json!({"error": "invalid_grant", "detail": "The current password is wrong."})),
        (status = 401, description = "Missing, invalid or revoked access token (`invalid_token`).", body = ErrorBody),
        (status = 408, response = RequestTimeout),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 429, response = RateLimited),
        (status = 503, response = Unavailable),
    )
)]
pub async fn delete(
    caller: Authenticated,
    client: ClientNetwork,
    state: web::Data<AppState>,
    body: JsonBody<DeleteAccountRequest>,
) -> Result<HttpResponse, AuthError> {
    account_deletion::delete(&state, client, caller.0, body.0.password).await?;
    Ok(HttpResponse::NoContent().finish())
}
