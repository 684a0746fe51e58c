//! `GET /.well-known/jwks.json` and `GET /.well-known/oauth-authorization-server`:
//! the documents a third service or an OAuth 2.0 client reads to verify
//! our access tokens and find the token endpoint. Both are built once at
//! start-up ([`crate::discovery`]) and may be cached.

use actix_web::http::{Method, header};
use actix_web::{HttpResponse, web};
use service_kit::startup::resource;
use shared::api::{PublicKeySet, ServerMetadata};

use crate::discovery::Discovery;

const GET: &[Method] = &[Method::GET, Method::HEAD];

/// How long a client or proxy may keep either document: a new key is
/// added as verify-only at least this long before it signs.
const CACHE_CONTROL: &str = "public, max-age=300";

/// Registers both routes with their documents.
pub fn routes(discovery: web::Data<Discovery>) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |app: &mut web::ServiceConfig| {
        app.service(
            resource("/.well-known/jwks.json", GET)
                .app_data(discovery.clone())
                .route(web::get().to(jwks))
                .route(web::head().to(jwks)),
        )
        .service(
            resource("/.well-known/oauth-authorization-server", GET)
                .app_data(discovery.clone())
                .route(web::get().to(metadata))
                .route(web::head().to(metadata)),
        );
    }
}

/// The public keys that verify access tokens: the public halves of the
/// ES256 and EdDSA keys of `JWT_KEYS`, verify-only ones included; never an
/// `oct` key or a private part. With only `oct` keys, `{"keys": []}`.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "keys",
    responses(
        (status = 200, description = "The JWK Set (RFC 7517) of public signing keys, with `Cache-Control: public, max-age=300`.", body = PublicKeySet,
            headers(("Cache-Control" = String, description = "`public, max-age=300`"))),
    )
)]
pub async fn jwks(discovery: web::Data<Discovery>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .content_type("application/json")
        .body(discovery.jwks.clone())
}

/// The authorization server metadata (RFC 8414): issuer, token endpoint,
/// JWK Set URL, grants and client authentication; endpoints are absolute
/// URLs under `AUTH_PUBLIC_URL`.
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "keys",
    responses(
        (status = 200, description = "RFC 8414 metadata, with `Cache-Control: public, max-age=300`.", body = ServerMetadata,
            headers(("Cache-Control" = String, description = "`public, max-age=300`"))),
    )
)]
pub async fn metadata(discovery: web::Data<Discovery>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .json(&discovery.metadata)
}
