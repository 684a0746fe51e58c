//! Refresh tokens refused: the wrong kind of token, an expired or forged
//! one, and malformed refresh requests, each with the OAuth 2.0 error.

use jsonwebtoken::Algorithm;
use serde_json::json;
use shared::api::{ErrorCode, TokenResponse};

use crate::support::client::send;
use crate::support::jwt::{claims_of, now, sign, with};
use crate::support::stack::TestStack;

#[tokio::test]
async fn tokens_are_only_accepted_where_they_are_due() {
    let stack = TestStack::start().await;
    let (_, tokens) = stack.new_session().await;
    stack
        .me(&tokens.refresh_token)
        .await
        .expect_error(401, ErrorCode::InvalidToken);
    stack
        .refresh(&tokens.access_token)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    stack
        .refresh_grant(&tokens.access_token)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    // Neither attempt used up the refresh token.
    stack
        .refresh(&tokens.refresh_token)
        .await
        .expect::<TokenResponse>(200);
}

#[tokio::test]
async fn an_expired_or_forged_refresh_token_is_invalid_grant() {
    let stack = TestStack::start().await;
    let (_, tokens) = stack.new_session().await;
    let claims = claims_of(&tokens.refresh_token, &stack.refresh_secret);
    let expired = with(
        with(claims.clone(), "exp", json!(now() - 120)),
        "iat",
        json!(now() - 3600),
    );
    let cases = [
        sign(Algorithm::HS256, &stack.refresh_secret, &expired),
        // Right secret, unknown jti: never issued.
        sign(
            Algorithm::HS256,
            &stack.refresh_secret,
            &with(claims.clone(), "jti", json!(uuid::Uuid::new_v4())),
        ),
        sign(Algorithm::HS256, &stack.access_secret, &claims),
        "garbage".to_owned(),
    ];
    for token in cases {
        stack
            .refresh(&token)
            .await
            .expect_error(400, ErrorCode::InvalidGrant);
    }
    stack
        .refresh(&tokens.refresh_token)
        .await
        .expect::<TokenResponse>(200);
}

#[tokio::test]
async fn refresh_request_errors_are_oauth_errors() {
    let stack = TestStack::start().await;
    let cases: &[(&str, Option<&str>, u16, ErrorCode)] = &[
        (
            "{}",
            Some("application/json"),
            400,
            ErrorCode::InvalidRequest,
        ),
        (
            "{\"refresh_token\": 5}",
            Some("application/json"),
            400,
            ErrorCode::InvalidRequest,
        ),
        (
            "nope",
            Some("application/json"),
            400,
            ErrorCode::InvalidRequest,
        ),
        (
            "refresh_token=x",
            Some("application/x-www-form-urlencoded"),
            415,
            ErrorCode::UnsupportedMediaType,
        ),
    ];
    for (body, content_type, status, code) in cases {
        let request = stack.raw(
            reqwest::Method::POST,
            stack.auth_url("/refresh"),
            *content_type,
            body.to_string(),
        );
        let error = send(request).await.expect_error(*status, *code);
        assert_eq!(
            error.error_description.as_deref(),
            Some(error.detail.as_str()),
            "{body}"
        );
    }
}
