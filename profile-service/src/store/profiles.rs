//! The `profiles` table.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
use shared::api::ProfileResponse;
use uuid::Uuid;

use crate::schema::profiles;

/// A stored profile.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = profiles, check_for_backend(diesel::pg::Pg))]
pub struct Profile {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Profile> for ProfileResponse {
    fn from(profile: Profile) -> Self {
        Self {
            id: profile.user_id,
            email: profile.email,
            display_name: profile.display_name,
            bio: profile.bio,
            created_at: profile.created_at,
            updated_at: profile.updated_at,
        }
    }
}

/// A `PATCH /me`: `None` leaves a column alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = profiles, check_for_backend(diesel::pg::Pg))]
pub struct ProfileChanges {
    pub display_name: Option<Option<String>>,
    pub bio: Option<Option<String>>,
}

impl ProfileChanges {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.display_name.is_none() && self.bio.is_none()
    }
}

/// Makes sure `user` has a profile, and that its email is the one of the
/// newest token seen (`issued_at` is that token's `iat`).
pub fn touch(
    conn: &mut PgConnection,
    user: Uuid,
    email: &str,
    issued_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO profiles (user_id, email, email_issued_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET \
             email = EXCLUDED.email, \
             email_issued_at = EXCLUDED.email_issued_at, \
             updated_at = CASE WHEN profiles.email = EXCLUDED.email \
                          THEN profiles.updated_at ELSE now() END \
         WHERE profiles.email_issued_at < EXCLUDED.email_issued_at",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<Text, _>(email)
    .bind::<Timestamptz, _>(issued_at)
    .execute(conn)
    .map(drop)
}

/// The profile of `user`.
pub fn find(conn: &mut PgConnection, user: Uuid) -> QueryResult<Profile> {
    profiles::table
        .find(user)
        .select(Profile::as_select())
        .first(conn)
}

/// Applies `changes` to the profile of `user` and returns it.
pub fn update(
    conn: &mut PgConnection,
    user: Uuid,
    changes: &ProfileChanges,
) -> QueryResult<Profile> {
    if changes.is_empty() {
        return find(conn, user);
    }
    diesel::update(profiles::table.find(user))
        .set((changes, profiles::updated_at.eq(diesel::dsl::now)))
        .returning(Profile::as_returning())
        .get_result(conn)
}
