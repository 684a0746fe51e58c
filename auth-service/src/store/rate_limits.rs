//! The `rate_limits` table: a GCRA limiter in one statement, so every
//! replica on the database shares it. Each request moves the client's
//! theoretical arrival time (`tat`) one emission interval forward; the
//! request is refused when that would put `tat` more than `burst`
//! intervals ahead of now. The database's clock is the only clock.

use diesel::prelude::*;
use diesel::sql_types::{Double, Integer, Text};

/// Counts one request of `client` against `burst` requests per
/// `burst × interval_seconds`; `Ok(None)` lets it through, `Ok(Some(s))`
/// refuses it for `s` seconds.
pub fn take(
    conn: &mut PgConnection,
    client: &str,
    interval_seconds: f64,
    burst: i32,
) -> QueryResult<Option<f64>> {
    let counted = diesel::sql_query(
        "INSERT INTO rate_limits AS r (client, tat) \
         VALUES ($1, now() + $2 * interval '1 second') \
         ON CONFLICT (client) DO UPDATE \
             SET tat = greatest(r.tat, now()) + $2 * interval '1 second' \
         WHERE greatest(r.tat, now()) + $2 * interval '1 second' \
               <= now() + $3 * $2 * interval '1 second'",
    )
    .bind::<Text, _>(client)
    .bind::<Double, _>(interval_seconds)
    .bind::<Integer, _>(burst)
    .execute(conn)?;
    if counted == 1 {
        return Ok(None);
    }
    #[derive(QueryableByName)]
    struct Wait {
        #[diesel(sql_type = Double)]
        seconds: f64,
    }
    let wait = diesel::sql_query(
        "SELECT extract(epoch FROM tat + $2 * interval '1 second' \
                - $3 * $2 * interval '1 second' - now())::float8 AS seconds \
         FROM rate_limits WHERE client = $1",
    )
    .bind::<Text, _>(client)
    .bind::<Double, _>(interval_seconds)
    .bind::<Integer, _>(burst)
    .get_result::<Wait>(conn)
    .optional()?;
    // Swept between the two statements: the wait had run out anyway.
    Ok(Some(wait.map_or(0.0, |wait| wait.seconds.max(0.0))))
}

/// Forgets clients whose every past request has drained.
pub fn sweep(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM rate_limits WHERE tat < now()").execute(conn)
}
