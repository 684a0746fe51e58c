//! diesel queries as plain functions over `&mut PgConnection`.

pub mod profiles;
pub mod revocations;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// The channel the `profiles` triggers and the events receiver notify on
/// (a profile's id, a revocation, or `caught_up`); every replica's
/// listener follows it.
pub const CHANNEL: &str = "profile_changed";

/// The profile service's migrations, embedded in the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
