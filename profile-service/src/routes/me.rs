//! `GET /me` and `PATCH /me`: the caller's own profile, created on first
//! use from the access token's claims.
//!
//! `GET /me` answers from the replica's cache when it holds the profile as
//! of this token, else with one `SELECT` (plus a write for a new user or a
//! newer token), retried once if its connection turns out dead.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use service_kit::db::{PgPool, blocking, blocking_idempotent};
use service_kit::extract::JsonBody;
use shared::api::{ErrorBody, ProfilePatch, ProfileResponse};
use shared::claims::AccessClaims;
use shared::responses::{NotJson, PayloadTooLarge, RequestTimeout, Unavailable};

use crate::bearer::Authenticated;
use crate::cache::ProfileCache;
use crate::domain::parse_patch;
use crate::error::ProfileError;
use crate::store::profiles::{self, Profile};

fn issued_at(claims: &AccessClaims) -> DateTime<Utc> {
    DateTime::from_timestamp(claims.iat, 0).unwrap_or_default()
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
        (status = 401, description = "Missing, malformed, expired or wrongly signed access token (`invalid_token`), with `WWW-Authenticate: Bearer`.", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer`, or `Bearer error=\"invalid_token\"` when a token was sent.")), example = json!({"error": "invalid_token", "detail": "The access token is invalid or expired."})),
        (status = 503, response = Unavailable),
    )
)]
pub async fn get_me(
    pool: web::Data<PgPool>,
    cache: web::Data<ProfileCache>,
    user: Authenticated,
) -> Result<HttpResponse, ProfileError> {
    let claims = user.0;
    let issued_at = issued_at(&claims);
    if let Some(profile) = cache.get(claims.sub, issued_at) {
        return Ok(HttpResponse::Ok().json(ProfileResponse::from(&*profile)));
    }
    let ticket = cache.ticket(claims.sub);
    let profile: Profile = blocking_idempotent(&pool, move |conn| {
        Ok::<_, ProfileError>(profiles::for_token(
            conn,
            claims.sub,
            &claims.email,
            issued_at,
        )?)
    })
    .await?;
    let response = ProfileResponse::from(&profile);
    cache.insert(ticket, Arc::new(profile));
    Ok(HttpResponse::Ok().json(response))
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
        (status = 400, description = "Malformed JSON, a wrong type, an unknown field or more than one `Authorization` header (`invalid_request`).", body = ErrorBody, example = json!({"error": "invalid_request", "detail": "The JSON body does not have the expected shape: missing field `email`."})),
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
    let claims = user.0;
    let user = claims.sub;
    let changes = parse_patch(body.0)?;
    let profile: Profile = blocking(&pool, move |conn| {
        use diesel::Connection;
        Ok::<_, ProfileError>(conn.transaction(|conn| {
            profiles::for_token(conn, claims.sub, &claims.email, issued_at(&claims))?;
            profiles::update(conn, claims.sub, &changes)
        })?)
    })
    .await?;
    // The trigger told every replica; this one need not wait for the echo
    // to read its own write.
    cache.evict(user);
    Ok(HttpResponse::Ok().json(ProfileResponse::from(&profile)))
}
