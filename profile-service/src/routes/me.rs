//! `GET /me` and `PATCH /me`: the caller's own profile (see
//! [`crate::services::profiles`]).

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, web};
use service_kit::db::PgPool;
use service_kit::error::InfraError;
use service_kit::extract::JsonBody;
use shared::api::{ErrorBody, ProfilePatch, ProfileResponse};
use shared::responses::{NotJson, PayloadTooLarge, RequestTimeout, Unavailable};

use crate::bearer::Authenticated;
use crate::cache::ProfileCache;
use crate::domain::parse_patch;
use crate::error::ProfileError;
use crate::services::profiles;
use crate::store::profiles::Profile;

/// What the token presented says of the account beside the profile.
#[derive(Clone, Copy)]
struct Claimed {
    email_verified: bool,
    mfa: bool,
}

/// The profile as of the token presented (`email_verified` and `mfa` are
/// its claims).
fn response(profile: &Profile, claimed: Claimed) -> ProfileResponse {
    ProfileResponse {
        id: profile.user_id,
        email: profile.email.clone(),
        email_verified: claimed.email_verified,
        mfa: claimed.mfa,
        display_name: profile.display_name.clone(),
        bio: profile.bio.clone(),
        created_at: profile.created_at,
        updated_at: profile.updated_at,
    }
}

/// The caller's profile.
#[utoipa::path(
    get,
    path = "/me",
    tag = "profile",
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "The caller's profile.", body = ProfileResponse),
        (status = 400, description = "More than one `Authorization` header (`invalid_request`), with `WWW-Authenticate: Bearer error=\"invalid_request\"`.", body = ErrorBody, example = json!({"error": "invalid_request", "detail": "Send one Authorization header, not several."})),
        (status = 401, description = "Missing, malformed, expired or wrongly signed access token, or a refresh token sent instead (`invalid_token`, and the detail says so), with `WWW-Authenticate: Bearer`.", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer`, or `Bearer error=\"invalid_token\"` when a token was sent.")), example = json!({"error": "invalid_token", "detail": "The access token is invalid or expired."})),
        (status = 503, response = Unavailable),
    )
)]
pub async fn get_me(
    pool: web::Data<PgPool>,
    cache: web::Data<ProfileCache>,
    user: Authenticated,
) -> Result<HttpResponse, ProfileError> {
    let claimed = Claimed {
        email_verified: user.0.email_verified,
        mfa: user.0.mfa,
    };
    let profile = profiles::get(&pool, &cache, user.0).await?;
    let body = profile.body(claimed.email_verified, claimed.mfa, |profile| {
        serde_json::to_vec(&response(profile, claimed))
    });
    match body {
        Ok(body) => Ok(HttpResponse::Ok()
            .content_type(ContentType::json())
            .body(body)),
        Err(error) => Err(InfraError::internal(format!("serialising a profile: {error}")).into()),
    }
}

/// Changes `display_name` and/or `bio`; a field left out stays, `null`
/// clears it.
#[utoipa::path(
    patch,
    path = "/me",
    tag = "profile",
    security(("oauth2" = [])),
    request_body = ProfilePatch,
    responses(
        (status = 200, description = "The updated profile.", body = ProfileResponse),
        (status = 400, description = "Malformed JSON, a wrong type, an unknown field or more than one `Authorization` header (`invalid_request`).", body = ErrorBody, example = json!({"error": "invalid_request", "detail": "The JSON body does not have the expected shape: unknown field `email`, expected `display_name` or `bio` at line 1 column 8."})),
        (status = 401, description = "Missing or invalid access token (`invalid_token`).", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer`, or `Bearer error=\"invalid_token\"` when a token was sent.")), example = json!({"error": "invalid_token", "detail": "The access token is invalid or expired."})),
        (status = 408, response = RequestTimeout),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "A field too long or holding a NUL character (`validation_error`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    )
)]
pub async fn patch_me(
    pool: web::Data<PgPool>,
    cache: web::Data<ProfileCache>,
    user: Authenticated,
    body: JsonBody<ProfilePatch>,
) -> Result<HttpResponse, ProfileError> {
    let changes = parse_patch(body.0)?;
    let claimed = Claimed {
        email_verified: user.0.email_verified,
        mfa: user.0.mfa,
    };
    let profile = profiles::change(&pool, &cache, user.0, changes).await?;
    Ok(HttpResponse::Ok().json(response(&profile, claimed)))
}
