//! What both OpenAPI documents share: the OAuth 2.0 password flow that
//! Swagger UI's Authorize button uses to log in, and the two routes that
//! serve the documentation itself.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::security::{Flow, OAuth2, Password, Scopes, SecurityScheme};
use utoipa::openapi::{OpenApi, ResponseBuilder};

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

/// `doc` with `GET /openapi.json` and `GET /docs/`, which utoipa-swagger-ui
/// serves rather than a handler of ours, so the document lists every route.
pub fn with_doc_routes(mut doc: OpenApi) -> OpenApi {
    let route = |id: &str, summary: &str, content_type: &str, description: &str| {
        OperationBuilder::new()
            .operation_id(Some(id))
            .tag("docs")
            .summary(Some(summary))
            .response(
                "200",
                ResponseBuilder::new()
                    .description(description)
                    .content(content_type, ContentBuilder::new().build())
                    .build(),
            )
            .build()
    };
    doc.paths.add_path_operation(
        "/openapi.json",
        vec![HttpMethod::Get],
        route(
            "openapi",
            "This OpenAPI 3.1 document",
            "application/json",
            "The document.",
        ),
    );
    doc.paths.add_path_operation(
        "/docs/",
        vec![HttpMethod::Get],
        route(
            "docs",
            "Swagger UI, served from the binary",
            "text/html",
            "The Swagger UI page.",
        ),
    );
    doc
}
