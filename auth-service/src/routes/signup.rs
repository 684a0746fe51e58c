//! `POST /signup`: creates an account.

use actix_web::{HttpResponse, web};
use service_kit::extract::{JsonBody, OneAuthorization};
use shared::api::{ErrorBody, FieldErrors, SignupRequest, UserResponse};
use shared::responses::{NotJson, PayloadTooLarge, RateLimited, RequestTimeout, Unavailable};

use crate::client_ip::ClientNetwork;
use crate::domain::{Email, Password};
use crate::error::AuthError;
use crate::services::accounts;
use crate::state::AppState;

/// Creates an account. The email is trimmed and lower-cased; a taken email
/// (in any case) is 409, caught by the database's unique constraint.
#[utoipa::path(
    post,
    path = "/signup",
    tag = "accounts",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "Account created.", body = UserResponse),
        (status = 400, description = "Malformed JSON, a missing field or more than one `Authorization` header (`invalid_request`).", body = ErrorBody, example = json!({"error": "invalid_request", "detail": "The field email is required.", "fields": {"email": "is required"}})),
        (status = 409, description = "The email is taken (`email_taken`).", body = ErrorBody, example = json!({"error": "email_taken", "detail": "An account with this email already exists."})),
        (status = 408, response = RequestTimeout),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "Invalid email or password (`validation_error`).", body = ErrorBody),
        (status = 429, response = RateLimited),
        (status = 503, response = Unavailable),
    )
)]
pub async fn signup(
    _: OneAuthorization,
    client: ClientNetwork,
    state: web::Data<AppState>,
    body: JsonBody<SignupRequest>,
) -> Result<HttpResponse, AuthError> {
    let (email, password) = parse(body.0)?;
    let user = accounts::sign_up(&state, client, email, password).await?;
    Ok(HttpResponse::Created().json(UserResponse {
        id: user.id,
        email: user.email,
        created_at: user.created_at,
    }))
}

fn parse(request: SignupRequest) -> Result<(Email, Password), FieldErrors> {
    let mut fields = FieldErrors::default();
    let email = Email::parse(&request.email).map_err(|problem| fields.add("email", problem));
    let password =
        Password::parse(request.password).map_err(|problem| fields.add("password", problem));
    match (email, password) {
        (Ok(email), Ok(password)) => Ok((email, password)),
        _ => Err(fields),
    }
}
