//! `COPY … FROM STDIN` through `psql`, the tables and columns it fills
//! (named by the services' own diesel schema), and the text form of the
//! rows. Foreign-key triggers are off for these sessions
//! (`session_replication_role = replica`, as `pg_restore
//! --disable-triggers` does): the rows are consistent by construction,
//! and checking 5 million references one by one would double the load.

use std::fmt::{self, Write as _};
use std::io::{BufWriter, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use auth_service::testing::{
    known_networks, login_account_failures, login_failures, refresh_tokens, sessions, users,
};
use chrono::DateTime;
use diesel::RunQueryDsl;
use diesel::sql_types::Text;
use profile_service::testing::profiles;

use super::model::{Model, SessionRow, UserRow};

/// Where the two services keep their data.
pub struct Urls {
    pub auth: String,
    pub profile: String,
}

/// A table and the columns each row of a `COPY` gives, in that order;
/// shown as `table (column, ...)`.
pub struct Target {
    table: &'static str,
    columns: &'static [&'static str],
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.table, self.columns.join(", "))
    }
}

/// The [`Target`] `table (column, ...)`, each name taken from the
/// service's diesel schema: a table or column renamed or dropped there
/// fails to compile here.
macro_rules! target {
    ($table:ident: $($column:ident),+ $(,)?) => {
        Target {
            table: stringify!($table),
            columns: &[$(<$table::$column as diesel::Column>::NAME),+],
        }
    };
}

// What the loaders fill, each in the column order its rows are written.
pub const USERS: Target =
    target!(users: id, email, email_skeleton, password_hash, created_at, updated_at);
pub const PROFILES: Target =
    target!(profiles: user_id, email, email_issued_at, display_name, bio, created_at, updated_at);
pub const SESSIONS: Target =
    target!(sessions: id, user_id, created_at, refreshed_at, revoked_at, expires_at);
pub const TOKENS: Target =
    target!(refresh_tokens: id, session_id, parent_id, token_hash, issued_at, used_at, expires_at);
pub const NETWORKS: Target = target!(known_networks: user_id, network_hash, expires_at);
pub const LOGIN_FAILURES: Target =
    target!(login_failures: email, network, failures, locked_until, updated_at);
pub const ACCOUNT_FAILURES: Target = target!(login_account_failures: email, window_start, failures);
/// The limiter's table, which has no diesel schema (its SQL is written out
/// in `store::rate_limits`): named by hand, after its migration.
pub const RATE_LIMITS: Target = Target {
    table: "rate_limits",
    columns: &["client", "tat"],
};

/// Streams what `fill` writes into `COPY <target> FROM STDIN` on `url`.
pub fn copy<F>(url: &str, target: &Target, fill: F) -> Result<(), String>
where
    F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
{
    let mut child = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c"])
        .arg(format!("COPY {target} FROM STDIN"))
        .env("PGOPTIONS", "-c session_replication_role=replica")
        .env("PGCLIENTENCODING", "UTF8")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run psql (PostgreSQL's client): {e}"))?;
    let written = match child.stdin.take() {
        Some(stdin) => {
            let mut out = BufWriter::with_capacity(1 << 20, stdin);
            fill(&mut out).and_then(|()| out.flush())
        }
        None => Ok(()),
    };
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "COPY {target}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    written.map_err(|e| format!("COPY {target}: writing rows: {e}"))
}

#[derive(diesel::QueryableByName)]
struct Index {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    definition: String,
}

/// Drops the indexes of `url`'s database that back no constraint (the
/// secondary ones: `sessions_expires_at_idx`, ...), runs `load`, then
/// builds them again from their own definitions, one connection each:
/// sorting a million keys once is far cheaper than inserting them one by
/// one at random places. Returns how long the rebuild took.
pub fn without_secondary_indexes<F>(url: &str, load: F) -> Result<Duration, String>
where
    F: FnOnce() -> Result<(), String>,
{
    let mut conn = super::connect(url)?;
    let indexes: Vec<Index> = diesel::sql_query(
        "SELECT indexname::text AS name, indexdef::text AS definition FROM pg_indexes i \
         WHERE schemaname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
           WHERE c.conindid = format('%I', i.indexname)::regclass)",
    )
    .load(&mut conn)
    .map_err(|e| format!("listing indexes: {e}"))?;
    for index in &indexes {
        diesel::sql_query(format!("DROP INDEX \"{}\"", index.name))
            .execute(&mut conn)
            .map_err(|e| format!("DROP INDEX {}: {e}", index.name))?;
    }
    let loaded = load();
    let started = Instant::now();
    let built = std::thread::scope(|scope| {
        let jobs: Vec<_> = indexes
            .iter()
            .map(|index| {
                scope.spawn(move || {
                    let mut conn = super::connect(url)?;
                    diesel::sql_query("SET maintenance_work_mem = '256MB'")
                        .execute(&mut conn)
                        .and_then(|_| diesel::sql_query(&index.definition).execute(&mut conn))
                        .map(drop)
                        .map_err(|e| format!("{}: {e}", index.definition))
                })
            })
            .collect();
        jobs.into_iter()
            .map(|job| {
                job.join()
                    .unwrap_or_else(|_| Err("an index build panicked".into()))
            })
            .collect::<Result<Vec<()>, String>>()
    });
    loaded?;
    built?;
    Ok(started.elapsed())
}

/// A timestamp in COPY's text form.
pub fn ts(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S+00").to_string())
        .unwrap_or_default()
}

pub fn opt_ts(secs: Option<i64>) -> String {
    secs.map_or_else(|| "\\N".to_owned(), ts)
}

/// A bytea in COPY's text form (the backslash escaped).
pub fn bytea(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(3 + 2 * bytes.len());
    hex.push_str("\\\\x");
    for byte in bytes {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

pub fn write_session(
    out: &mut dyn Write,
    user: uuid::Uuid,
    session: &SessionRow,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{}\t{user}\t{}\t{}\t{}\t{}",
        session.id,
        ts(session.created_at),
        opt_ts(session.refreshed_at),
        opt_ts(session.revoked_at),
        ts(session.expires_at)
    )
}

pub fn write_tokens(
    out: &mut dyn Write,
    model: &Model,
    user: &UserRow,
    session: &SessionRow,
) -> std::io::Result<()> {
    for token in &session.tokens {
        let parent = token
            .parent
            .map_or_else(|| "\\N".to_owned(), |p| p.to_string());
        writeln!(
            out,
            "{}\t{}\t{parent}\t{}\t{}\t{}\t{}",
            token.id,
            session.id,
            bytea(&model.stored_hash(user, session, token)),
            ts(token.issued_at),
            opt_ts(token.used_at),
            ts(token.issued_at + model.refresh_ttl)
        )?;
    }
    Ok(())
}
