//! `POST /signup`: creates an account.

use actix_web::{HttpResponse, web};
use shared::api::{ErrorBody, FieldErrors, SignupRequest, UserResponse};
use shared::http::JsonBody;
use uuid::Uuid;

use crate::domain::{Email, Password};
use crate::error::AuthError;
use crate::rate_limit::ClientIp;
use crate::state::{AppState, blocking, hashing};
use crate::store::users::{self, NewUser};

/// Creates an account. The email is trimmed and lower-cased; a taken email
/// (in any case) is 409, caught by the database's unique constraint.
#[utoipa::path(
    post,
    path = "/signup",
    tag = "accounts",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "Account created.", body = UserResponse),
        (status = 400, description = "Malformed JSON or a missing field (`invalid_request`).", body = ErrorBody, example = json!({"error": "invalid_request", "detail": "The JSON body does not have the expected shape: missing field `email`."})),
        (status = 409, description = "The email is taken (`email_taken`).", body = ErrorBody, example = json!({"error": "email_taken", "detail": "An account with this email already exists."})),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`).", body = ErrorBody, example = json!({"error": "payload_too_large", "detail": "The request body is larger than 64 KiB."})),
        (status = 415, description = "Not `application/json` (`unsupported_media_type`).", body = ErrorBody, example = json!({"error": "unsupported_media_type", "detail": "The request body must be sent with Content-Type: application/json."})),
        (status = 422, description = "Invalid email or password (`validation_error`).", body = ErrorBody),
        (status = 429, description = "Too many requests from this client (`rate_limited`).", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again.")), example = json!({"error": "rate_limited", "detail": "Too many attempts; try again after the time in Retry-After."})),
        (status = 503, description = "The database is unreachable (`unavailable`).", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again.")), example = json!({"error": "unavailable", "detail": "The service cannot reach its database; try again shortly."})),
    )
)]
pub async fn signup(
    state: web::Data<AppState>,
    client: ClientIp,
    body: JsonBody<SignupRequest>,
) -> Result<HttpResponse, AuthError> {
    state.rate_limit.check(client)?;
    let (email, password) = parse(body.0)?;
    let hash = hashing(&state, move |passwords| Ok(passwords.hash(&password)?)).await?;
    let user = blocking(&state, move |conn, _| {
        let user = users::insert(
            conn,
            &NewUser {
                id: Uuid::new_v4(),
                email: email.as_str(),
                password_hash: &hash,
            },
        )?;
        Ok(user)
    })
    .await?;
    tracing::info!(user = %user.id, "account created");
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
