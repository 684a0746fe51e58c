//! The line in front of the database pool: requests waiting for a
//! connection wait on the async workers, holding no blocking thread, and
//! are all served once a connection comes free.

use std::time::{Duration, Instant};

use serde_json::json;
use shared::api::ProfileResponse;
use tokio::task::block_in_place;

use crate::support::client::send;
use crate::support::stack::TestStack;

/// How many requests queue behind the held connection.
const WAITING: usize = 40;

/// The threads of process `pid` now.
fn threads(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .map(|count| count.trim().parse().unwrap())
        .unwrap()
}

/// The value of the gauge `series` (name and labels) on the metrics
/// listener at `url`, 0 when absent.
async fn gauge(stack: &TestStack, url: &str, series: &str) -> f64 {
    let text = send(stack.client.get(url)).await.body;
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_waiting_for_a_connection_hold_no_thread_and_are_all_served() {
    let stack = TestStack::builder()
        .profile_env("DB_POOL_MAX_SIZE", "1")
        .profile_env("DB_CONNECT_TIMEOUT_SECONDS", "30")
        .profile_env("PROFILE_CACHE_SIZE", "0")
        .start()
        .await;
    let (_, holder) = stack.new_session().await;
    let (_, reader) = stack.new_session().await;
    let holder_id = stack
        .me(&holder.access_token)
        .await
        .expect::<ProfileResponse>(200)
        .id;
    let read: ProfileResponse = stack.me(&reader.access_token).await.expect(200);

    // The holder's PATCH takes the one connection and waits on a row lock
    // taken from outside (for up to the 5 s lock timeout).
    let mut db = stack.profile.db();
    block_in_place(|| {
        crate::support::db::execute(&mut db, "BEGIN");
        crate::support::db::execute(
            &mut db,
            &format!("SELECT 1 FROM profiles WHERE user_id = '{holder_id}' FOR UPDATE"),
        );
    });
    let patch = tokio::spawn(send(
        stack
            .client
            .patch(stack.profile_url("/me"))
            .bearer_auth(&holder.access_token)
            .json(&json!({"bio": "held"})),
    ));
    // (A second connection: statistics are a snapshot per transaction.)
    let mut watcher = stack.profile.db();
    // (Other tests share the server: only this database's waiters count.)
    let blocked = "SELECT count(*) AS count FROM pg_stat_activity \
                   WHERE wait_event_type = 'Lock' AND datname = current_database() \
                   AND pid <> pg_backend_pid()";
    // Both waits below must end within the 5 s lock timeout.
    let budget = Duration::from_secs(4);
    let started = Instant::now();
    while block_in_place(|| crate::support::db::count(&mut watcher, blocked)) < 1 {
        assert!(
            started.elapsed() < budget,
            "the PATCH never waited on the lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid = stack.profile.pid();
    let before = threads(pid);

    let gets: Vec<_> = (0..WAITING)
        .map(|_| {
            tokio::spawn(send(
                stack
                    .client
                    .get(stack.profile_url("/me"))
                    .bearer_auth(&reader.access_token),
            ))
        })
        .collect();
    let metrics = &stack.profile.metrics_url;
    let waiting = "db_pool_waiting{service=\"profile-service\"}";
    while gauge(&stack, metrics, waiting).await < WAITING as f64 {
        assert!(
            started.elapsed() < budget,
            "{WAITING} reads never all waited in line (db_pool_waiting = {})",
            gauge(&stack, metrics, waiting).await
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A blocking thread per waiting request would show here; a few more
    // threads may come from elsewhere (the tokio runtime, a connection).
    let during = threads(pid);
    assert!(
        during <= before + 4,
        "{WAITING} requests waiting for a connection took {} threads ({before} → {during})",
        during.saturating_sub(before)
    );

    block_in_place(|| crate::support::db::execute(&mut db, "ROLLBACK"));
    let patched: ProfileResponse = patch.await.unwrap().expect(200);
    assert_eq!(patched.bio.as_deref(), Some("held"));
    for get in gets {
        let got: ProfileResponse = get.await.unwrap().expect(200);
        assert_eq!(got, read);
    }
    assert_eq!(gauge(&stack, metrics, waiting).await, 0.0);
}
