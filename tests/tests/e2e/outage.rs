//! The database going away and coming back, at start-up and while
//! serving: 503 with `Retry-After`, never a hang, and recovery without a
//! restart.

use std::time::{Duration, Instant};

use serde_json::Value;
use shared::api::{ErrorCode, HealthResponse};

use crate::support::client::{PASSWORD, new_email, send};
use crate::support::stack::TestStack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_started_before_its_database_exists_waits_for_it() {
    let stack = TestStack::builder().own_server().start().await;
    let url = stack.own_server_url("late");
    let mut late = stack.start_another("profile-service", &url);
    tokio::task::block_in_place(|| {
        late.wait_for_log(Duration::from_secs(30), |line| line.contains("retrying"));
    });
    stack.own_server_execute("CREATE DATABASE late");
    tokio::task::block_in_place(|| late.wait_listening(Duration::from_secs(30)));
    send(stack.client.get(format!("{}/readyz", late.base_url)))
        .await
        .expect::<HealthResponse>(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_gives_503_and_the_services_recover_by_themselves() {
    let mut stack = TestStack::builder()
        .own_server()
        .auth_env("DB_CONNECT_TIMEOUT_SECONDS", "1")
        .profile_env("DB_CONNECT_TIMEOUT_SECONDS", "1")
        .start()
        .await;
    stack
        .signup(&new_email(), PASSWORD)
        .await
        .expect::<Value>(201);

    stack.stop_database().await;
    let started = Instant::now();
    let down = stack.signup(&new_email(), PASSWORD).await;
    down.expect_error(503, ErrorCode::Unavailable);
    assert_eq!(down.header("retry-after"), Some("1"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "503 took {:?}",
        started.elapsed()
    );
    for base in [&stack.auth.base_url, &stack.profile.base_url] {
        let ready = send(stack.client.get(format!("{base}/readyz"))).await;
        let body = ready.expect_error(503, ErrorCode::Unavailable);
        assert_eq!(ready.header("retry-after"), Some("1"), "{base}");
        assert_eq!(body.detail, service_kit::error::UNAVAILABLE_DETAIL);
        send(stack.client.get(format!("{base}/healthz")))
            .await
            .expect::<HealthResponse>(200);
    }

    stack.start_database().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = stack.signup(&new_email(), PASSWORD).await;
        if reply.status.as_u16() == 201 {
            break;
        }
        reply.expect_error(503, ErrorCode::Unavailable);
        assert!(Instant::now() < deadline, "did not recover: {}", reply.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    send(stack.client.get(stack.profile_url("/readyz")))
        .await
        .expect::<HealthResponse>(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_stuck_behind_a_lock_gets_503_within_the_bound_and_the_pool_recovers() {
    use diesel::Connection;
    let stack = TestStack::start().await;
    let (_, tokens) = stack.new_session().await;
    let me: shared::api::ProfileResponse = stack.me(&tokens.access_token).await.expect(200);
    let mut profile_holder = stack.profile.db();
    let mut auth_holder = stack.auth.db();
    let (patch, signup, elapsed) = profile_holder
        .transaction::<_, diesel::result::Error, _>(|profile_db| {
            crate::support::db::execute(
                profile_db,
                &format!(
                    "SELECT 1 FROM profiles WHERE user_id = '{}' FOR UPDATE",
                    me.id
                ),
            );
            auth_holder.transaction(|auth_db| {
                crate::support::db::execute(auth_db, "LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
                let started = Instant::now();
                let (bio, email) = (serde_json::json!({"bio": "stuck"}), new_email());
                let (patch, signup) = tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(async {
                        tokio::join!(
                            stack.patch_me(&tokens.access_token, &bio),
                            stack.signup(&email, PASSWORD)
                        )
                    })
                });
                Ok((patch, signup, started.elapsed()))
            })
        })
        .unwrap();
    for reply in [&patch, &signup] {
        reply.expect_error(503, ErrorCode::Unavailable);
        assert_eq!(reply.header("retry-after"), Some("1"));
    }
    println!("requests behind a held lock answered 503 after {elapsed:?}");
    assert!(elapsed < Duration::from_secs(15), "waited {elapsed:?}");
    // The locks are gone: the same connections serve again.
    stack
        .patch_me(&tokens.access_token, &serde_json::json!({"bio": "free"}))
        .await
        .expect::<Value>(200);
    stack
        .signup(&new_email(), PASSWORD)
        .await
        .expect::<Value>(201);
}
