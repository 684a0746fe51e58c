//! Recovering a forgotten password through the mailbox, and changing it
//! while signed in: what each step lets in and shuts out.

use std::time::Duration;

use serde_json::{Value, json};
use shared::api::{ErrorCode, TokenResponse};

use crate::support::client::{PASSWORD, new_email};
use crate::support::db;
use crate::support::smtp::SmtpSink;
use crate::support::stack::TestStack;

const WAIT: Duration = Duration::from_secs(10);
const NEW: &str = "a brand new password";

/// A stack with mail, and a verified account with two sessions.
async fn account(sink: &SmtpSink) -> (TestStack, String, TokenResponse, TokenResponse) {
    let stack = TestStack::builder().mail(sink).start().await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let first = stack.login(&email, PASSWORD).await.expect(200);
    let second = stack.login(&email, PASSWORD).await.expect(200);
    (stack, email, first, second)
}

async fn recover(stack: &TestStack, email: &str) {
    let body: Value = stack
        .post("/recover", json!({"email": email}), None)
        .await
        .expect(202);
    assert_eq!(body, json!({}));
}

#[tokio::test]
async fn recover_answers_alike_for_any_address_and_mails_only_an_account() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (stack, email, _, _) = account(&sink).await;
    let unknown = new_email();
    recover(&stack, &unknown).await;
    recover(&stack, &email).await;
    let mail = &sink.wait_for(&email, 2, WAIT).await[1];
    assert!(mail.subject.contains("Reset your"), "{}", mail.subject);
    assert!(
        mail.text
            .contains("https://app.example/reset-password#token=")
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(sink.mails_to(&unknown).is_empty());
    stack
        .post("/recover", json!({"email": "not an address"}), None)
        .await
        .expect_error(422, ErrorCode::ValidationError);
}

#[tokio::test]
async fn the_mail_interval_lets_one_reset_mail_through_ten_requests() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let stack = TestStack::builder()
        .mail(&sink)
        .auth_env("MAIL_INTERVAL_SECONDS", "60")
        .auth_env("EMAIL_VERIFICATION", "off")
        .start()
        .await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    for _ in 0..10 {
        recover(&stack, &email).await;
    }
    sink.wait_for(&email, 1, WAIT).await;
    // Let the runner resolve every request before counting.
    let mut conn = stack.auth.db();
    db::wait_for_count(&mut conn, "SELECT count(*) FROM outbox", |n| n == 0, WAIT).await;
    assert_eq!(db::count(&mut conn, "SELECT count(*) FROM outbox"), 0);
    assert_eq!(sink.mails_to(&email).len(), 1);
}

#[tokio::test]
async fn a_reset_sets_the_password_ends_every_session_and_mails_a_notice() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (stack, email, first, second) = account(&sink).await;
    let token = stack.reset_token(&sink, &email, 2).await;
    // A refused password keeps the token.
    stack
        .reset(&token, "short")
        .await
        .expect_error(422, ErrorCode::ValidationError);
    stack.reset(&token, NEW).await.expect_status(204);
    for session in [&first, &second] {
        stack
            .refresh(&session.refresh_token)
            .await
            .expect_error(400, ErrorCode::InvalidGrant);
    }
    stack
        .login(&email, PASSWORD)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    stack.login(&email, NEW).await.expect::<TokenResponse>(200);
    let notice = &sink.wait_for(&email, 3, WAIT).await[2];
    assert!(
        notice.subject.contains("password was changed"),
        "{}",
        notice.subject
    );
    // Once only.
    stack
        .reset(&token, "yet another password")
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    stack.login(&email, NEW).await.expect::<TokenResponse>(200);
}

#[tokio::test]
async fn a_newer_reset_token_retires_the_older_and_an_expired_one_is_refused() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (stack, email, _, _) = account(&sink).await;
    let older = stack.reset_token(&sink, &email, 2).await;
    let newer = stack.reset_token(&sink, &email, 3).await;
    stack
        .reset(&older, NEW)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    let mut conn = stack.auth.db();
    db::execute(
        &mut conn,
        "UPDATE one_time_tokens SET expires_at = now() - interval '1 second'",
    );
    stack
        .reset(&newer, NEW)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    stack
        .login(&email, PASSWORD)
        .await
        .expect::<TokenResponse>(200);
}

#[tokio::test]
async fn a_reset_token_resets_only_its_own_account() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (stack, email, _, _) = account(&sink).await;
    let other = new_email();
    stack.signup(&other, PASSWORD).await.expect::<Value>(201);
    let token = stack.reset_token(&sink, &email, 2).await;
    stack.reset(&token, NEW).await.expect_status(204);
    stack
        .login(&other, PASSWORD)
        .await
        .expect::<TokenResponse>(200);
    stack
        .login(&other, NEW)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn recover_without_mail_is_503() {
    let stack = TestStack::start().await;
    stack
        .post("/recover", json!({"email": new_email()}), None)
        .await
        .expect_error(503, ErrorCode::Unavailable);
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_keeps_only_the_callers_session() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (stack, email, caller, other) = account(&sink).await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    stack
        .post("/password", change(PASSWORD, NEW), None)
        .await
        .expect_error(401, ErrorCode::InvalidToken);
    let bearer = Some(caller.access_token.as_str());
    stack
        .post("/password", change("not the password", NEW), bearer)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    stack
        .post("/password", change(PASSWORD, "short"), bearer)
        .await
        .expect_error(422, ErrorCode::ValidationError);
    stack
        .post("/password", change(PASSWORD, NEW), bearer)
        .await
        .expect_status(204);
    stack
        .refresh(&other.refresh_token)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    stack
        .refresh(&caller.refresh_token)
        .await
        .expect::<TokenResponse>(200);
    stack.login(&email, NEW).await.expect::<TokenResponse>(200);
    let notice = &sink.wait_for(&email, 2, WAIT).await[1];
    assert!(
        notice.subject.contains("password was changed"),
        "{}",
        notice.subject
    );
    // The revoked session's access token is refused here too.
    stack
        .post(
            "/password",
            change(NEW, PASSWORD),
            Some(&other.access_token),
        )
        .await
        .expect_error(401, ErrorCode::InvalidToken);
}

#[tokio::test]
async fn wrong_current_passwords_count_in_the_login_back_off() {
    let stack = TestStack::builder()
        .auth_env("LOGIN_FAILURE_LIMIT", "3")
        .start()
        .await;
    let (email, tokens) = stack.new_session().await;
    let bearer = Some(tokens.access_token.as_str());
    let wrong = json!({"current_password": "not the password", "new_password": NEW});
    for _ in 0..3 {
        stack
            .post("/password", wrong.clone(), bearer)
            .await
            .expect_error(400, ErrorCode::InvalidGrant);
    }
    let limited = stack.post("/password", wrong, bearer).await;
    limited.expect_error(429, ErrorCode::RateLimited);
    stack
        .login(&email, PASSWORD)
        .await
        .expect_error(429, ErrorCode::RateLimited);
}

#[tokio::test]
async fn a_reset_clears_the_login_back_off_from_every_network() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (stack, email, _, _) = account(&sink).await;
    stack
        .login(&email, "not the password at all")
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    // An hour's back-off, as many failures would set it.
    let mut conn = stack.auth.db();
    db::execute(
        &mut conn,
        "UPDATE login_failures SET locked_until = now() + interval '1 hour', failures = 50",
    );
    stack
        .login(&email, PASSWORD)
        .await
        .expect_error(429, ErrorCode::RateLimited);
    let token = stack.reset_token(&sink, &email, 2).await;
    stack.reset(&token, NEW).await.expect_status(204);
    assert_eq!(
        db::count(&mut conn, "SELECT count(*) FROM login_failures"),
        0
    );
    stack.login(&email, NEW).await.expect::<TokenResponse>(200);
}
