//! What both OpenAPI documents share: the OAuth 2.0 password flow that
//! Swagger UI's Authorize button uses to log in.

use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{Flow, OAuth2, Password, Scopes, SecurityScheme};

/// The name of the security scheme in both documents.
pub const SECURITY_SCHEME: &str = "oauth2";

/// `doc` with an OAuth 2.0 password-flow scheme whose token endpoint is
/// `token_url` (absolute, or relative to the document).
pub fn with_password_flow(mut doc: OpenApi, token_url: &str) -> OpenApi {
    let flow = Flow::Password(Password::new(token_url, Scopes::new()));
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme(SECURITY_SCHEME, SecurityScheme::OAuth2(OAuth2::new([flow])));
    doc
}
