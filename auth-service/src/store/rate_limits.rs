//! The `rate_limits` table: a GCRA limiter in one statement, so every
//! replica on the database shares it. Each request moves the client's
//! theoretical arrival time (`tat`) one emission interval forward; the
//! request is refused when that would put `tat` more than `burst`
//! intervals ahead of now. The database's clock is the only clock.

use diesel::prelude::*;
use diesel::sql_types::{Double, Integer, Text};

diesel::define_sql_function! {
    /// The GCRA step in one statement (migration `hot_path_functions`):
    /// NULL lets the request through, a number of seconds refuses it.
    fn rate_limit_take(client: Text, step_seconds: Double, burst: Integer) -> Nullable<Double>;
}

/// Counts one request of `client` against `burst` requests per
/// `burst × interval_seconds`; `Ok(None)` lets it through, `Ok(Some(s))`
/// refuses it for `s` seconds. One prepared statement (a function, so
/// that diesel prepares it once per connection).
pub fn take(
    conn: &mut PgConnection,
    client: &str,
    interval_seconds: f64,
    burst: i32,
) -> QueryResult<Option<f64>> {
    diesel::select(rate_limit_take(client, interval_seconds, burst)).get_result(conn)
}

/// Forgets clients whose every past request has drained.
pub fn sweep(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM rate_limits WHERE tat < now()").execute(conn)
}
