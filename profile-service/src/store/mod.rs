//! diesel queries as plain functions over `&mut PgConnection`.

pub mod profiles;
pub mod revocations;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// The profile service's migrations, embedded in the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
