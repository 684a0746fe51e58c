//! The OpenAPI document, generated from the handlers' annotations and the
//! shared API types.

use shared::api::{
    Accepted, DeleteAccountRequest, EmailRequest, ErrorBody, ErrorCode, HealthResponse,
    LogoutRequest, LogoutScope, PasswordChangeRequest, PublicKey, PublicKeySet, RecoveryCodes,
    RefreshRequest, ResetRequest, ServerMetadata, SessionInfo, SignupRequest, TokenResponse,
    TotpCodeRequest, TotpEnrolment, UserResponse, VerifyRequest,
};
use shared::responses::{
    NotForm, NotJson, PayloadTooLarge, RateLimited, RequestTimeout, TokenIssued, Unavailable,
};
use utoipa::OpenApi;

use crate::routes;

/// The auth service's OpenAPI 3.1 document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "auth-service",
        description = "Accounts, passwords, sessions and JWT issuing. `POST /login` is an OAuth 2.0 token endpoint (password and refresh-token grants); errors are `{\"error\", \"detail\"}` JSON."
    ),
    paths(
        routes::signup::signup,
        routes::login::token,
        routes::sessions::refresh,
        routes::sessions::logout,
        routes::verify::verify,
        routes::verify::resend,
        routes::recovery::recover,
        routes::recovery::reset,
        routes::password::change,
        routes::sessions::list,
        routes::sessions::end,
        routes::account::delete,
        routes::well_known::jwks,
        routes::well_known::metadata,
        routes::mfa::enrol,
        routes::mfa::confirm,
        routes::mfa::disable,
        service_kit::health::healthz,
        service_kit::health::readyz,
    ),
    components(schemas(
        SignupRequest,
        UserResponse,
        TokenResponse,
        RefreshRequest,
        routes::login::TokenRequest,
        VerifyRequest,
        EmailRequest,
        ResetRequest,
        PasswordChangeRequest,
        LogoutRequest,
        LogoutScope,
        SessionInfo,
        DeleteAccountRequest,
        TotpEnrolment,
        TotpCodeRequest,
        RecoveryCodes,
        Accepted,
        PublicKeySet,
        PublicKey,
        ServerMetadata,
        HealthResponse,
        ErrorBody,
        ErrorCode,
    ), responses(TokenIssued, RequestTimeout, PayloadTooLarge, NotJson, NotForm, RateLimited, Unavailable)),
    tags(
        (name = "accounts", description = "Sign up, verify the address, recover and change the password, delete the account."),
        (name = "sessions", description = "Log in, refresh, log out, list and end sessions."),
        (name = "keys", description = "What third services and OAuth 2.0 clients read: the public signing keys and the RFC 8414 metadata."),
        (name = "mfa", description = "A second factor: TOTP with one-time recovery codes."),
        (name = "health", description = "Liveness and readiness."),
    )
)]
pub struct ApiDoc;

/// The auth service's OpenAPI 3.1 document. It declares the password flow
/// against its own `/login`, so its Swagger UI can log in too.
pub fn document() -> utoipa::openapi::OpenApi {
    service_kit::docs::with_doc_routes(service_kit::docs::with_password_flow(
        ApiDoc::openapi(),
        "/login",
    ))
}
