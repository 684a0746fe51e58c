//! Verifying an address through the mail that signup sends, as a person
//! would: the mail arrives at a real SMTP server, the test follows its
//! link's token, and the claim and `GET /me` say so.

use std::time::Duration;

use serde_json::{Value, json};
use shared::api::{ErrorCode, ProfileResponse, TokenResponse};

use crate::support::client::{PASSWORD, new_email};
use crate::support::db;
use crate::support::jwt::claims_of;
use crate::support::smtp::SmtpSink;
use crate::support::stack::TestStack;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn signup_mails_a_link_that_verifies_the_address_in_the_next_token_and_at_me() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let stack = TestStack::builder().mail(&sink).start().await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let tokens: TokenResponse = stack.login(&email, PASSWORD).await.expect(200);
    assert_eq!(
        claims_of(&tokens.access_token, &stack.access_secret)["email_verified"],
        json!(false)
    );
    let me: ProfileResponse = stack.me(&tokens.access_token).await.expect(200);
    assert!(!me.email_verified);

    let mails = sink.wait_for(&email, 1, WAIT).await;
    assert!(
        mails[0].subject.contains("Confirm your email address"),
        "{}",
        mails[0].subject
    );
    assert!(mails[0].text.contains("https://app.example/verify#token="));
    let token = mails[0].token().expect("the mail carries a token");
    stack
        .post("/verify", json!({"token": token}), None)
        .await
        .expect_status(204);

    let next: TokenResponse = stack.refresh(&tokens.refresh_token).await.expect(200);
    assert_eq!(
        claims_of(&next.access_token, &stack.access_secret)["email_verified"],
        json!(true)
    );
    let me: ProfileResponse = stack.me(&next.access_token).await.expect(200);
    assert!(me.email_verified);
    // The token worked once.
    stack
        .post("/verify", json!({"token": token}), None)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn required_verification_refuses_login_after_the_password_check_until_verified() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let stack = TestStack::builder()
        .mail(&sink)
        .auth_env("EMAIL_VERIFICATION", "required")
        .start()
        .await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    // A wrong password says nothing about verification.
    let wrong = stack
        .login(&email, "not the password at all")
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    assert!(!wrong.detail.contains("verified"), "{}", wrong.detail);
    let right = stack
        .login(&email, PASSWORD)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    assert!(right.detail.contains("not verified"), "{}", right.detail);

    let token = sink.wait_for(&email, 1, WAIT).await[0]
        .token()
        .expect("token");
    stack
        .post("/verify", json!({"token": token}), None)
        .await
        .expect_status(204);
    let tokens: TokenResponse = stack.login(&email, PASSWORD).await.expect(200);
    assert_eq!(
        claims_of(&tokens.access_token, &stack.access_secret)["email_verified"],
        json!(true)
    );
}

#[tokio::test]
async fn resend_mails_an_unverified_account_only_and_the_new_link_replaces_the_old() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let stack = TestStack::builder().mail(&sink).start().await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let first = sink.wait_for(&email, 1, WAIT).await[0]
        .token()
        .expect("token");
    let unknown = new_email();
    for address in [&email, &unknown] {
        let body: Value = stack
            .post("/verify/resend", json!({"email": address}), None)
            .await
            .expect(202);
        assert_eq!(body, json!({}));
    }
    let second = sink.wait_for(&email, 2, WAIT).await[1]
        .token()
        .expect("token");
    assert_ne!(first, second);
    stack
        .post("/verify", json!({"token": first}), None)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    stack
        .post("/verify", json!({"token": second}), None)
        .await
        .expect_status(204);
    // Verified: a resend sends nothing more; the unknown address got none.
    stack
        .post("/verify/resend", json!({"email": email}), None)
        .await
        .expect::<Value>(202);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.mails_to(&email).len(), 2);
    assert!(sink.mails_to(&unknown).is_empty());
}

#[tokio::test]
async fn resend_refuses_what_is_no_email_address_with_422_naming_the_field_and_mails_nothing() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    // No interval: a resend that got through would mail at once.
    let stack = TestStack::builder()
        .mail(&sink)
        .auth_env("MAIL_INTERVAL_SECONDS", "0")
        .start()
        .await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    sink.wait_for(&email, 1, WAIT).await;
    let too_long = format!("{}@example.com", "a".repeat(250));
    let hidden = format!("{email}\u{200b}");
    for (bad, problem) in [
        ("not an address", "must be a valid email address"),
        ("", "must be a valid email address"),
        (too_long.as_str(), "must be at most 254 characters"),
        (hidden.as_str(), "must not contain invisible characters"),
    ] {
        let body = stack
            .post("/verify/resend", json!({"email": bad}), None)
            .await
            .expect_error(422, ErrorCode::ValidationError);
        let fields: Vec<(String, String)> = body.fields.unwrap_or_default().into_iter().collect();
        assert_eq!(
            fields,
            [("email".to_owned(), problem.to_owned())],
            "{bad:?}"
        );
    }
    // The account's own address, hidden character and all, mailed nothing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.mails_to(&email).len(), 1);
}

#[tokio::test]
async fn without_mail_accounts_are_verified_at_signup() {
    let stack = TestStack::start().await;
    let (_, tokens) = stack.new_session().await;
    assert_eq!(
        claims_of(&tokens.access_token, &stack.access_secret)["email_verified"],
        json!(true)
    );
    let body: Value = stack
        .post("/verify/resend", json!({"email": new_email()}), None)
        .await
        .expect(202);
    assert_eq!(body, json!({}));
    let mut conn = stack.auth.db();
    assert_eq!(db::count(&mut conn, "SELECT count(*) FROM outbox"), 0);
}

#[tokio::test]
async fn bad_verification_tokens_are_400_and_change_nothing() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let stack = TestStack::builder().mail(&sink).start().await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let token = sink.wait_for(&email, 1, WAIT).await[0]
        .token()
        .expect("token");
    let flipped = format!(
        "{}{}",
        &token[..42],
        if token.ends_with('A') { "Q" } else { "A" }
    );
    let cases: Vec<Value> = vec![
        json!({"token": ""}),
        json!({"token": "not-a-token"}),
        json!({"token": flipped}),
        json!({"token": "é".repeat(43)}),
        json!({"token": "A".repeat(60_000)}),
        json!({"token": format!("{token} ")}),
    ];
    for body in cases {
        stack
            .post("/verify", body, None)
            .await
            .expect_error(400, ErrorCode::InvalidGrant);
    }
    stack
        .post("/verify", json!({"token": "A".repeat(100_000)}), None)
        .await
        .expect_error(413, ErrorCode::PayloadTooLarge);
    for body in [json!({}), json!({"token": 5}), json!([token])] {
        stack
            .post("/verify", body, None)
            .await
            .expect_error(400, ErrorCode::InvalidRequest);
    }
    let mut conn = stack.auth.db();
    assert_eq!(
        db::count(&mut conn, "SELECT count(*) FROM users WHERE email_verified"),
        0
    );
    // The real one still works.
    stack
        .post("/verify", json!({"token": token}), None)
        .await
        .expect_status(204);
    assert_eq!(
        db::count(&mut conn, "SELECT count(*) FROM users WHERE email_verified"),
        1
    );
}
