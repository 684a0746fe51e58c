//! The OpenAPI document, generated from the handlers' annotations and the
//! shared API types, with the OAuth 2.0 password flow pointing at the auth
//! service so Swagger UI's Authorize button logs in there.

use shared::api::{ErrorBody, ErrorCode, HealthResponse, ProfilePatch, ProfileResponse};
use shared::responses::{NotJson, PayloadTooLarge, RequestTimeout, Unavailable};
use utoipa::OpenApi;

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "profile-service",
        description = "The caller's profile. Access tokens from the auth service are verified locally; use Authorize to log in against the auth service's token endpoint. Errors are `{\"error\", \"detail\"}` JSON."
    ),
    paths(routes::me::get_me, routes::me::patch_me, service_kit::health::healthz, service_kit::health::readyz),
    components(
        schemas(ProfileResponse, ProfilePatch, HealthResponse, ErrorBody, ErrorCode),
        responses(RequestTimeout, PayloadTooLarge, NotJson, Unavailable)
    ),
    tags(
        (name = "profile", description = "The caller's own profile."),
        (name = "health", description = "Liveness and readiness."),
    )
)]
struct ApiDoc;

/// The profile service's OpenAPI 3.1 document; `token_url` is
/// `AUTH_TOKEN_URL`.
pub fn document(token_url: &str) -> utoipa::openapi::OpenApi {
    service_kit::docs::with_doc_routes(service_kit::docs::with_password_flow(
        ApiDoc::openapi(),
        token_url,
    ))
}
