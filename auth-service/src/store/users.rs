//! The `users` table: accounts and their password hashes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::schema::users;

/// A stored account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
    pub totp_enabled: bool,
}

/// What an access token says of its account: read when the token is
/// issued, so a refresh carries a changed or newly verified address.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct Identity {
    pub email: String,
    pub email_verified: bool,
    /// Whether the account has TOTP on (the `mfa` claim).
    pub totp_enabled: bool,
}

impl User {
    /// What this account's access tokens say of it.
    pub fn identity(&self) -> Identity {
        Identity {
            email: self.email.clone(),
            email_verified: self.email_verified,
            totp_enabled: self.totp_enabled,
        }
    }
}

/// An account to create.
#[derive(Debug, Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub email_skeleton: &'a str,
    pub password_hash: &'a str,
    pub email_verified: bool,
}

/// Inserts `user`; a taken email fails on the `users_email_key`
/// constraint, a look-alike of one on `users_email_skeleton_key`.
pub fn insert(conn: &mut PgConnection, user: &NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(user)
        .returning(User::as_returning())
        .get_result(conn)
}

/// The account with this (normalised) email, if any.
pub fn find_by_email(conn: &mut PgConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// The account `id`, if it exists.
pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// Deletes account `id`, and with it (by the foreign keys) its sessions,
/// refresh tokens, known networks and one-time tokens; whether it existed.
pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::delete(users::table.find(id))
        .execute(conn)
        .map(|rows| rows == 1)
}

/// Marks the address of account `id` as verified.
pub fn mark_verified(conn: &mut PgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .filter(users::email_verified.eq(false))
        .set((
            users::email_verified.eq(true),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(drop)
}

/// Replaces the password hash (a cost upgrade, a reset or a change).
pub fn set_password_hash(conn: &mut PgConnection, id: Uuid, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(hash),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(drop)
}

/// Up to `limit` accounts after `after` (by id) stored before look-alike
/// skeletons existed, or whose skeleton was taken: (id, email).
pub fn without_skeleton(
    conn: &mut PgConnection,
    after: Uuid,
    limit: i64,
) -> QueryResult<Vec<(Uuid, String)>> {
    users::table
        .filter(users::email_skeleton.is_null())
        .filter(users::id.gt(after))
        .select((users::id, users::email))
        .order(users::id)
        .limit(limit)
        .load(conn)
}

/// Sets account `id`'s email to its normal form `email` (a change bumps
/// `updated_at`) and its skeleton, together; fails on `users_email_key` or
/// `users_email_skeleton_key`, changing nothing, when another account has
/// that address or looks the same.
pub fn set_normal_form(
    conn: &mut PgConnection,
    id: Uuid,
    email: &str,
    skeleton: &str,
) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::update(users::table.find(id).filter(users::email.ne(email)))
            .set((
                users::email.eq(email),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        diesel::update(users::table.find(id))
            .set(users::email_skeleton.eq(skeleton))
            .execute(conn)
            .map(drop)
    })
}
