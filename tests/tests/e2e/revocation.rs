//! Revocation that reaches the profile service: the auth service's events
//! (Standard Webhooks, from its event outbox) to the profile service's
//! internal listener, stored there and spread to every replica, so a
//! revoked session's or deleted user's access tokens get 401 at `GET /me`
//! within seconds, through restarts, crashes and outages, while forged,
//! replayed and stale deliveries change nothing.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::api::{ErrorCode, TokenResponse};
use shared::events::EventSecret;

use crate::support::client::{PASSWORD, Reply, send};
use crate::support::db;
use crate::support::jwt::unverified_claims;
use crate::support::service::Service;
use crate::support::stack::TestStack;

/// The contract's bound from the 204 of a revoking action to the 401.
const WITHIN: Duration = Duration::from_secs(2);

async fn me_at(stack: &TestStack, replica: &Service, token: &str) -> u16 {
    send(
        stack
            .client
            .get(format!("{}/me", replica.base_url))
            .bearer_auth(token),
    )
    .await
    .status
    .as_u16()
}

/// Polls `GET /me` at `replica` until it answers 401; how long that took.
async fn until_refused(
    stack: &TestStack,
    replica: &Service,
    token: &str,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let status = me_at(stack, replica, token).await;
        if status == 401 {
            return started.elapsed();
        }
        assert_eq!(status, 200, "only 200 or 401 expected");
        assert!(
            started.elapsed() < limit,
            "still accepted after {limit:?}: {:#?}",
            replica.logs()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn logout(stack: &TestStack, refresh_token: &str, scope: &str) {
    let body = json!({"refresh_token": refresh_token, "scope": scope});
    send(stack.client.post(stack.auth_url("/logout")).json(&body))
        .await
        .expect_status(204);
}

async fn delete_account(stack: &TestStack, token: &str) {
    send(
        stack
            .client
            .delete(stack.auth_url("/account"))
            .bearer_auth(token)
            .json(&json!({"password": PASSWORD})),
    )
    .await
    .expect_status(204);
}

/// A second profile-service on the stack's profile database, ready.
fn second_replica(stack: &TestStack) -> Service {
    let mut replica = stack.start_another("profile-service", &stack.profile.database_url);
    replica.wait_listening(Duration::from_secs(30));
    replica.wait_for_log(Duration::from_secs(15), |line| {
        line.contains("profile cache listening for changes")
    });
    replica
}

fn user_of(tokens: &TokenResponse) -> String {
    unverified_claims(&tokens.access_token)["sub"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Events still waiting at the auth service.
fn pending_events(stack: &TestStack) -> i64 {
    db::count(&mut stack.auth.db(), "SELECT count(*) FROM event_outbox")
}

/// Waits until the auth service has delivered every event.
async fn wait_all_delivered(stack: &TestStack) {
    db::wait_for_count(
        &mut stack.auth.db(),
        "SELECT count(*) FROM event_outbox",
        |n| n == 0,
        Duration::from_secs(10),
    )
    .await;
}

#[tokio::test]
async fn a_logout_is_refused_at_every_replica_within_two_seconds() {
    let stack = TestStack::builder().events().start().await;
    let second = second_replica(&stack);
    let (_, tokens) = stack.new_session().await;
    for replica in [&stack.profile, &second] {
        assert_eq!(me_at(&stack, replica, &tokens.access_token).await, 200);
    }
    stack.logout(&tokens.refresh_token).await.expect_status(204);
    let logged_out = Instant::now();
    for (name, replica) in [("receiving", &stack.profile), ("other", &second)] {
        until_refused(&stack, replica, &tokens.access_token, WITHIN * 5).await;
        let delay = logged_out.elapsed();
        println!("revoke-to-401 at the {name} replica: {delay:?}");
        assert!(delay < WITHIN, "{name} replica took {delay:?}");
    }
    let body = send(
        stack
            .client
            .get(stack.profile_url("/me"))
            .bearer_auth(&tokens.access_token),
    )
    .await
    .expect_error(401, ErrorCode::InvalidToken);
    assert!(!body.detail.contains(&tokens.access_token));
}

#[tokio::test]
async fn exactly_the_right_sessions_die_for_each_revoking_action() {
    let stack = TestStack::builder().events().start().await;
    let (email, a) = stack.new_session().await;
    let login = || async {
        stack
            .login(&email, PASSWORD)
            .await
            .expect::<TokenResponse>(200)
    };
    let (b, c) = (login().await, login().await);
    // others: a survives, b and c die.
    logout(&stack, &a.refresh_token, "others").await;
    for dead in [&b, &c] {
        until_refused(&stack, &stack.profile, &dead.access_token, WITHIN).await;
    }
    assert_eq!(me_at(&stack, &stack.profile, &a.access_token).await, 200);
    // session delete: d dies, a survives.
    let d = login().await;
    let sid = unverified_claims(&d.access_token)["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    send(
        stack
            .client
            .delete(stack.auth_url(&format!("/sessions/{sid}")))
            .bearer_auth(&a.access_token),
    )
    .await
    .expect_status(204);
    until_refused(&stack, &stack.profile, &d.access_token, WITHIN).await;
    assert_eq!(me_at(&stack, &stack.profile, &a.access_token).await, 200);
    // password change: every other session dies, the caller's stays.
    let e = login().await;
    stack
        .post(
            "/password",
            json!({"current_password": PASSWORD, "new_password": "another fine password"}),
            Some(&a.access_token),
        )
        .await
        .expect_status(204);
    until_refused(&stack, &stack.profile, &e.access_token, WITHIN).await;
    assert_eq!(me_at(&stack, &stack.profile, &a.access_token).await, 200);
    // global: all of them, a's too; a new login afterwards works.
    let f = stack
        .login(&email, "another fine password")
        .await
        .expect::<TokenResponse>(200);
    logout(&stack, &f.refresh_token, "global").await;
    for dead in [&a, &f] {
        until_refused(&stack, &stack.profile, &dead.access_token, WITHIN).await;
    }
    let g = stack
        .login(&email, "another fine password")
        .await
        .expect::<TokenResponse>(200);
    assert_eq!(me_at(&stack, &stack.profile, &g.access_token).await, 200);
    // Another user's session never died.
    let (_, other) = stack.new_session().await;
    assert_eq!(
        me_at(&stack, &stack.profile, &other.access_token).await,
        200
    );
}

#[tokio::test]
async fn reuse_detection_kills_the_stolen_session_at_the_profile_service_too() {
    let stack = TestStack::builder()
        .events()
        .auth_env("REFRESH_REUSE_GRACE_SECONDS", "0")
        .start()
        .await;
    let (_, first) = stack.new_session().await;
    let second: TokenResponse = stack.refresh(&first.refresh_token).await.expect(200);
    assert_eq!(
        me_at(&stack, &stack.profile, &second.access_token).await,
        200
    );
    stack
        .refresh(&first.refresh_token)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    until_refused(&stack, &stack.profile, &second.access_token, WITHIN).await;
}

#[tokio::test]
async fn a_deleted_account_leaves_no_profile_and_its_email_starts_afresh() {
    let stack = TestStack::builder().events().start().await;
    let (email, tokens) = stack.new_session().await;
    stack
        .patch_me(
            &tokens.access_token,
            &json!({"display_name": "Ada", "bio": "old"}),
        )
        .await
        .expect::<Value>(200);
    let user = user_of(&tokens);
    delete_account(&stack, &tokens.access_token).await;
    until_refused(&stack, &stack.profile, &tokens.access_token, WITHIN).await;
    let mut profiles = stack.profile.db();
    let sql = format!("SELECT count(*) FROM profiles WHERE user_id = '{user}'");
    assert_eq!(db::count(&mut profiles, &sql), 0, "profile orphaned");
    // A PATCH with the old token neither works nor recreates the row.
    stack
        .patch_me(&tokens.access_token, &json!({"bio": "back"}))
        .await
        .expect_error(401, ErrorCode::InvalidToken);
    assert_eq!(db::count(&mut profiles, &sql), 0);
    // The same email: a new id, an empty profile.
    let created: Value = stack.signup(&email, PASSWORD).await.expect(201);
    assert_ne!(created["id"].as_str(), Some(user.as_str()));
    let fresh: TokenResponse = stack.login(&email, PASSWORD).await.expect(200);
    let profile: Value = stack.me(&fresh.access_token).await.expect(200);
    assert_eq!(profile["display_name"], Value::Null);
    assert_eq!(profile["bio"], Value::Null);
    // Nothing left to deliver.
    wait_all_delivered(&stack).await;
}

#[tokio::test]
async fn events_written_while_the_profile_service_was_down_hold_from_its_first_ready_answer() {
    let mut stack = TestStack::builder().events().start().await;
    let (_, leaving) = stack.new_session().await;
    let (_, deleting) = stack.new_session().await;
    stack
        .patch_me(&deleting.access_token, &json!({"bio": "to go"}))
        .await
        .expect::<Value>(200);
    let _ = stack.profile.child.kill();
    let _ = stack.profile.child.wait();
    stack
        .logout(&leaving.refresh_token)
        .await
        .expect_status(204);
    delete_account(&stack, &deleting.access_token).await;
    // The runner tried and backs off; nothing is lost.
    db::wait_for_count(
        &mut stack.auth.db(),
        "SELECT count(*) FROM event_outbox WHERE attempts > 0",
        |n| n == 2,
        Duration::from_secs(10),
    )
    .await;
    stack.restart("profile-service", &[]);
    // From the first 200 of /readyz, both tokens are refused.
    let ready = stack.profile_url("/readyz");
    let started = Instant::now();
    while send(stack.client.get(&ready)).await.status != 200 {
        assert!(started.elapsed() < Duration::from_secs(30), "never ready");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("profile ready {:?} after it listened", started.elapsed());
    for token in [&leaving.access_token, &deleting.access_token] {
        assert_eq!(me_at(&stack, &stack.profile, token).await, 401);
    }
    let mut profiles = stack.profile.db();
    let user = user_of(&deleting);
    let sql = format!("SELECT count(*) FROM profiles WHERE user_id = '{user}'");
    assert_eq!(db::count(&mut profiles, &sql), 0);
    // Every event delivered, each applied once.
    assert_eq!(pending_events(&stack), 0);
    assert_eq!(
        db::count(&mut profiles, "SELECT count(*) FROM received_events"),
        2
    );
    // A restart after the revocations: still refused (stored, reloaded).
    stack.restart("profile-service", &[]);
    for token in [&leaving.access_token, &deleting.access_token] {
        assert_eq!(me_at(&stack, &stack.profile, token).await, 401);
    }
}

#[tokio::test]
async fn an_event_committed_before_a_kill_9_of_the_auth_service_still_arrives() {
    let mut stack = TestStack::builder().events().start().await;
    let (_, tokens) = stack.new_session().await;
    // The receiver down, so the event cannot leave before the kill.
    let _ = stack.profile.child.kill();
    let _ = stack.profile.child.wait();
    stack.logout(&tokens.refresh_token).await.expect_status(204);
    stack.auth.child.kill().unwrap_or_else(|e| panic!("{e}")); // SIGKILL
    let _ = stack.auth.child.wait();
    assert_eq!(pending_events(&stack), 1, "committed with the logout");
    stack.restart("profile-service", &[]);
    stack.restart("auth-service", &[]);
    until_refused(
        &stack,
        &stack.profile,
        &tokens.access_token,
        Duration::from_secs(40),
    )
    .await;
    wait_all_delivered(&stack).await;
}

#[tokio::test]
async fn two_auth_processes_deliver_each_event_once() {
    let stack = TestStack::builder().events().start().await;
    let mut second = stack.start_another("auth-service", &stack.auth.database_url);
    second.wait_listening(Duration::from_secs(30));
    let mut tokens = Vec::new();
    for _ in 0..10 {
        tokens.push(stack.new_session().await.1);
    }
    for token in &tokens {
        stack.logout(&token.refresh_token).await.expect_status(204);
    }
    for token in &tokens {
        until_refused(&stack, &stack.profile, &token.access_token, WITHIN * 3).await;
    }
    wait_all_delivered(&stack).await;
    let logs = stack.profile.logs();
    let applied = logs
        .iter()
        .filter(|l| l.contains("\"event applied\""))
        .count();
    let again = logs
        .iter()
        .filter(|l| l.contains("event already applied"))
        .count();
    println!("deliveries: {applied} applied, {again} redelivered");
    assert_eq!(applied, tokens.len(), "each event applied once");
    assert_eq!(again, 0, "no event delivered twice");
    let _ = second.child.kill();
    let _ = second.child.wait();
}

/// A delivery the test makes itself.
async fn deliver(
    stack: &TestStack,
    id: &str,
    timestamp: i64,
    body: &str,
    signature: Option<&str>,
) -> Reply {
    let (endpoint, _) = stack
        .events_endpoint()
        .unwrap_or_else(|| panic!("events are off"));
    let mut request = stack
        .client
        .post(endpoint)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("webhook-signature", signature);
    }
    send(request).await
}

#[tokio::test]
async fn forged_replayed_stale_and_unsigned_events_change_nothing() {
    let stack = TestStack::builder().events().start().await;
    let (_, tokens) = stack.new_session().await;
    let claims = unverified_claims(&tokens.access_token);
    let body = json!({
        "type": "session.revoked",
        "timestamp": chrono::Utc::now(),
        "data": {"user_id": claims["sub"], "session_id": claims["sid"], "expires_at": chrono::Utc::now() + chrono::Duration::hours(1)},
    })
    .to_string();
    let (_, secret_text) = stack
        .events_endpoint()
        .unwrap_or_else(|| panic!("events are off"));
    let secret = EventSecret::parse(&secret_text.clone().into()).unwrap_or_else(|e| panic!("{e}"));
    let forger =
        EventSecret::parse(&EventSecret::generate().into()).unwrap_or_else(|e| panic!("{e}"));
    let now = chrono::Utc::now().timestamp();
    let stale = now - 600;
    for (case, id, at, signature, status) in [
        ("unsigned", "msg_unsigned", now, None, 401),
        (
            "forged",
            "msg_forged",
            now,
            Some(forger.sign("msg_forged", now, &body)),
            401,
        ),
        (
            "signed for another id",
            "msg_other",
            now,
            Some(secret.sign("msg_real", now, &body)),
            401,
        ),
        (
            "stale",
            "msg_stale",
            stale,
            Some(secret.sign("msg_stale", stale, &body)),
            400,
        ),
    ] {
        let reply = deliver(&stack, id, at, &body, signature.as_deref()).await;
        assert_eq!(reply.status, status, "{case}: {}", reply.body);
        let error: Value =
            serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert!(
            error["error"].is_string() && error["detail"].is_string(),
            "{case}: {error}"
        );
        assert_eq!(
            me_at(&stack, &stack.profile, &tokens.access_token).await,
            200,
            "{case}"
        );
    }
    // Garbage that is signed is a 400, not a 5xx.
    let junk = "{\"type\": \"session.revoked\", \"data\": 3}";
    let reply = deliver(
        &stack,
        "msg_junk",
        now,
        junk,
        Some(&secret.sign("msg_junk", now, junk)),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    // A genuine delivery works; its replay is 204 and changes nothing more.
    let signature = secret.sign("msg_genuine", now, &body);
    deliver(&stack, "msg_genuine", now, &body, Some(&signature))
        .await
        .expect_status(204);
    assert_eq!(
        me_at(&stack, &stack.profile, &tokens.access_token).await,
        401
    );
    deliver(&stack, "msg_genuine", now, &body, Some(&signature))
        .await
        .expect_status(204);
    let mut profiles = stack.profile.db();
    assert_eq!(
        db::count(
            &mut profiles,
            "SELECT count(*) FROM received_events WHERE webhook_id IN \
             ('msg_unsigned', 'msg_forged', 'msg_other', 'msg_real', 'msg_stale', 'msg_junk')"
        ),
        0,
        "a refused delivery left a trace"
    );
    assert_eq!(
        db::count(
            &mut profiles,
            "SELECT count(*) FROM received_events WHERE webhook_id = 'msg_genuine'"
        ),
        1
    );
    // The public port has no /events.
    send(
        stack
            .client
            .post(stack.profile_url("/events"))
            .header("webhook-id", "msg_genuine")
            .body(body),
    )
    .await
    .expect_error(404, ErrorCode::NotFound);
}

#[tokio::test]
async fn without_events_the_stack_runs_as_before() {
    let stack = TestStack::start().await;
    let (_, tokens) = stack.new_session().await;
    stack.logout(&tokens.refresh_token).await.expect_status(204);
    // Revocation waits for exp, as the contract says without EVENT_ENDPOINTS.
    assert_eq!(
        me_at(&stack, &stack.profile, &tokens.access_token).await,
        200
    );
    assert_eq!(pending_events(&stack), 0);
}
