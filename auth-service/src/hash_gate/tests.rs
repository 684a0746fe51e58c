//! The gate's rules: shed past the queue, time out, give a dropped
//! waiter's place back, and keep each client network to its share.

#![allow(clippy::unwrap_used)]

use super::*;

fn client(last: u8) -> IpAddr {
    IpAddr::from([203, 0, 113, last])
}

/// Yields until the gate has `expected` waiting, for at most a second.
async fn until_waiting(gate: &HashGate, expected: usize) {
    let waited = tokio::time::timeout(Duration::from_secs(1), async {
        while gate.waiting() != expected {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "{} waiting, expected {expected}",
        gate.waiting()
    );
}

fn spawn_waiter(gate: &Arc<HashGate>, from: IpAddr) -> tokio::task::JoinHandle<Result<(), Shed>> {
    let gate = Arc::clone(gate);
    tokio::spawn(async move { gate.enter(from).await.map(drop) })
}

#[tokio::test]
async fn past_the_queue_requests_are_shed_at_once_and_waiters_time_out() {
    let gate = Arc::new(HashGate::new(1, 1, Duration::from_millis(200)));
    let held = gate.enter(client(1)).await.unwrap();
    let waiter = spawn_waiter(&gate, client(2));
    until_waiting(&gate, 1).await;
    assert_eq!(gate.enter(client(3)).await.err(), Some(Shed::QueueFull));
    assert_eq!(waiter.await.unwrap(), Err(Shed::TimedOut));
    drop(held);
    assert!(gate.enter(client(3)).await.is_ok());
}

#[tokio::test]
async fn a_waiter_dropped_with_its_request_leaves_the_queue_and_never_gets_a_slot() {
    let gate = Arc::new(HashGate::new(1, 2, Duration::from_secs(600)));
    let held = gate.enter(client(1)).await.unwrap();
    let abandoned = [
        spawn_waiter(&gate, client(2)),
        spawn_waiter(&gate, client(3)),
    ];
    until_waiting(&gate, 2).await;
    assert!(gate.is_full_for(client(4)));
    // What actix does with a request whose client has gone: drop it.
    for waiter in &abandoned {
        waiter.abort();
    }
    for waiter in abandoned {
        assert!(waiter.await.unwrap_err().is_cancelled());
    }
    until_waiting(&gate, 0).await;
    assert!(!gate.is_full_for(client(4)));
    let next = spawn_waiter(&gate, client(4));
    until_waiting(&gate, 1).await;
    drop(held);
    assert_eq!(next.await.unwrap(), Ok(()));
    assert_eq!(gate.permits.available_permits(), 1, "no slot leaked");
}

#[tokio::test]
async fn one_client_network_holds_at_most_a_quarter_of_the_waiting_places() {
    let gate = Arc::new(HashGate::new(1, 8, Duration::from_secs(600)));
    let held = gate.enter(client(1)).await.unwrap();
    let storm = [
        spawn_waiter(&gate, client(1)),
        spawn_waiter(&gate, client(1)),
    ];
    until_waiting(&gate, 2).await;
    assert!(gate.is_full_for(client(1)));
    assert_eq!(gate.enter(client(1)).await.err(), Some(Shed::ClientShare));
    assert!(!gate.is_full_for(client(2)), "others still get in");
    let others: Vec<_> = (2..8).map(|n| spawn_waiter(&gate, client(n))).collect();
    until_waiting(&gate, 8).await;
    assert_eq!(gate.enter(client(9)).await.err(), Some(Shed::QueueFull));
    drop(held);
    for waiter in storm.into_iter().chain(others) {
        assert_eq!(waiter.await.unwrap(), Ok(()));
    }
    assert_eq!(gate.waiting(), 0);
}
