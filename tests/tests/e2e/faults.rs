//! Faults under load: nothing acknowledged is lost. Eight clients drive a
//! mixed load (signups, logins, refreshes, `GET`/`PATCH /me`) and keep a
//! ledger of what the services said succeeded, while the database stops
//! hard, auth-service is killed mid-rotation, or the pool runs dry; then
//! every acknowledged write is read back, through the API and in SQL.
//!
//! Through every fault, nothing but 2xx and the contract's 503 comes back,
//! and two refreshes of one token never get different successors. A hard
//! database stop is ridden out by the same processes, each request
//! answered; a killed auth-service leaves no session with a forked or
//! doubled chain of refresh tokens; an exhausted pool answers within its
//! connect and statement timeouts, and recovers once the rows are released.

mod chains;
mod ledger;
mod load;
mod requests;
mod tally;
mod verify;

use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use tokio::task::block_in_place;

use crate::support::stack::TestStack;

use chains::{chains, check_chains, held_used};
use ledger::Ledger;
use load::{CLIENTS, Client, Load, fresh, recover, wait_until};
use requests::{Api, HANG, MIXED, Op, PROFILE_VICTIM, ROTATIONS, SESSION_VICTIM};
use tally::{AFTER, FAULT, Key, RECOVERING, Tally};
use verify::{report, verify_all};

/// Longer than any test: a client that never heard back from a refresh
/// retries its token, and must get the successor already issued rather
/// than have its session revoked for reuse.
const GRACE: &str = "600";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hard_database_stop_under_load_loses_no_acknowledged_write() {
    let test = "database stop";
    let started = Instant::now();
    let mut stack = TestStack::builder()
        .own_server()
        .auth_env("DB_CONNECT_TIMEOUT_SECONDS", "1")
        .profile_env("DB_CONNECT_TIMEOUT_SECONDS", "1")
        .auth_env("REFRESH_REUSE_GRACE_SECONDS", GRACE)
        .start()
        .await;
    // The throwaway server runs with synchronous_commit=off, under which a
    // crash may drop commits already acknowledged: durable commits are the
    // premise of "nothing acknowledged is lost". The setting applies to new
    // connections, so the services start again (before any load).
    for db in ["auth", "profile"] {
        stack.own_server_execute(&format!("ALTER DATABASE {db} SET synchronous_commit = on"));
    }
    block_in_place(|| {
        stack.restart("auth-service", &[]);
        stack.restart("profile-service", &[]);
    });
    let pids = (stack.auth.pid(), stack.profile.pid());
    let api = Api::of(&stack);
    let load = Load::start(&api, MIXED);
    let tally = Arc::clone(&load.tally);
    wait_until("the load is under way", HANG, || tally.acked() >= 200).await;

    tally.set_phase(FAULT);
    stack.stop_database().await;
    let seen = |k: &Key| k.0 == "fault" && k.3 == "503";
    let outage = wait_until("503s in the outage", HANG, || {
        tally.count(seen) >= 3 * CLIENTS
    })
    .await;
    stack.start_database().await;
    tally.set_phase(RECOVERING);
    let probe = load.client(&api, "probe");
    let mut ledgers = Vec::new();
    let recovery = recover(&probe, Duration::from_secs(30), &mut ledgers).await;
    tally.set_phase(AFTER);
    let acked = tally.acked();
    wait_until("load after recovery", HANG, || tally.acked() >= acked + 100).await;
    ledgers.extend(load.finish().await);

    // Recovered by themselves: the same processes, still running.
    assert_eq!((stack.auth.pid(), stack.profile.pid()), pids);
    for service in [&mut stack.auth, &mut stack.profile] {
        assert!(
            matches!(service.child.try_wait(), Ok(None)),
            "a service exited"
        );
    }
    let lost = verify_all(&probe, &ledgers, &mut stack.profile.db()).await;
    eprintln!(
        "{test}: outage {outage:.1?} after the stop, recovered {recovery:.1?} after the start"
    );
    report(test, &tally, &ledgers, &lost, false);
    check_chains(test, "after", &chains(&mut stack.auth.db()));
    eprintln!("{test}: wall {:.1?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_auth_service_mid_rotation_forks_no_session_and_loses_no_pair() {
    const KILLS: usize = 4;
    let test = "auth kill";
    let started = Instant::now();
    let mut stack = TestStack::builder()
        .auth_env("REFRESH_REUSE_GRACE_SECONDS", GRACE)
        .start()
        .await;
    let tally: Arc<Tally> = Arc::default();
    let mut ledgers = fresh();
    let refreshed = |k: &Key| k.2 == "refresh" || k.2 == "two tabs";
    let (mut in_flight, mut unacked) = (Vec::new(), 0);
    for round in 1..=KILLS {
        let load = Load::resume(&Api::of(&stack), ROTATIONS, ledgers, Arc::clone(&tally));
        let acked = |k: &Key| refreshed(k) && k.3 == "200";
        wait_until("rotations under way", HANG, || {
            tally.count(acked) >= 150 * round
        })
        .await;
        tally.set_phase(FAULT);
        in_flight.push(tally.in_flight.load(SeqCst));
        stack.auth.child.kill().unwrap(); // SIGKILL
        let killed = block_in_place(|| stack.auth.wait_exit(HANG));
        assert!(killed.is_some(), "auth-service did not die");
        ledgers = load.finish().await;
        let mut db = stack.auth.db();
        check_chains(test, &format!("kill {round}"), &chains(&mut db));
        unacked += held_used(&mut db, &ledgers);
        block_in_place(|| stack.restart("auth-service", &[]));
        tally.set_phase(AFTER);
    }
    let cut = tally.count(|k| refreshed(k) && k.3 == "transport");
    eprintln!("{test}: requests in flight at each kill {in_flight:?}, refreshes cut off {cut}");
    eprintln!("{test}: rotations committed whose 200 never came: {unacked}");
    assert!(
        in_flight.iter().all(|n| *n > 0),
        "a kill came between requests"
    );

    let checker = Client::new(&Api::of(&stack), "check", &tally, &Arc::default());
    let lost = verify_all(&checker, &ledgers, &mut stack.profile.db()).await;
    report(test, &tally, &ledgers, &lost, true);
    check_chains(test, "after the checks", &chains(&mut stack.auth.db()));
    eprintln!("{test}: wall {:.1?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_pool_answers_503_within_the_bound_and_recovers() {
    let test = "pool exhausted";
    let started = Instant::now();
    let mut builder = TestStack::builder().auth_env("REFRESH_REUSE_GRACE_SECONDS", GRACE);
    for (name, value) in [
        ("DB_POOL_MAX_SIZE", "1"),
        ("DB_CONNECT_TIMEOUT_SECONDS", "1"),
    ] {
        builder = builder.auth_env(name, value).profile_env(name, value);
    }
    let stack = builder.start().await;
    let api = Api::of(&stack);
    let mut load = Load::start(&api, MIXED);
    let tally = Arc::clone(&load.tally);
    // Two victims, whose session and profile rows get locked from outside
    // before they start: each of their requests then holds its service's
    // one pooled connection for up to the lock timeout, and the load waits.
    let victim = load.client(&api, "victim");
    let (mut session_victim, mut profile_victim) = (Ledger::default(), Ledger::default());
    for ledger in [&mut session_victim, &mut profile_victim] {
        for op in [Op::Signup, Op::Login, Op::Me] {
            assert!(victim.step(op, ledger).await, "victim {op:?}");
        }
    }
    let claims = |l: &Ledger| {
        let token = &l.accounts[0].chains[0].refresh_token;
        crate::support::jwt::claims_of(token, &stack.refresh_secret)
    };
    let sid = claims(&session_victim)["sid"].as_str().unwrap().to_owned();
    let user = claims(&profile_victim)["sub"].as_str().unwrap().to_owned();
    wait_until("the load is under way", HANG, || tally.acked() >= 200).await;

    let (mut auth_db, mut profile_db) = (stack.auth.db(), stack.profile.db());
    block_in_place(|| {
        crate::support::db::execute(&mut auth_db, "BEGIN");
        crate::support::db::execute(
            &mut auth_db,
            &format!("SELECT 1 FROM sessions WHERE id = '{sid}' FOR UPDATE"),
        );
        crate::support::db::execute(&mut profile_db, "BEGIN");
        crate::support::db::execute(
            &mut profile_db,
            &format!("SELECT 1 FROM profiles WHERE user_id = '{user}' FOR UPDATE"),
        );
    });
    tally.set_phase(FAULT);
    let victims = [
        (SESSION_VICTIM, session_victim),
        (PROFILE_VICTIM, profile_victim),
    ];
    for (ops, ledger) in victims {
        load.tasks
            .push(tokio::spawn(victim.clone().run(ops, ledger)));
    }
    let unavailable = |who: &'static str, ops: &'static [&'static str]| {
        move |k: &Key| k.0 == "fault" && k.1 == who && ops.contains(&k.2) && k.3 == "503"
    };
    let (auth_ops, profile_ops): (&[&str], &[&str]) =
        (&["signup", "login", "refresh"], &["me", "patch"]);
    let exhausted = || {
        tally.count(unavailable("victim", auth_ops)) >= 1
            && tally.count(unavailable("victim", profile_ops)) >= 1
            && tally.count(unavailable("load", auth_ops)) >= CLIENTS
            && tally.count(unavailable("load", profile_ops)) >= CLIENTS
    };
    let held = wait_until("503s from both exhausted pools", HANG, exhausted).await;
    block_in_place(|| {
        crate::support::db::execute(&mut auth_db, "ROLLBACK");
        crate::support::db::execute(&mut profile_db, "ROLLBACK");
    });
    tally.set_phase(RECOVERING);
    let probe = load.client(&api, "probe");
    let mut ledgers = Vec::new();
    let recovery = recover(&probe, Duration::from_secs(30), &mut ledgers).await;
    tally.set_phase(AFTER);
    let acked = tally.acked();
    wait_until("load after recovery", HANG, || tally.acked() >= acked + 100).await;
    ledgers.extend(load.finish().await);

    let lost = verify_all(&probe, &ledgers, &mut profile_db).await;
    eprintln!("{test}: rows held {held:.1?}, recovered {recovery:.1?} after the release");
    report(test, &tally, &ledgers, &lost, false);
    check_chains(test, "after", &chains(&mut auth_db));
    // DB_CONNECT_TIMEOUT_SECONDS + the statement/lock timeout + a margin.
    let bound =
        Duration::from_secs(1) + service_kit::db::STATEMENT_TIMEOUT + Duration::from_secs(4);
    let slowest = tally.slowest();
    assert!(slowest <= bound, "a reply took {slowest:?}, over {bound:?}");
    eprintln!("{test}: wall {:.1?}", started.elapsed());
}
