//! The outbox keeps every mail through what goes wrong: an SMTP server
//! that is down, an auth service killed between commit and send, two
//! replicas on one database, a server that refuses a mailbox for good. And
//! no token or password ever reaches a log line.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::api::ErrorCode;

use crate::support::client::{PASSWORD, new_email};
use crate::support::db;
use crate::support::smtp::SmtpSink;
use crate::support::stack::TestStack;

const WAIT: Duration = Duration::from_secs(20);

/// Signs up `count` fresh addresses.
async fn sign_up(stack: &TestStack, count: usize) -> Vec<String> {
    let mut emails = Vec::new();
    for _ in 0..count {
        let email = new_email();
        stack.signup(&email, PASSWORD).await.expect::<Value>(201);
        emails.push(email);
    }
    emails
}

async fn wait_until_outbox_empty(stack: &TestStack) {
    let pending = "SELECT count(*) FROM outbox WHERE failed_at IS NULL";
    db::wait_for_count(&mut stack.auth.db(), pending, |n| n == 0, WAIT).await;
}

#[tokio::test]
async fn mail_queued_while_smtp_is_down_arrives_once_it_is_back() {
    let Some(mut sink) = SmtpSink::start() else {
        return;
    };
    let stack = TestStack::builder().mail(&sink).start().await;
    sink.stop();
    let emails = sign_up(&stack, 5).await;
    let body: Value = stack
        .post("/recover", json!({"email": emails[0]}), None)
        .await
        .expect(202);
    assert_eq!(body, json!({}));
    // The runner has tried and backed off.
    let tried = "SELECT count(*) FROM outbox WHERE attempts > 0 AND last_error IS NOT NULL";
    db::wait_for_count(&mut stack.auth.db(), tried, |n| n > 0, WAIT).await;
    sink.start_again();
    for email in &emails[1..] {
        assert_eq!(sink.wait_for(email, 1, WAIT).await.len(), 1);
    }
    let first = sink.wait_for(&emails[0], 2, WAIT).await;
    assert!(first.iter().any(|mail| mail.subject.contains("Reset")));
    wait_until_outbox_empty(&stack).await;
}

#[tokio::test]
async fn a_mail_committed_before_a_kill_9_goes_out_after_the_restart() {
    let Some(mut sink) = SmtpSink::start() else {
        return;
    };
    let mut stack = TestStack::builder().mail(&sink).start().await;
    sink.stop();
    let emails = sign_up(&stack, 3).await;
    stack.auth.child.kill().unwrap(); // SIGKILL: no chance to send
    let _ = stack.auth.child.wait();
    sink.start_again();
    stack.restart("auth-service", &[]);
    // A row the killed runner had claimed (its send under way at the kill)
    // stays leased to it: the restarted runner takes it once the lease is
    // out. The others go at once.
    let after_a_crash = auth_service::testing::OUTBOX_LEASE + WAIT;
    for email in &emails {
        let mails = sink.wait_for(email, 1, after_a_crash).await;
        assert!(mails[0].token().is_some());
    }
    wait_until_outbox_empty(&stack).await;
}

#[tokio::test]
async fn two_auth_processes_on_one_database_send_each_mail_once() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let stack = TestStack::builder().mail(&sink).start().await;
    let mut second = stack.start_another("auth-service", &stack.auth.database_url);
    second.wait_listening(Duration::from_secs(30));
    let emails = sign_up(&stack, 20).await;
    wait_until_outbox_empty(&stack).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let per_address: Vec<usize> = emails
        .iter()
        .map(|email| sink.mails_to(email).len())
        .collect();
    assert!(
        per_address.iter().all(|&n| n == 1),
        "mails per address: {per_address:?}"
    );
    let _ = second.child.kill();
    let _ = second.child.wait();
}

#[tokio::test]
async fn a_refused_mailbox_is_given_up_at_once_with_its_token_erased() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let stack = TestStack::builder().mail(&sink).start().await;
    let email = format!("reject-{}", new_email());
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let mut conn = stack.auth.db();
    db::wait_for_count(
        &mut conn,
        "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL",
        |n| n > 0,
        WAIT,
    )
    .await;
    assert_eq!(
        db::count(
            &mut conn,
            "SELECT count(*) FROM outbox WHERE attempts = 1 AND payload::text LIKE '%token%'"
        ),
        0,
        "given up after one attempt, without its token"
    );
    assert!(sink.mails().is_empty());
}

/// A server that accepts connections and never says a word: lettre's own
/// timeouts do not cover that wait, so the runner bounds each send itself.
#[tokio::test]
async fn an_smtp_server_that_never_answers_does_not_hold_up_the_runner() {
    let tarpit = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tarpit.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = tarpit.accept().await {
            sockets.push(socket);
        }
    });
    let stack = TestStack::builder()
        .auth_env("SMTP_URL", &format!("smtp://127.0.0.1:{port}?tls=none"))
        .auth_env("MAIL_FROM", "Example <no-reply@example.com>")
        .auth_env("APP_URL", "https://app.example")
        .start()
        .await;
    // A request that waited on SMTP would wait for the whole send limit
    // (30 s) here; the answer comes long before.
    let started = Instant::now();
    stack
        .signup(&new_email(), PASSWORD)
        .await
        .expect::<Value>(201);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "signup waited on SMTP"
    );
    let mut conn = stack.auth.db();
    db::wait_for_count(
        &mut conn,
        "SELECT count(*) FROM outbox WHERE last_error LIKE '%no answer%'",
        |n| n > 0,
        Duration::from_secs(60),
    )
    .await;
    held.abort();
}

#[tokio::test]
async fn no_token_or_password_of_the_mailed_flows_is_logged() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let stack = TestStack::builder().mail(&sink).start().await;
    let email = new_email();
    let new = "another distinctive password 7";
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let verify = sink.wait_for(&email, 1, WAIT).await[0]
        .token()
        .expect("token");
    stack
        .post("/verify", json!({"token": verify}), None)
        .await
        .expect_status(204);
    let reset = stack.reset_token(&sink, &email, 2).await;
    stack.reset(&reset, new).await.expect_status(204);
    stack
        .reset(&reset, new)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    sink.wait_for(&email, 3, WAIT).await;
    let logs = stack.auth.logs();
    assert!(
        logs.iter().any(|line| line.contains("mail sent")),
        "no mail line logged"
    );
    for line in &logs {
        for secret in [verify.as_str(), reset.as_str(), PASSWORD, new] {
            assert!(!line.contains(secret), "a secret is logged: {line}");
        }
    }
}
