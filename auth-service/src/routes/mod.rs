//! One module per resource. Handlers parse the input into domain types,
//! hand the work to [`crate::services`], and shape the response.

pub mod account;
pub mod login;
pub mod mfa;
pub mod password;
pub mod recovery;
pub mod sessions;
pub mod signup;
pub mod verify;
pub mod well_known;

use actix_web::HttpResponse;
use actix_web::http::header;
use shared::api::TokenResponse;

/// A token response, never to be cached (RFC 6749 §5.1).
fn token_response(tokens: TokenResponse) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(tokens)
}
