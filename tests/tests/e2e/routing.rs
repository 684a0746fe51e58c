//! What any client meets first: health and readiness, routing errors in
//! JSON, the docs, and CORS.

use serde_json::Value;
use shared::api::{ErrorCode, HealthResponse};

use crate::support::client::{PASSWORD, new_email, send};
use crate::support::stack::TestStack;

#[tokio::test]
async fn health_and_readiness_are_200_on_both_services() {
    let stack = TestStack::start().await;
    for base in [&stack.auth.base_url, &stack.profile.base_url] {
        for path in ["/healthz", "/readyz"] {
            let health: HealthResponse = send(stack.client.get(format!("{base}{path}")))
                .await
                .expect(200);
            assert_eq!(health.status, "ok");
        }
        let head = send(stack.client.head(format!("{base}/healthz"))).await;
        assert_eq!(head.status.as_u16(), 200);
    }
}
#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_in_json() {
    let stack = TestStack::start().await;
    for base in [&stack.auth.base_url, &stack.profile.base_url] {
        send(stack.client.get(format!("{base}/nope")))
            .await
            .expect_error(404, ErrorCode::NotFound);
        for path in ["/docs/", "/openapi.json"] {
            let reply = send(stack.client.post(format!("{base}{path}"))).await;
            reply.expect_error(405, ErrorCode::MethodNotAllowed);
        }
        send(stack.client.delete(format!("{base}/healthz")))
            .await
            .expect_error(405, ErrorCode::MethodNotAllowed);
    }
    for path in ["/signup", "/login", "/refresh", "/logout"] {
        let reply = send(stack.client.get(stack.auth_url(path))).await;
        let body = reply.expect_error(405, ErrorCode::MethodNotAllowed);
        assert_eq!(reply.header("allow"), Some("POST"));
        // Only the token endpoints speak OAuth 2.0 error bodies.
        let token_endpoint = matches!(path, "/login" | "/refresh");
        assert_eq!(body.error_description.is_some(), token_endpoint, "{path}");
    }
    let put = send(stack.client.put(stack.profile_url("/me"))).await;
    put.expect_error(405, ErrorCode::MethodNotAllowed);
    assert_eq!(put.header("allow"), Some("GET, PATCH"));
}
#[tokio::test]
async fn docs_and_openapi_are_served_by_both_services() {
    let token_url = "https://auth.example.com/login";
    let stack = TestStack::builder()
        .profile_env("AUTH_TOKEN_URL", token_url)
        .start()
        .await;
    for base in [&stack.auth.base_url, &stack.profile.base_url] {
        let redirect = send(stack.client.get(format!("{base}/docs"))).await;
        assert!(redirect.status.is_redirection(), "{}", redirect.status);
        let page = send(stack.client.get(format!("{base}/docs/"))).await;
        assert_eq!(page.status.as_u16(), 200);
        assert!(page.body.contains("swagger-ui"), "not Swagger UI");
        // Behind a proxy's prefix the page and its document must still
        // meet: the redirect and the document's URL are relative.
        let behind = reqwest::Url::parse("http://proxy.example/auth/docs").unwrap();
        let location = redirect.header("location").unwrap_or_default();
        let page_url = behind.join(location).unwrap();
        assert_eq!(page_url.as_str(), "http://proxy.example/auth/docs/");
        let init = send(
            stack
                .client
                .get(format!("{base}/docs/swagger-initializer.js")),
        )
        .await;
        let document = init
            .body
            .split("\"url\": \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no url in {}", init.body));
        assert_eq!(
            page_url.join(document).unwrap().as_str(),
            "http://proxy.example/auth/openapi.json"
        );
        let doc: Value = send(stack.client.get(format!("{base}/openapi.json")))
            .await
            .expect(200);
        assert!(
            doc["openapi"]
                .as_str()
                .unwrap_or_default()
                .starts_with("3.1")
        );
        for path in ["/healthz", "/readyz", "/openapi.json", "/docs/"] {
            assert!(
                doc["paths"][path]["get"].is_object(),
                "{path} missing from {base}"
            );
        }
    }
    let auth: Value = send(stack.client.get(stack.auth_url("/openapi.json")))
        .await
        .json();
    for path in ["/signup", "/login", "/refresh", "/logout", "/readyz"] {
        assert!(
            auth["paths"][path]["post"].is_object() || auth["paths"][path]["get"].is_object(),
            "{path}"
        );
    }
    let profile: Value = send(stack.client.get(stack.profile_url("/openapi.json")))
        .await
        .json();
    let flow = &profile["components"]["securitySchemes"]["oauth2"]["flows"]["password"];
    assert_eq!(flow["tokenUrl"], token_url);
    assert!(profile["paths"]["/me"]["patch"].is_object());
}

#[tokio::test]
async fn cors_answers_allowed_origins_and_refuses_others_in_json() {
    let origin = "http://localhost:8002";
    let stack = TestStack::builder()
        .auth_env("CORS_ALLOWED_ORIGINS", origin)
        .start()
        .await;
    let preflight = |origin: &str| {
        send(
            stack
                .client
                .request(reqwest::Method::OPTIONS, stack.auth_url("/login"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                // What Swagger UI's Authorize sends.
                .header(
                    "access-control-request-headers",
                    "authorization,content-type,x-requested-with",
                ),
        )
    };
    let allowed = preflight(origin).await;
    assert_eq!(allowed.status.as_u16(), 200, "{}", allowed.body);
    assert_eq!(allowed.header("access-control-allow-origin"), Some(origin));
    let refused = preflight("http://evil.example").await;
    refused.expect_error(400, ErrorCode::InvalidRequest);
    assert_eq!(refused.header("access-control-allow-origin"), None);
    // The real request from the allowed origin carries the header too.
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let login = send(
        stack
            .client
            .post(stack.auth_url("/login"))
            .header("origin", origin)
            .form(&[("username", email.as_str()), ("password", PASSWORD)]),
    )
    .await;
    assert_eq!(login.status.as_u16(), 200);
    assert_eq!(login.header("access-control-allow-origin"), Some(origin));
}
