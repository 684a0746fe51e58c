//! The clients that drive the load: each steps through its requests,
//! notes in its ledger what was acknowledged and in the tally what came
//! back, until the test stops them and takes the ledgers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::support::client::{Reply, new_email};

use super::ledger::{Account, Bio, Ledger};
use super::requests::{Api, HANG, Op, is_unavailable};
use super::tally::{PHASES, Tally};

/// How many clients drive the load.
pub(super) const CLIENTS: usize = 8;

/// One client of the load (or the test itself, checking).
#[derive(Clone)]
pub(super) struct Client {
    id: usize,
    who: &'static str,
    api: Api,
    pub(super) tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
}

impl Client {
    pub(super) fn new(
        api: &Api,
        who: &'static str,
        tally: &Arc<Tally>,
        stop: &Arc<AtomicBool>,
    ) -> Self {
        let (tally, stop, api) = (Arc::clone(tally), Arc::clone(stop), api.clone());
        Self {
            id: CLIENTS,
            who,
            api,
            tally,
            stop,
        }
    }

    async fn call(&self, op: Op, arg: &str, bio: &str) -> Option<Reply> {
        let phase = PHASES[self.tally.phase.load(SeqCst)];
        self.tally.in_flight.fetch_add(1, SeqCst);
        let started = Instant::now();
        let reply = self.api.send(op, arg, bio).await;
        self.tally.in_flight.fetch_sub(1, SeqCst);
        let status = reply
            .as_ref()
            .map_or("transport".into(), |r| r.status.as_u16().to_string());
        let key = (phase, self.who, op.name(), status);
        self.tally.record(key, &reply, started.elapsed());
        reply.ok()
    }

    /// Does `op` (or what must come first) and notes what was acknowledged;
    /// says whether the reply was a success.
    pub(super) async fn step(&self, op: Op, ledger: &mut Ledger) -> bool {
        match ledger.feasible(op) {
            Op::Signup => {
                let email = new_email();
                let reply = self.call(Op::Signup, &email, "").await;
                let ok = ledger.got(&reply, 201, "signup");
                if ok {
                    let (chains, bio) = (Vec::new(), Bio::default());
                    ledger.accounts.push(Account { email, chains, bio });
                }
                ok
            }
            Op::Login => {
                let a = ledger
                    .accounts
                    .iter()
                    .position(|a| a.chains.len() < 2)
                    .unwrap();
                let reply = self.call(Op::Login, &ledger.accounts[a].email, "").await;
                let tokens = ledger.tokens(&reply, "login");
                tokens.map(|t| ledger.accounts[a].chains.push(t)).is_some()
            }
            Op::Refresh => {
                let (a, c) = ledger.pick();
                let held = ledger.accounts[a].chains[c].refresh_token.clone();
                let reply = self.call(Op::Refresh, &held, "").await;
                let tokens = ledger.tokens(&reply, "refresh");
                tokens.map(|t| ledger.accounts[a].chains[c] = t).is_some()
            }
            Op::TwoTabs => {
                let (a, c) = ledger.pick();
                let held = ledger.accounts[a].chains[c].refresh_token.clone();
                let (one, two) = tokio::join!(
                    self.call(Op::TwoTabs, &held, ""),
                    self.call(Op::TwoTabs, &held, "")
                );
                let (one, two) = (
                    ledger.tokens(&one, "refresh"),
                    ledger.tokens(&two, "refresh"),
                );
                if let (Some(x), Some(y)) = (&one, &two)
                    && x.refresh_token != y.refresh_token
                {
                    ledger.forks.push(ledger.accounts[a].email.clone());
                }
                let ok = one.is_some() && two.is_some();
                if let Some(tokens) = one.or(two) {
                    ledger.accounts[a].chains[c] = tokens;
                }
                ok
            }
            Op::Me => {
                let (a, c) = ledger.pick();
                let access = ledger.accounts[a].chains[c].access_token.clone();
                let reply = self.call(Op::Me, &access, "").await;
                ledger.got(&reply, 200, "me")
            }
            Op::Patch => {
                let (a, c) = ledger.pick();
                let access = ledger.accounts[a].chains[c].access_token.clone();
                let bio = format!("client {} turn {}", self.id, ledger.turn);
                let reply = self.call(Op::Patch, &access, &bio).await;
                let ok = ledger.got(&reply, 200, "patch");
                let kept = &mut ledger.accounts[a].bio;
                if ok {
                    (kept.acked, kept.unsure) = (Some(bio), Vec::new());
                } else {
                    kept.unsure.push(bio);
                }
                ok
            }
        }
    }

    pub(super) async fn run(self, ops: &'static [Op], mut ledger: Ledger) -> Ledger {
        for op in ops.iter().cycle() {
            if self.stop.load(SeqCst) || ledger.broken {
                break;
            }
            self.step(*op, &mut ledger).await;
        }
        ledger
    }

    /// Like [`Client::call`], but honours `Retry-After` for up to [`HANG`]:
    /// a 503 says "not now", not "lost".
    pub(super) async fn patiently(&self, op: Op, arg: &str) -> Option<Reply> {
        let started = Instant::now();
        loop {
            let reply = self.call(op, arg, "").await?;
            if !is_unavailable(&reply) || started.elapsed() > HANG {
                return Some(reply);
            }
            let wait = reply.header("retry-after").and_then(|s| s.parse().ok());
            tokio::time::sleep(Duration::from_secs(wait.unwrap_or(1))).await;
        }
    }
}

/// The clients running, and the test's own client on the same tally.
pub(super) struct Load {
    pub(super) tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    pub(super) tasks: Vec<JoinHandle<Ledger>>,
}

impl Load {
    /// Starts [`CLIENTS`] clients doing `ops`, from nothing.
    pub(super) fn start(api: &Api, ops: &'static [Op]) -> Self {
        Self::resume(api, ops, fresh(), Arc::default())
    }

    /// Starts one client per ledger, going on from what it holds.
    pub(super) fn resume(
        api: &Api,
        ops: &'static [Op],
        ledgers: Vec<Ledger>,
        tally: Arc<Tally>,
    ) -> Self {
        let stop = Arc::default();
        let mut load = Self {
            tally,
            stop,
            tasks: Vec::new(),
        };
        for (id, mut ledger) in ledgers.into_iter().enumerate() {
            ledger.broken = false;
            let client = Client {
                id,
                ..load.client(api, "load")
            };
            load.tasks.push(tokio::spawn(client.run(ops, ledger)));
        }
        load
    }

    /// Another client on the load's tally, stopped with it.
    pub(super) fn client(&self, api: &Api, who: &'static str) -> Client {
        Client::new(api, who, &self.tally, &self.stop)
    }

    /// Stops the clients and hands back their ledgers.
    pub(super) async fn finish(self) -> Vec<Ledger> {
        self.stop.store(true, SeqCst);
        let joined = tokio::time::timeout(HANG * 2, futures::future::join_all(self.tasks));
        let ledgers = joined.await.expect("the clients did not stop");
        ledgers.into_iter().map(Result::unwrap).collect()
    }
}

/// An empty ledger for each of [`CLIENTS`] clients.
pub(super) fn fresh() -> Vec<Ledger> {
    (0..CLIENTS).map(|_| Ledger::default()).collect()
}

/// Polls `done` until it holds; panics after `limit`.
pub(super) async fn wait_until(
    what: &str,
    limit: Duration,
    mut done: impl FnMut() -> bool,
) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

/// Runs one of each request for a fresh account until all succeed.
pub(super) async fn recover(
    client: &Client,
    limit: Duration,
    ledgers: &mut Vec<Ledger>,
) -> Duration {
    let started = Instant::now();
    loop {
        let mut ledger = Ledger::default();
        let mut ok = true;
        for op in [Op::Signup, Op::Login, Op::Refresh, Op::Me, Op::Patch] {
            ok = ok && client.step(op, &mut ledger).await;
        }
        ledgers.push(ledger);
        if ok {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "not recovered within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
