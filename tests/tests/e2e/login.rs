//! `POST /login` with the password grant.

use std::time::Instant;

use serde_json::Value;
use shared::api::{ErrorCode, TokenResponse};

use crate::support::client::{PASSWORD, new_email, send};
use crate::support::jwt::claims_of;
use crate::support::stack::TestStack;

#[tokio::test]
async fn login_returns_an_uncacheable_token_pair_with_the_full_claim_set() {
    let stack = TestStack::start().await;
    let email = new_email();
    let user: Value = stack.signup(&email, PASSWORD).await.expect(201);
    let reply = stack.login(&email, PASSWORD).await;
    let tokens: TokenResponse = reply.expect(200);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("pragma"), Some("no-cache"));
    assert_eq!(tokens.token_type, "bearer");
    assert_eq!(tokens.expires_in, 30 * 60);

    let access = claims_of(&tokens.access_token, &stack.access_secret);
    let refresh = claims_of(&tokens.refresh_token, &stack.refresh_secret);
    assert_eq!(access["sub"], user["id"]);
    assert_eq!(access["email"], email.as_str());
    assert_eq!(access["typ"], "access");
    assert_eq!(access["iss"], "auth-service");
    assert_eq!(access["aud"], "profile-service");
    assert_eq!(
        access["exp"].as_i64().unwrap_or_default() - access["iat"].as_i64().unwrap_or_default(),
        1800
    );
    assert_eq!(refresh["typ"], "refresh");
    assert_eq!(refresh["sub"], user["id"]);
    assert_eq!(
        refresh["sid"], access["sid"],
        "both tokens name the same session"
    );
    assert_ne!(refresh["jti"], access["jti"]);
    assert!(refresh.get("email").is_none());
    assert_eq!(
        refresh["exp"].as_i64().unwrap_or_default() - refresh["iat"].as_i64().unwrap_or_default(),
        7 * 24 * 3600
    );
    // Each token is signed with its own secret only.
    assert!(
        jsonwebtoken::decode::<Value>(
            &tokens.refresh_token,
            &jsonwebtoken::DecodingKey::from_secret(stack.access_secret.as_bytes()),
            &jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256)
        )
        .is_err()
    );
}

#[tokio::test]
async fn login_trims_and_lower_cases_the_email() {
    let stack = TestStack::start().await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    stack
        .login(&format!(" {} ", email.to_uppercase()), PASSWORD)
        .await
        .expect::<TokenResponse>(200);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let stack = TestStack::start().await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let wrong_password = stack.login(&email, "wrong password").await;
    let unknown_email = stack.login(&new_email(), PASSWORD).await;
    let not_an_email = stack.login("not an email", PASSWORD).await;
    let too_long = stack.login(&email, &"x".repeat(200)).await;
    let first = wrong_password.expect_error(400, ErrorCode::InvalidGrant);
    for other in [&unknown_email, &not_an_email, &too_long] {
        assert_eq!(other.expect_error(400, ErrorCode::InvalidGrant), first);
    }
    assert_eq!(
        first.error_description.as_deref(),
        Some(first.detail.as_str())
    );
}

#[tokio::test]
async fn login_ignores_client_id_scope_and_basic_auth() {
    let stack = TestStack::start().await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let form = [
        ("grant_type", "password"),
        ("username", email.as_str()),
        ("password", PASSWORD),
        ("client_id", "swagger"),
        ("scope", "openid profile"),
        ("unknown", "x"),
    ];
    let reply = send(
        stack
            .client
            .post(stack.auth_url("/login"))
            .header("authorization", "Basic Og==")
            .form(&form),
    )
    .await;
    reply.expect::<TokenResponse>(200);
}

#[tokio::test]
async fn login_request_errors_are_oauth_errors() {
    let stack = TestStack::start().await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let password = format!("username={email}&password=a&password=b");
    let cases: &[(&str, u16, ErrorCode)] = &[
        (&password, 400, ErrorCode::InvalidRequest),
        ("username=a@example.com", 400, ErrorCode::InvalidRequest),
        (
            "username=a@example.com&password=%FF%FE%FD%FC%FB%FA%F9%F8",
            400,
            ErrorCode::InvalidRequest,
        ),
        ("password=abcdefgh", 400, ErrorCode::InvalidRequest),
        ("grant_type=refresh_token", 400, ErrorCode::InvalidRequest),
        (
            "grant_type=client_credentials&username=a&password=b",
            400,
            ErrorCode::UnsupportedGrantType,
        ),
        (
            "grant_type=authorization_code&code=x",
            400,
            ErrorCode::UnsupportedGrantType,
        ),
    ];
    for (form, status, code) in cases {
        let reply = send(stack.raw(
            reqwest::Method::POST,
            stack.auth_url("/login"),
            Some("application/x-www-form-urlencoded"),
            form.to_string(),
        ))
        .await;
        let body = reply.expect_error(*status, *code);
        assert_eq!(
            body.error_description.as_deref(),
            Some(body.detail.as_str()),
            "{form}"
        );
    }
    let json = send(
        stack
            .client
            .post(stack.auth_url("/login"))
            .json(&serde_json::json!({"username": email, "password": PASSWORD})),
    )
    .await;
    json.expect_error(415, ErrorCode::UnsupportedMediaType);
}

#[tokio::test]
async fn repeated_failures_make_the_email_back_off_and_a_success_resets_it() {
    let stack = TestStack::builder()
        .auth_env("LOGIN_FAILURE_LIMIT", "3")
        .start()
        .await;
    let email = new_email();
    let nobody = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    for _ in 0..3 {
        for address in [&email, &nobody] {
            stack
                .login(address, "wrong password")
                .await
                .expect_error(400, ErrorCode::InvalidGrant);
        }
    }
    // Even the right password waits now, and an email without an account
    // backs off exactly the same way: the back-off is no account oracle.
    let locked = stack.login(&email, PASSWORD).await;
    let unknown = stack.login(&nobody, PASSWORD).await;
    let body = locked.expect_error(429, ErrorCode::RateLimited);
    assert_eq!(unknown.expect_error(429, ErrorCode::RateLimited), body);
    assert_eq!(locked.header("retry-after"), Some("1"));
    assert_eq!(unknown.header("retry-after"), Some("1"));
    assert!(body.error_description.is_some());
    // Another account is not affected.
    let (_, _) = stack.new_session().await;

    let started = Instant::now();
    loop {
        let reply = stack.login(&email, PASSWORD).await;
        if reply.status.as_u16() == 200 {
            break;
        }
        reply.expect_error(429, ErrorCode::RateLimited);
        assert!(started.elapsed().as_secs() < 10, "still locked after 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The success reset the count: one more failure does not lock.
    stack
        .login(&email, "wrong password")
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    stack
        .login(&email, PASSWORD)
        .await
        .expect::<TokenResponse>(200);
}

#[tokio::test]
async fn a_weaker_stored_hash_is_upgraded_at_login() {
    let stack = TestStack::builder()
        .auth_env("BCRYPT_COST", "5")
        .start()
        .await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let weak = bcrypt::hash(PASSWORD, 4).unwrap_or_default();
    let mut db = stack.auth.db();
    crate::support::db::execute(
        &mut db,
        &format!("UPDATE users SET password_hash = '{weak}' WHERE email = '{email}'"),
    );
    stack
        .login(&email, PASSWORD)
        .await
        .expect::<TokenResponse>(200);
    let stored = crate::support::db::password_hash(&mut db, &email);
    assert!(
        stored.starts_with("$2b$05$"),
        "hash not upgraded: cost {}",
        &stored[..7]
    );
    stack
        .login(&email, PASSWORD)
        .await
        .expect::<TokenResponse>(200);
}
