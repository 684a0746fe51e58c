//! `GET /me` and `PATCH /me` on the profile service.

use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use shared::api::{ErrorCode, ProfileResponse};

use crate::support::client::send;
use crate::support::jwt::{access_claims, now, sign, with};
use crate::support::stack::TestStack;

#[tokio::test]
async fn me_creates_the_profile_from_the_token_on_first_use() {
    let stack = TestStack::start().await;
    let (email, tokens) = stack.new_session().await;
    let profile: ProfileResponse = stack.me(&tokens.access_token).await.expect(200);
    assert_eq!(profile.email, email);
    assert_eq!((profile.display_name, profile.bio), (None, None));
    let again: ProfileResponse = stack.me(&tokens.access_token).await.expect(200);
    assert_eq!(again.id, profile.id);
    assert_eq!(again.created_at, profile.created_at);
}

#[tokio::test]
async fn patch_me_sets_keeps_and_clears_fields() {
    let stack = TestStack::start().await;
    let (_, tokens) = stack.new_session().await;
    let token = &tokens.access_token;
    let set: ProfileResponse = stack
        .patch_me(token, &json!({"display_name": "Ada", "bio": "Analyst"}))
        .await
        .expect(200);
    assert_eq!(
        (set.display_name.as_deref(), set.bio.as_deref()),
        (Some("Ada"), Some("Analyst"))
    );
    assert!(set.updated_at >= set.created_at);

    let kept: ProfileResponse = stack
        .patch_me(token, &json!({"bio": null}))
        .await
        .expect(200);
    assert_eq!(
        (kept.display_name.as_deref(), kept.bio.as_deref()),
        (Some("Ada"), None)
    );

    let unchanged: ProfileResponse = stack.patch_me(token, &json!({})).await.expect(200);
    assert_eq!(unchanged, kept);
    let read: ProfileResponse = stack.me(token).await.expect(200);
    assert_eq!(read, kept);
}

#[tokio::test]
async fn patch_me_refuses_bad_values_with_422_and_keeps_what_was_stored() {
    let stack = TestStack::start().await;
    let (_, tokens) = stack.new_session().await;
    let token = &tokens.access_token;
    let stored: ProfileResponse = stack
        .patch_me(
            token,
            &json!({"display_name": "é".repeat(64), "bio": "b".repeat(1024)}),
        )
        .await
        .expect(200);
    let cases = [
        ("display_name", json!({"display_name": "x".repeat(65)})),
        ("bio", json!({"bio": "é".repeat(1025)})),
        ("display_name", json!({"display_name": "nul\u{0}"})),
        (
            "bio",
            json!({"display_name": "fine", "bio": "b".repeat(2000)}),
        ),
    ];
    for (field, body) in cases {
        let error = stack
            .patch_me(token, &body)
            .await
            .expect_error(422, ErrorCode::ValidationError);
        assert!(
            error.fields.unwrap_or_default().contains_key(field),
            "{field}"
        );
    }
    let after: ProfileResponse = stack.me(token).await.expect(200);
    assert_eq!(after, stored);
}

#[tokio::test]
async fn patch_me_with_the_wrong_shape_is_400_and_without_json_is_415() {
    let stack = TestStack::start().await;
    let (_, tokens) = stack.new_session().await;
    let token = &tokens.access_token;
    for body in [
        json!({"display_name": 5}),
        json!({"email": "x@example.com"}),
        json!(["Ada"]),
        json!("Ada"),
    ] {
        stack
            .patch_me(token, &body)
            .await
            .expect_error(400, ErrorCode::InvalidRequest);
    }
    let text = send(
        stack
            .raw(
                reqwest::Method::PATCH,
                stack.profile_url("/me"),
                Some("text/plain"),
                "{}",
            )
            .bearer_auth(token),
    )
    .await;
    text.expect_error(415, ErrorCode::UnsupportedMediaType);
    let broken = send(
        stack
            .raw(
                reqwest::Method::PATCH,
                stack.profile_url("/me"),
                Some("application/json"),
                "{\"bio\": ",
            )
            .bearer_auth(token),
    )
    .await;
    broken.expect_error(400, ErrorCode::InvalidRequest);
}

#[tokio::test]
async fn me_without_bearer_credentials_is_401_with_a_bare_challenge() {
    let stack = TestStack::start().await;
    let none = send(stack.client.get(stack.profile_url("/me"))).await;
    none.expect_error(401, ErrorCode::InvalidToken);
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    let basic = send(
        stack
            .client
            .get(stack.profile_url("/me"))
            .header("authorization", "Basic Og=="),
    )
    .await;
    basic.expect_error(401, ErrorCode::InvalidToken);
    assert_eq!(basic.header("www-authenticate"), Some("Bearer"));
    let other_scheme = send(
        stack
            .client
            .get(stack.profile_url("/me"))
            .header("authorization", "Bearerxyz"),
    )
    .await;
    other_scheme.expect_error(401, ErrorCode::InvalidToken);
    assert_eq!(other_scheme.header("www-authenticate"), Some("Bearer"));
    let patch = send(
        stack
            .client
            .patch(stack.profile_url("/me"))
            .json(&json!({"bio": "x"})),
    )
    .await;
    patch.expect_error(401, ErrorCode::InvalidToken);
}

#[tokio::test]
async fn profile_email_mirrors_the_newest_token_presented() {
    let stack = TestStack::start().await;
    let claims = access_claims("old@example.com");
    let user = claims["sub"].clone();
    let old = sign(
        Algorithm::HS256,
        &stack.access_secret,
        &with(claims.clone(), "iat", json!(now() - 60)),
    );
    let new = sign(
        Algorithm::HS256,
        &stack.access_secret,
        &with(
            with(claims, "email", json!("new@example.com")),
            "iat",
            json!(now()),
        ),
    );
    let first: Value = stack.me(&old).await.expect(200);
    assert_eq!(
        (first["id"].clone(), first["email"].clone()),
        (user, json!("old@example.com"))
    );
    let second: ProfileResponse = stack.me(&new).await.expect(200);
    assert_eq!(second.email, "new@example.com");
    // An older token presented later does not win.
    let third: ProfileResponse = stack.me(&old).await.expect(200);
    assert_eq!(third.email, "new@example.com");
}
