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

/// The auth service's migrations, embedded in the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
