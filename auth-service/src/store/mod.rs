//! diesel queries as plain functions over `&mut PgConnection`. They return
//! `QueryResult`; the service turns failures into HTTP errors elsewhere.

pub mod event_outbox;
pub mod known_networks;
pub mod login_failures;
pub mod one_time_tokens;
pub mod outbox;
pub mod rate_limits;
pub mod sessions;
pub mod totp;
pub mod users;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// `duration` as a PostgreSQL interval (a lease, say).
fn interval(duration: std::time::Duration) -> diesel::pg::data_types::PgInterval {
    diesel::pg::data_types::PgInterval::from_microseconds(
        i64::try_from(duration.as_micros()).unwrap_or(i64::MAX),
    )
}

/// The auth service's migrations, embedded in the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
