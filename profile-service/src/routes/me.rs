//! `GET /me` and `PATCH /me`: the caller's own profile, created on first
//! use from the access token's claims.

use actix_web::{HttpResponse, web};
use chrono::DateTime;
use shared::api::{ErrorBody, ProfilePatch, ProfileResponse};
use shared::claims::AccessClaims;
use shared::db::{PgPool, blocking};
use shared::http::JsonBody;

use crate::bearer::Authenticated;
use crate::domain::parse_patch;
use crate::error::ProfileError;
use crate::store::profiles::{self, Profile};

/// Makes sure the profile exists and mirrors the token's email.
fn touch(conn: &mut diesel::PgConnection, claims: &AccessClaims) -> diesel::QueryResult<()> {
    let issued_at = DateTime::from_timestamp(claims.iat, 0).unwrap_or_default();
    profiles::touch(conn, claims.sub, &claims.email, issued_at)
}

/// The caller's profile.
#[utoipa::path(
    get,
    path = "/me",
    tag = "profile",
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "The caller's profile.", body = ProfileResponse),
        (status = 401, description = "Missing, malformed, expired or wrongly signed access token (`invalid_token`), with `WWW-Authenticate: Bearer`.", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer`, or `Bearer error=\"invalid_token\"` when a token was sent.")), example = json!({"error": "invalid_token", "detail": "The access token is invalid or expired."})),
        (status = 503, description = "The database is unreachable (`unavailable`).", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again.")), example = json!({"error": "unavailable", "detail": "The service cannot reach its database; try again shortly."})),
    )
)]
pub async fn get_me(
    pool: web::Data<PgPool>,
    user: Authenticated,
) -> Result<HttpResponse, ProfileError> {
    let claims = user.0;
    let profile: Profile = blocking(&pool, move |conn| {
        touch(conn, &claims)?;
        Ok::<_, ProfileError>(profiles::find(conn, claims.sub)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ProfileResponse::from(profile)))
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
        (status = 400, description = "Malformed JSON, a wrong type or an unknown field (`invalid_request`).", body = ErrorBody, example = json!({"error": "invalid_request", "detail": "The JSON body does not have the expected shape: missing field `email`."})),
        (status = 401, description = "Missing or invalid access token (`invalid_token`).", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer`, or `Bearer error=\"invalid_token\"` when a token was sent.")), example = json!({"error": "invalid_token", "detail": "The access token is invalid or expired."})),
        (status = 413, description = "Body over 64 KiB (`payload_too_large`).", body = ErrorBody, example = json!({"error": "payload_too_large", "detail": "The request body is larger than 64 KiB."})),
        (status = 415, description = "Not `application/json` (`unsupported_media_type`).", body = ErrorBody, example = json!({"error": "unsupported_media_type", "detail": "The request body must be sent with Content-Type: application/json."})),
        (status = 422, description = "A field too long or holding a NUL character (`validation_error`).", body = ErrorBody),
        (status = 503, description = "The database is unreachable (`unavailable`).", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again.")), example = json!({"error": "unavailable", "detail": "The service cannot reach its database; try again shortly."})),
    )
)]
pub async fn patch_me(
    pool: web::Data<PgPool>,
    user: Authenticated,
    body: JsonBody<ProfilePatch>,
) -> Result<HttpResponse, ProfileError> {
    let claims = user.0;
    let changes = parse_patch(body.0)?;
    let profile: Profile = blocking(&pool, move |conn| {
        use diesel::Connection;
        Ok::<_, ProfileError>(conn.transaction(|conn| {
            touch(conn, &claims)?;
            profiles::update(conn, claims.sub, &changes)
        })?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ProfileResponse::from(profile)))
}
