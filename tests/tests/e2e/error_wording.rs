//! Errors that name the right thing: a token of the other kind says which
//! it is, a route of the other service says where it is, and a missing
//! field is named in `fields` (still 400: a wrong shape, not a bad value).

use std::collections::BTreeMap;

use reqwest::Method;
use shared::api::{ErrorCode, TokenResponse};

use crate::support::client::send;
use crate::support::stack::TestStack;

#[tokio::test]
async fn a_token_of_the_other_kind_is_named_as_such() {
    let stack = TestStack::start().await;
    let (_, tokens) = stack.new_session().await;
    let at_me = stack.me(&tokens.refresh_token).await;
    let body = at_me.expect_error(401, ErrorCode::InvalidToken);
    assert_eq!(
        body.detail,
        "This is a refresh token; send an access token (the access_token of the token response)."
    );
    assert_eq!(
        at_me.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    // The auth service's own Bearer routes say the same.
    let password = send(
        stack
            .client
            .post(stack.auth_url("/password"))
            .bearer_auth(&tokens.refresh_token)
            .json(&serde_json::json!({"current_password": "x", "new_password": "y"})),
    )
    .await;
    let body = password.expect_error(401, ErrorCode::InvalidToken);
    assert!(
        body.detail.starts_with("This is a refresh token;"),
        "{}",
        body.detail
    );
    let sent_access = "This is an access token; send the refresh token (the refresh_token of the token response).";
    for reply in [
        stack.refresh(&tokens.access_token).await,
        stack.refresh_grant(&tokens.access_token).await,
    ] {
        let body = reply.expect_error(400, ErrorCode::InvalidGrant);
        assert_eq!(body.detail, sent_access);
        assert_eq!(body.error_description.as_deref(), Some(sent_access));
    }
    // Anything else keeps the one body that tells nothing.
    let garbage = stack.me("not.a.token").await;
    let body = garbage.expect_error(401, ErrorCode::InvalidToken);
    assert_eq!(body.detail, "The access token is invalid or expired.");
    let body = stack
        .refresh("not.a.token")
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    assert_eq!(
        body.detail,
        "The refresh token is invalid, expired or revoked."
    );
    // And the right tokens still work.
    stack
        .refresh(&tokens.refresh_token)
        .await
        .expect::<TokenResponse>(200);
}

#[tokio::test]
async fn a_route_of_the_other_service_is_pointed_to() {
    let stack = TestStack::start().await;
    let cases = [
        (
            Method::GET,
            stack.auth_url("/me"),
            "There is no such route here: /me is a route of profile-service (port 8002 by default), not of auth-service.",
        ),
        (
            Method::POST,
            stack.profile_url("/login"),
            "There is no such route here: /login is a route of auth-service (port 8001 by default), not of profile-service.",
        ),
        (
            Method::GET,
            stack.auth_url("/nowhere"),
            "There is no such route.",
        ),
        (
            Method::GET,
            stack.profile_url("/me/"),
            "There is no such route.",
        ),
    ];
    for (method, url, detail) in cases {
        let reply = send(stack.client.request(method.clone(), &url)).await;
        let body = reply.expect_error(404, ErrorCode::NotFound);
        assert_eq!(body.detail, detail, "{method} {url}");
    }
    // The lists the 404 points with are each service's own routes.
    for (base, routes) in [
        (&stack.auth.base_url, shared::api::AUTH_ROUTES),
        (&stack.profile.base_url, shared::api::PROFILE_ROUTES),
    ] {
        let doc: serde_json::Value = send(stack.client.get(format!("{base}/openapi.json")))
            .await
            .expect(200);
        for route in routes {
            assert!(doc["paths"][route].is_object(), "{route} is not in {base}");
        }
    }
}

#[tokio::test]
async fn a_missing_field_is_400_with_the_field_named() {
    let stack = TestStack::start().await;
    const JSON: &str = "application/json";
    const FORM: &str = "application/x-www-form-urlencoded";
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "/signup",
            JSON,
            r#"{"email": "ada@example.com"}"#,
            &["password"],
        ),
        (
            "/signup",
            JSON,
            r#"{"password": "correct horse"}"#,
            &["email"],
        ),
        ("/refresh", JSON, "{}", &["refresh_token"]),
        ("/logout", JSON, "{}", &["refresh_token"]),
        ("/login", FORM, "username=ada@example.com", &["password"]),
        ("/login", FORM, "password=correct+horse", &["username"]),
        ("/login", FORM, "", &["password", "username"]),
        (
            "/login",
            FORM,
            "grant_type=refresh_token",
            &["refresh_token"],
        ),
    ];
    for (path, content_type, body, missing) in cases {
        let reply = send(stack.raw(
            Method::POST,
            stack.auth_url(path),
            Some(content_type),
            body.to_string(),
        ))
        .await;
        let error = reply.expect_error(400, ErrorCode::InvalidRequest);
        let expected: BTreeMap<String, String> = missing
            .iter()
            .map(|name| (name.to_string(), "is required".to_owned()))
            .collect();
        assert_eq!(error.fields, Some(expected), "{path} {body}");
        assert!(!error.detail.contains("line 1"), "{}", error.detail);
    }
}
