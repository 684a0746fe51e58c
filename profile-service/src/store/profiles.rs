//! The `profiles` table.

use chrono::{DateTime, Utc};
use diesel::dsl::{case_when, now};
use diesel::prelude::*;
use diesel::query_dsl::methods::FilterDsl;
use diesel::upsert::excluded;
use shared::api::ProfileResponse;
use uuid::Uuid;

use crate::schema::profiles;

/// A stored profile.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = profiles, check_for_backend(diesel::pg::Pg))]
pub struct Profile {
    pub user_id: Uuid,
    pub email: String,
    /// The `iat` of the token `email` came from.
    pub email_issued_at: DateTime<Utc>,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Profile {
    /// Whether this row already mirrors a token issued at `issued_at` (or
    /// a newer one): nothing to write.
    pub fn mirrors(&self, issued_at: DateTime<Utc>) -> bool {
        self.email_issued_at >= issued_at
    }
}

impl From<&Profile> for ProfileResponse {
    fn from(profile: &Profile) -> Self {
        Self {
            id: profile.user_id,
            email: profile.email.clone(),
            display_name: profile.display_name.clone(),
            bio: profile.bio.clone(),
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
/// newest token seen (`issued_at` is that token's `iat`). Returns the row
/// when it wrote it, `None` when the stored one is already as new.
pub fn mirror_token(
    conn: &mut PgConnection,
    user: Uuid,
    email: &str,
    issued_at: DateTime<Utc>,
) -> QueryResult<Option<Profile>> {
    diesel::insert_into(profiles::table)
        .values((
            profiles::user_id.eq(user),
            profiles::email.eq(email),
            profiles::email_issued_at.eq(issued_at),
        ))
        .on_conflict(profiles::user_id)
        .do_update()
        .set((
            profiles::email.eq(excluded(profiles::email)),
            profiles::email_issued_at.eq(excluded(profiles::email_issued_at)),
            profiles::updated_at.eq(case_when(
                profiles::email.eq(excluded(profiles::email)),
                profiles::updated_at,
            )
            .otherwise(now)),
        ))
        // `FilterDsl` on an upsert: ON CONFLICT ... DO UPDATE ... WHERE.
        .filter(profiles::email_issued_at.lt(excluded(profiles::email_issued_at)))
        .returning(Profile::as_returning())
        .get_result(conn)
        .optional()
}

/// The profile of `user`, if there is one.
pub fn find(conn: &mut PgConnection, user: Uuid) -> QueryResult<Option<Profile>> {
    profiles::table
        .find(user)
        .select(Profile::as_select())
        .first(conn)
        .optional()
}

/// The profile of `user` as of a token issued at `issued_at`: one read
/// when the stored row is at least that new (the common case), a write
/// only for a new user or a newer token. Safe to run twice.
pub fn for_token(
    conn: &mut PgConnection,
    user: Uuid,
    email: &str,
    issued_at: DateTime<Utc>,
) -> QueryResult<Profile> {
    if let Some(profile) = find(conn, user)?.filter(|profile| profile.mirrors(issued_at)) {
        return Ok(profile);
    }
    match mirror_token(conn, user, email, issued_at)? {
        Some(profile) => Ok(profile),
        // A newer token's request wrote first: the row is newer than ours.
        None => find(conn, user)?.ok_or(diesel::result::Error::NotFound),
    }
}

/// Applies `changes` to the profile of `user` and returns it.
pub fn update(
    conn: &mut PgConnection,
    user: Uuid,
    changes: &ProfileChanges,
) -> QueryResult<Profile> {
    if changes.is_empty() {
        return find(conn, user)?.ok_or(diesel::result::Error::NotFound);
    }
    diesel::update(profiles::table.find(user))
        .set((changes, profiles::updated_at.eq(now)))
        .returning(Profile::as_returning())
        .get_result(conn)
}
