//! Reading what the services stored, for checks the API cannot make.

use diesel::sql_types::{Bytea, Nullable, Text, Timestamptz};
use diesel::{PgConnection, QueryableByName, RunQueryDsl};

#[derive(QueryableByName)]
struct Hash {
    #[diesel(sql_type = Text)]
    password_hash: String,
}

/// The stored password hash of `email`.
pub fn password_hash(db: &mut PgConnection, email: &str) -> String {
    diesel::sql_query("SELECT password_hash FROM users WHERE email = $1")
        .bind::<Text, _>(email)
        .get_result::<Hash>(db)
        .unwrap_or_else(|e| panic!("{e}"))
        .password_hash
}

/// One stored refresh token row.
#[derive(QueryableByName, Debug)]
pub struct StoredToken {
    #[diesel(sql_type = Bytea)]
    pub token_hash: Vec<u8>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub used_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Every stored refresh token.
pub fn refresh_tokens(db: &mut PgConnection) -> Vec<StoredToken> {
    diesel::sql_query("SELECT token_hash, used_at FROM refresh_tokens")
        .load(db)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

/// The result of a `SELECT count(*) ...`.
pub fn count(db: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(db)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .count
}

/// Polls `count(db, sql)` until `done` says yes, for `limit` at most;
/// returns the last count.
pub async fn wait_for_count(
    db: &mut PgConnection,
    sql: &str,
    done: impl Fn(i64) -> bool,
    limit: std::time::Duration,
) -> i64 {
    let started = std::time::Instant::now();
    loop {
        let found = count(db, sql);
        if done(found) {
            return found;
        }
        assert!(
            started.elapsed() < limit,
            "after {limit:?}, {sql} gives {found}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Runs a statement.
pub fn execute(db: &mut PgConnection, sql: &str) {
    diesel::sql_query(sql)
        .execute(db)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[derive(QueryableByName)]
struct Dump {
    #[diesel(sql_type = Text)]
    dump: String,
}

/// Every row of every table of the auth database, as text.
pub fn dump_text(db: &mut PgConnection) -> String {
    diesel::sql_query(
        "SELECT concat_ws(E'\\n', \
           (SELECT string_agg(u::text, E'\\n') FROM users u), \
           (SELECT string_agg(s::text, E'\\n') FROM sessions s), \
           (SELECT string_agg(t::text, E'\\n') FROM refresh_tokens t)) AS dump",
    )
    .get_result::<Dump>(db)
    .unwrap_or_else(|e| panic!("{e}"))
    .dump
}
