//! The checks after the load: every acknowledged signup logs in, every
//! acknowledged bio is stored (through `GET /me` and in SQL), every
//! session's newest pair refreshes, every access token works; then the
//! report and its assertions.

use std::collections::BTreeMap;

use diesel::sql_types::{Nullable, Text};
use diesel::{PgConnection, QueryableByName, RunQueryDsl};
use shared::api::{ProfileResponse, TokenResponse};
use tokio::task::block_in_place;

use crate::support::client::Reply;

use super::ledger::{Bio, Ledger};
use super::load::Client;
use super::requests::Op;
use super::tally::{Tally, VERIFY};

/// Acknowledged writes that the stack no longer has.
#[derive(Default)]
pub(super) struct Losses {
    counts: BTreeMap<&'static str, usize>,
    details: Vec<String>,
    /// (user id, what `bio` may be), for the check in SQL.
    bios: Vec<(String, Bio)>,
}

impl Losses {
    fn lose(&mut self, what: &'static str, detail: String) {
        *self.counts.entry(what).or_default() += 1;
        self.details.push(format!("{what}: {detail}"));
    }

    fn total(&self) -> usize {
        self.counts.values().sum()
    }
}

fn described(reply: &Option<Reply>) -> String {
    reply
        .as_ref()
        .map_or("no reply".into(), |r| format!("{} {}", r.status, r.body))
}

/// Replays `ledger` against the stack: each signup logs in, each profile
/// holds its newest acknowledged bio, each session's newest pair refreshes
/// (and the pair it gets works), each acknowledged access token works.
async fn verify(client: &Client, ledger: &Ledger) -> Losses {
    let mut lost = Losses::default();
    for account in &ledger.accounts {
        let login = client.patiently(Op::Login, &account.email).await;
        let Some(tokens) = login.as_ref().filter(|r| r.status == 200) else {
            lost.lose(
                "signups",
                format!("{}: login {}", account.email, described(&login)),
            );
            continue;
        };
        let tokens: TokenResponse = tokens.json();
        let me = client.patiently(Op::Me, &tokens.access_token).await;
        match me
            .as_ref()
            .filter(|r| r.status == 200)
            .map(Reply::json::<ProfileResponse>)
        {
            Some(p) if account.bio.kept(p.bio.as_deref()) => {
                lost.bios.push((p.id.to_string(), account.bio.clone()));
            }
            _ => lost.lose(
                "patches",
                format!(
                    "{}: {:?} gave {}",
                    account.email,
                    account.bio.acked,
                    described(&me)
                ),
            ),
        }
        for chain in &account.chains {
            let mut token = chain.refresh_token.clone();
            for _ in 0..2 {
                let reply = client.patiently(Op::Refresh, &token).await;
                let Some(next) = reply.as_ref().filter(|r| r.status == 200) else {
                    lost.lose(
                        "refreshes",
                        format!("{}: refresh {}", account.email, described(&reply)),
                    );
                    break;
                };
                let next: TokenResponse = next.json();
                let me = client.patiently(Op::Me, &next.access_token).await;
                if me.as_ref().is_none_or(|r| r.status != 200) {
                    lost.lose(
                        "refreshes",
                        format!("{}: me {}", account.email, described(&me)),
                    );
                }
                token = next.refresh_token;
            }
        }
    }
    for access in &ledger.access {
        let me = client.patiently(Op::Me, access).await;
        if me.as_ref().is_none_or(|r| r.status != 200) {
            lost.lose("access tokens", described(&me));
        }
    }
    lost
}

#[derive(QueryableByName)]
struct StoredBio {
    #[diesel(sql_type = Text)]
    user_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    bio: Option<String>,
}

/// Verifies every ledger, four at a time, and checks the bios in SQL too.
pub(super) async fn verify_all(
    client: &Client,
    ledgers: &[Ledger],
    profile_db: &mut PgConnection,
) -> Losses {
    use futures::StreamExt;
    client.tally.set_phase(VERIFY);
    let each = futures::stream::iter(ledgers)
        .map(|l| verify(client, l))
        .buffer_unordered(4);
    let mut lost = Losses::default();
    for part in each.collect::<Vec<_>>().await {
        for (what, n) in part.counts {
            *lost.counts.entry(what).or_default() += n;
        }
        lost.details.extend(part.details);
        lost.bios.extend(part.bios);
    }
    let sql = "SELECT user_id::text AS user_id, bio FROM profiles";
    let stored: Vec<StoredBio> =
        block_in_place(|| diesel::sql_query(sql).load(profile_db).unwrap());
    let stored: BTreeMap<String, Option<String>> =
        stored.into_iter().map(|r| (r.user_id, r.bio)).collect();
    for (user, bio) in std::mem::take(&mut lost.bios) {
        let in_sql = stored.get(&user).cloned().flatten();
        if !bio.kept(in_sql.as_deref()) {
            lost.lose(
                "patches in SQL",
                format!("{user}: {:?}, stored {in_sql:?}", bio.acked),
            );
        }
    }
    lost
}

/// Prints what the load saw, what was acknowledged and what was lost,
/// then asserts that nothing was lost, that nothing but 2xx and the
/// contract's 503 came back (and, unless `transport_ok`, always came), and
/// that rotation never forked a session.
pub(super) fn report(
    test: &str,
    tally: &Tally,
    ledgers: &[Ledger],
    lost: &Losses,
    transport_ok: bool,
) {
    let (unexpected, transport) = tally.print(test);
    let mut acks: BTreeMap<&str, usize> = BTreeMap::new();
    for (op, n) in ledgers.iter().flat_map(|l| &l.acks) {
        *acks.entry(op).or_default() += n;
    }
    let access: usize = ledgers.iter().map(|l| l.access.len()).sum();
    eprintln!("{test}: acknowledged {acks:?}, access tokens {access}");
    eprintln!("{test}: lost {:?} (total {})", lost.counts, lost.total());
    for detail in &lost.details {
        eprintln!("{test}: lost {detail}");
    }
    let forks: Vec<&String> = ledgers.iter().flat_map(|l| &l.forks).collect();
    assert_eq!(lost.total(), 0, "acknowledged writes were lost");
    assert!(
        unexpected.is_empty(),
        "unexpected replies:\n{}",
        unexpected.join("\n")
    );
    assert!(
        transport_ok || transport == 0,
        "{transport} requests got no reply"
    );
    assert!(
        forks.is_empty(),
        "two tabs got different successors: {forks:?}"
    );
}
