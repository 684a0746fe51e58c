//! Access-token verification at the profile service: a token from any
//! standard JWT library with the shared secret works, forged ones do not.

use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use shared::api::{ErrorCode, ProfileResponse};

use crate::support::client::send;
use crate::support::jwt::{access_claims, now, sign, unsigned, with};
use crate::support::stack::TestStack;

#[tokio::test]
async fn a_token_minted_by_a_standard_library_with_the_secret_is_accepted() {
    let stack = TestStack::start().await;
    let claims = access_claims("minted@example.com");
    let token = sign(Algorithm::HS256, &stack.access_secret, &claims);
    let profile: ProfileResponse = stack.me(&token).await.expect(200);
    assert_eq!(
        profile.id.to_string(),
        claims["sub"].as_str().unwrap_or_default()
    );
    assert_eq!(profile.email, "minted@example.com");
}

#[tokio::test]
async fn forged_and_misused_tokens_are_401_invalid_token() {
    let stack = TestStack::start().await;
    let (_, real) = stack.new_session().await;
    let secret = stack.access_secret.as_str();
    let good = access_claims("forger@example.com");
    let hs = |claims: &Value| sign(Algorithm::HS256, secret, claims);
    let cases: Vec<(&str, String)> = vec![
        ("alg none", unsigned(&good)),
        ("alg HS512", sign(Algorithm::HS512, secret, &good)),
        ("alg HS384", sign(Algorithm::HS384, secret, &good)),
        (
            "wrong secret",
            sign(
                Algorithm::HS256,
                "another secret that is long enough!!",
                &good,
            ),
        ),
        (
            "refresh secret",
            sign(Algorithm::HS256, &stack.refresh_secret, &good),
        ),
        (
            "expired",
            hs(&with(
                with(good.clone(), "exp", json!(now() - 120)),
                "iat",
                json!(now() - 600),
            )),
        ),
        (
            "iat in the future",
            hs(&with(good.clone(), "iat", json!(now() + 600))),
        ),
        (
            "wrong iss",
            hs(&with(good.clone(), "iss", json!("someone-else"))),
        ),
        (
            "wrong aud",
            hs(&with(good.clone(), "aud", json!("another-service"))),
        ),
        (
            "typ refresh",
            hs(&with(good.clone(), "typ", json!("refresh"))),
        ),
        ("no typ", hs(&with(good.clone(), "typ", Value::Null))),
        ("no exp", hs(&with(good.clone(), "exp", Value::Null))),
        ("no iat", hs(&with(good.clone(), "iat", Value::Null))),
        ("no jti", hs(&with(good.clone(), "jti", Value::Null))),
        ("no sid", hs(&with(good.clone(), "sid", Value::Null))),
        ("no email", hs(&with(good.clone(), "email", Value::Null))),
        (
            "NUL in email",
            hs(&with(good.clone(), "email", json!("a\u{0}@example.com"))),
        ),
        (
            "email over 254",
            hs(&with(
                good.clone(),
                "email",
                json!(format!("{}@example.com", "a".repeat(250))),
            )),
        ),
        (
            "sub not a UUID",
            hs(&with(good.clone(), "sub", json!("admin"))),
        ),
        (
            "nbf in the future",
            hs(&with(good.clone(), "nbf", json!(now() + 600))),
        ),
        (
            "iat before 1970",
            hs(&with(good.clone(), "iat", json!(-1_000_000_000_000_i64))),
        ),
        ("crit [\"exp\"], signed right", {
            let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
            header.crit = Some(vec!["exp".to_owned()]);
            let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
            jsonwebtoken::encode(&header, &good, &key).unwrap()
        }),
        ("the real refresh token", real.refresh_token.clone()),
        ("tampered payload", {
            let parts: Vec<&str> = real.access_token.split('.').collect();
            let other: Vec<String> = hs(&good).split('.').map(str::to_owned).collect();
            format!("{}.{}.{}", parts[0], other[1], parts[2])
        }),
        ("garbage", "not.a.token".to_owned()),
        ("empty", String::new()),
    ];
    for (case, token) in cases {
        let reply = send(
            stack
                .client
                .get(stack.profile_url("/me"))
                .header("authorization", format!("Bearer {token}")),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 401, "{case}: {}", reply.body);
        reply.expect_error(401, ErrorCode::InvalidToken);
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\""),
            "{case}"
        );
    }
    // The real access token still works: the forgeries changed nothing.
    stack
        .me(&real.access_token)
        .await
        .expect::<ProfileResponse>(200);
}

#[tokio::test]
async fn an_audience_array_from_a_standard_library_is_accepted() {
    let stack = TestStack::start().await;
    let claims = with(
        access_claims("list@example.com"),
        "aud",
        json!(["other-service", "profile-service"]),
    );
    let token = sign(Algorithm::HS256, &stack.access_secret, &claims);
    stack.me(&token).await.expect::<ProfileResponse>(200);
    let elsewhere = with(claims, "aud", json!(["other-service"]));
    let token = sign(Algorithm::HS256, &stack.access_secret, &elsewhere);
    stack
        .me(&token)
        .await
        .expect_error(401, ErrorCode::InvalidToken);
}

#[tokio::test]
async fn an_access_token_just_past_exp_is_accepted_within_the_leeway() {
    let stack = TestStack::start().await;
    let claims = with(
        with(access_claims("late@example.com"), "exp", json!(now() - 5)),
        "iat",
        json!(now() - 600),
    );
    let token = sign(Algorithm::HS256, &stack.access_secret, &claims);
    stack.me(&token).await.expect::<ProfileResponse>(200);
}
