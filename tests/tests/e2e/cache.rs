//! The profile cache across replicas (a change through one is visible on
//! every other at once, also when a replica's listener connection is
//! killed), and the read path's single retry after a database restart.

use std::time::{Duration, Instant};

use serde_json::json;
use shared::api::ProfileResponse;

use crate::support::client::send;
use crate::support::service::Service;
use crate::support::stack::TestStack;

const LISTENING: &str = "profile cache listening for changes";

fn times_listening(replica: &Service) -> usize {
    replica
        .logs()
        .iter()
        .filter(|line| line.contains(LISTENING))
        .count()
}

/// Waits until `replica` has logged that it listens `times` times.
fn wait_listening_times(replica: &Service, times: usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while times_listening(replica) < times {
        assert!(
            Instant::now() < deadline,
            "the listener did not (re)connect: {:#?}",
            replica.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn bio_on(stack: &TestStack, replica: &Service, token: &str) -> Option<String> {
    let reply = send(
        stack
            .client
            .get(format!("{}/me", replica.base_url))
            .bearer_auth(token),
    )
    .await;
    reply.expect::<ProfileResponse>(200).bio
}

/// Polls `replica` for at most a second until it shows `bio`.
async fn sees_within_a_second(stack: &TestStack, replica: &Service, token: &str, bio: &str) {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let seen = bio_on(stack, replica, token).await;
        if seen.as_deref() == Some(bio) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} still serves {seen:?} a second after the change to {bio:?}",
            replica.base_url
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A counter of the replica's, 0 before its first increment.
async fn counter(stack: &TestStack, replica: &Service, series: &str) -> u64 {
    let text = send(stack.client.get(&replica.metrics_url)).await.body;
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0, |count| count.parse().unwrap())
}

async fn cache_hits(stack: &TestStack, replica: &Service) -> u64 {
    counter(
        stack,
        replica,
        "profile_cache_lookups_total{service=\"profile-service\",outcome=\"hit\"}",
    )
    .await
}

/// Waits until the replica's listener has heard `count` changes (so no
/// echo of an earlier change is still on its way).
async fn heard(stack: &TestStack, replica: &Service, count: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while counter(
        stack,
        replica,
        "profile_cache_notifications_total{service=\"profile-service\"}",
    )
    .await
        < count
    {
        assert!(
            Instant::now() < deadline,
            "{} heard of fewer than {count} changes",
            replica.base_url
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reads through `replica` until it answers `bio` from its cache (a read
/// that raced the echo of an earlier change is not kept).
async fn serves_from_cache(stack: &TestStack, replica: &Service, token: &str, bio: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let hits = cache_hits(stack, replica).await;
        assert_eq!(bio_on(stack, replica, token).await.as_deref(), Some(bio));
        if cache_hits(stack, replica).await > hits {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never served from its cache",
            replica.base_url
        );
    }
}

async fn patch_bio(stack: &TestStack, replica: &Service, token: &str, bio: &str) {
    send(
        stack
            .client
            .patch(format!("{}/me", replica.base_url))
            .bearer_auth(token)
            .json(&json!({ "bio": bio })),
    )
    .await
    .expect::<ProfileResponse>(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_one_replica_is_seen_by_the_other_at_once_even_after_its_listener_dies() {
    // A long TTL: without the notifications, B would serve the old bio for
    // five minutes.
    let stack = TestStack::builder()
        .profile_env("PROFILE_CACHE_TTL_SECONDS", "300")
        .start()
        .await;
    let a = &stack.profile;
    let mut b = stack.start_another("profile-service", &a.database_url);
    tokio::task::block_in_place(|| {
        b.wait_listening(Duration::from_secs(30));
        wait_listening_times(a, 1);
        wait_listening_times(&b, 1);
    });
    let (_, tokens) = stack.new_session().await;
    let token = &tokens.access_token;

    patch_bio(&stack, a, token, "first").await;
    // B reads the profile into its cache (and serves it from there).
    assert_eq!(bio_on(&stack, &b, token).await.as_deref(), Some("first"));
    assert_eq!(bio_on(&stack, &b, token).await.as_deref(), Some("first"));

    patch_bio(&stack, a, token, "second").await;
    sees_within_a_second(&stack, &b, token, "second").await;
    // And the other way round.
    patch_bio(&stack, &b, token, "third").await;
    sees_within_a_second(&stack, a, token, "third").await;
    // Both replicas now serve "third" from their caches (after the echoes
    // of the three changes, which would evict it) ...
    heard(&stack, a, 3).await;
    heard(&stack, &b, 3).await;
    serves_from_cache(&stack, &b, token, "third").await;
    // ... and a change through A evicts it from B's.
    patch_bio(&stack, a, token, "warm").await;
    sees_within_a_second(&stack, &b, token, "warm").await;
    heard(&stack, a, 4).await;
    heard(&stack, &b, 4).await;
    serves_from_cache(&stack, &b, token, "warm").await;
    serves_from_cache(&stack, a, token, "warm").await;

    // Kill every listener connection and keep them from coming back (the
    // pools keep the connections they have): the replicas must not serve
    // what they can no longer hear about.
    // (A database's connections are switched off from another one.)
    let (server, database) = a.database_url.rsplit_once('/').unwrap();
    let mut admin = {
        use diesel::Connection;
        diesel::PgConnection::establish(&format!("{server}/postgres")).unwrap()
    };
    let sql = |db: &mut diesel::PgConnection, sql: &str| {
        use diesel::RunQueryDsl;
        tokio::task::block_in_place(|| diesel::sql_query(sql).execute(db).unwrap())
    };
    sql(
        &mut admin,
        &format!("ALTER DATABASE \"{database}\" WITH ALLOW_CONNECTIONS false"),
    );
    let listeners = format!(
        "FROM pg_stat_activity WHERE application_name = '{}' AND datname = '{database}'",
        profile_service::testing::LISTENER_APPLICATION_NAME
    );
    let killed = sql(
        &mut admin,
        &format!("SELECT pg_terminate_backend(pid) {listeners}"),
    );
    let listeners = format!("SELECT pid {listeners}");
    assert_eq!(killed, 2, "one listener per replica");
    // pg_terminate_backend only signals: wait until the backends are gone
    // (a dying one could still deliver the next notification).
    let deadline = Instant::now() + Duration::from_secs(5);
    while sql(&mut admin, &listeners) > 0 {
        assert!(Instant::now() < deadline, "the listeners did not die");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    patch_bio(&stack, a, token, "fourth").await;
    sees_within_a_second(&stack, &b, token, "fourth").await;
    patch_bio(&stack, &b, token, "fifth").await;
    sees_within_a_second(&stack, a, token, "fifth").await;
    assert_eq!(times_listening(a), 1, "the listener cannot be back yet");

    sql(
        &mut admin,
        &format!("ALTER DATABASE \"{database}\" WITH ALLOW_CONNECTIONS true"),
    );
    tokio::task::block_in_place(|| {
        wait_listening_times(a, 2);
        wait_listening_times(&b, 2);
    });
    assert_eq!(bio_on(&stack, &b, token).await.as_deref(), Some("fifth"));
    patch_bio(&stack, a, token, "sixth").await;
    sees_within_a_second(&stack, &b, token, "sixth").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_costs_a_read_nothing_once_the_database_is_back() {
    // The cache off: every GET /me goes to the database.
    let mut stack = TestStack::builder()
        .own_server()
        .profile_env("PROFILE_CACHE_SIZE", "0")
        .start()
        .await;
    let mut tokens = Vec::new();
    for _ in 0..6 {
        tokens.push(stack.new_session().await.1.access_token);
    }
    // Several pooled connections open at once.
    let client = stack.client.clone();
    let url = stack.profile_url("/me");
    let gets = |tokens: Vec<String>| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let replies = tokens.iter().map(|token| {
                let request = client.get(&url).bearer_auth(token);
                async move { send(request).await.status.as_u16() }
            });
            futures::future::join_all(replies).await
        }
    };
    assert_eq!(gets(tokens.clone()).await, [200; 6]);

    let idle_from = Instant::now();
    stack.stop_database().await;
    stack.start_database().await;
    // Every pooled connection is now dead. Each read finds its connection
    // broken and runs once more on a fresh one (or, if the restart took
    // longer than IDLE_PING, a checkout ping finds it first): no 503
    // reaches the client.
    let gets_began_within_idle_ping =
        idle_from.elapsed() + Duration::from_secs(1) < service_kit::db::IDLE_PING;
    assert_eq!(gets(tokens.clone()).await, [200; 6]);
    assert_eq!(gets(tokens).await, [200; 6]);
    // (Not because a connection survived the restart.)
    let broken = counter(
        &stack,
        &stack.profile,
        "db_connections_broken_total{service=\"profile-service\"}",
    )
    .await;
    assert!(broken >= 1, "no broken connection was noticed");
    let retries = counter(
        &stack,
        &stack.profile,
        "db_retries_total{service=\"profile-service\"}",
    )
    .await;
    // A slow restart (a loaded machine) leaves every connection idle past
    // IDLE_PING: then the checkout ping, not the retry, replaces them.
    if gets_began_within_idle_ping {
        assert!(retries >= 1, "no read ran again on a fresh connection");
    }
}
