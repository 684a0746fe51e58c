//! The `profiles` table.

use chrono::{DateTime, Utc};
use diesel::dsl::{case_when, now};
use diesel::prelude::*;
use diesel::query_dsl::methods::FilterDsl;
use diesel::upsert::excluded;
use uuid::Uuid;

use crate::domain::ProfileChanges;
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

/// The columns a `PATCH /me` sets: `None` leaves one alone, `Some(None)`
/// clears it.
#[derive(AsChangeset)]
#[diesel(table_name = profiles, check_for_backend(diesel::pg::Pg))]
struct Changeset<'a> {
    display_name: Option<Option<&'a str>>,
    bio: Option<Option<&'a str>>,
}

impl<'a> From<&'a ProfileChanges> for Changeset<'a> {
    fn from(changes: &'a ProfileChanges) -> Self {
        Self {
            display_name: changes.display_name.as_ref().map(Option::as_deref),
            bio: changes.bio.as_ref().map(Option::as_deref),
        }
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
        .set((Changeset::from(changes), profiles::updated_at.eq(now)))
        .returning(Profile::as_returning())
        .get_result(conn)
}

/// Mirrors the token (as [`for_token`]) and applies `changes`, in one
/// transaction: a new user's first `PATCH /me` creates and changes the
/// row together.
pub fn mirror_and_update(
    conn: &mut PgConnection,
    user: Uuid,
    email: &str,
    issued_at: DateTime<Utc>,
    changes: &ProfileChanges,
) -> QueryResult<Profile> {
    conn.transaction(|conn| {
        for_token(conn, user, email, issued_at)?;
        update(conn, user, changes)
    })
}
