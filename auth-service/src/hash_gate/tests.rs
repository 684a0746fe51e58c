//! The gate's rules: shed past the queue, time out, give a dropped
//! waiter's place back, keep each client network to its share, and serve
//! the networks in turn.

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
    assert_eq!(gate.in_use(), 0, "no slot leaked");
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

#[tokio::test]
async fn a_freed_slot_goes_to_the_client_networks_in_turn() {
    let gate = Arc::new(HashGate::new(1, 8, Duration::from_secs(600)));
    let held = gate.enter(client(9)).await.unwrap();
    let served = Arc::new(Mutex::new(Vec::new()));
    let mut waiters = Vec::new();
    // The storming network queued first, twice; then two others.
    for (name, from) in [("a1", 1), ("a2", 1), ("b", 2), ("c", 3)] {
        let (own, served) = (Arc::clone(&gate), Arc::clone(&served));
        waiters.push(tokio::spawn(async move {
            let slot = own.enter(client(from)).await;
            served.lock().unwrap().push(name);
            drop(slot);
        }));
        until_waiting(&gate, waiters.len()).await;
    }
    drop(held);
    for waiter in waiters {
        waiter.await.unwrap();
    }
    assert_eq!(*served.lock().unwrap(), ["a1", "b", "c", "a2"]);
}

#[tokio::test]
async fn a_slot_sent_to_a_waiter_that_just_went_away_goes_on_to_the_next() {
    let gate = Arc::new(HashGate::new(1, 4, Duration::from_secs(600)));
    let held = gate.enter(client(1)).await.unwrap();
    let gone = spawn_waiter(&gate, client(2));
    let next = spawn_waiter(&gate, client(3));
    until_waiting(&gate, 2).await;
    // The slot is handed to `gone` as its task is cancelled.
    drop(held);
    gone.abort();
    let _ = gone.await;
    assert_eq!(next.await.unwrap(), Ok(()));
    assert_eq!((gate.in_use(), gate.waiting()), (0, 0), "nothing leaked");
}
