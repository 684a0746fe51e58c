//! The refresh-token chains as stored, checked in SQL: rotation never
//! forks a token or leaves a session two live tokens, revokes nothing, and
//! which of the tokens the clients hold were exchanged without their reply.

use diesel::PgConnection;
use sha2::{Digest, Sha256};
use tokio::task::block_in_place;

use super::ledger::Ledger;

/// How rotation links the stored tokens, for the checks in SQL.
pub(super) struct Chains {
    /// Tokens with more than one successor.
    forked: i64,
    /// Live sessions with more than one unused token.
    two_live: i64,
    revoked: i64,
}

/// Counts, in the auth database, what rotation must never leave behind.
pub(super) fn chains(db: &mut PgConnection) -> Chains {
    let mut count = |sql: &str| block_in_place(|| crate::support::db::count(db, sql));
    Chains {
        forked: count(
            "SELECT count(*) FROM (SELECT parent_id FROM refresh_tokens \
             WHERE parent_id IS NOT NULL GROUP BY parent_id HAVING count(*) > 1) f",
        ),
        two_live: count(
            "SELECT count(*) FROM (SELECT t.session_id FROM refresh_tokens t \
             JOIN sessions s ON s.id = t.session_id \
             WHERE t.used_at IS NULL AND s.revoked_at IS NULL \
             GROUP BY t.session_id HAVING count(*) > 1) f",
        ),
        revoked: count("SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL"),
    }
}

/// Prints `chains` and asserts that all of it is zero.
pub(super) fn check_chains(test: &str, when: &str, chains: &Chains) {
    let Chains {
        forked,
        two_live,
        revoked,
    } = chains;
    eprintln!(
        "{test}: {when}: tokens with two successors {forked}, sessions with two live tokens \
         {two_live}, revoked sessions {revoked}"
    );
    assert_eq!((forked, two_live, revoked), (&0, &0, &0), "{when}");
}

/// Of the refresh tokens the clients hold, those the database says were
/// exchanged already: rotations committed whose reply never came.
pub(super) fn held_used(db: &mut PgConnection, ledgers: &[Ledger]) -> i64 {
    let held: Vec<String> = (ledgers
        .iter()
        .flat_map(|l| &l.accounts)
        .flat_map(|a| &a.chains))
    .map(|c| {
        format!(
            "decode('{:x}', 'hex')",
            Sha256::digest(c.refresh_token.as_bytes())
        )
    })
    .collect();
    let held = if held.is_empty() {
        "NULL".to_owned()
    } else {
        held.join(", ")
    };
    let sql = format!(
        "SELECT count(*) FROM refresh_tokens WHERE used_at IS NOT NULL AND token_hash IN ({held})"
    );
    block_in_place(|| crate::support::db::count(db, &sql))
}
