//! What can go wrong between a unit of work and PostgreSQL, named for the
//! database and not for HTTP: each service turns it into an answer in its
//! one `error.rs` (503 for the first three kinds, 500 for the rest, through
//! `service_kit::error::InfraError`). The cause stays as a `source()`
//! chain for the log line.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// A failure to get a unit of database work done.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection came free within the pool's timeout (the pool is
    /// busy, or a connection cannot be opened).
    #[error("no database connection came free in time")]
    PoolTimeout(#[source] Option<diesel::r2d2::PoolError>),
    /// The database went away under the work: the connection closed or a
    /// command could not be sent.
    #[error("the database is unreachable")]
    Unavailable(#[source] DieselError),
    /// The server cancelled the work when the statement or lock timeout ran
    /// out: the database is busy, not broken.
    #[error("the statement or lock timeout ran out")]
    StatementTimeout,
    /// A query failed for any other reason: a constraint, or a bug.
    #[error("database query failed")]
    Query(#[source] DieselError),
    /// The blocking task that ran the work panicked or was cancelled, or
    /// the pool's line was closed.
    #[error("the database task failed: {0}")]
    Task(String),
}

impl DbError {
    /// Whether the database (or the way to it) is away or busy, rather
    /// than the work being wrong: the caller may try again shortly.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::PoolTimeout(_) | Self::Unavailable(_) | Self::StatementTimeout
        )
    }

    /// The query error inside, when a query failed (a unique violation the
    /// service turns into a 409, say).
    pub fn query_error(&self) -> Option<&DieselError> {
        match self {
            Self::Query(error) => Some(error),
            _ => None,
        }
    }
}

impl From<DieselError> for DbError {
    /// Sorts diesel's error by the kind PostgreSQL's SQLSTATE gave it. A
    /// cancelled statement (57014) has no kind of its own in diesel: the
    /// runner tells it by the clock (see `db::checkout_and_run`).
    fn from(error: DieselError) -> Self {
        if is_unreachable(&error) {
            Self::Unavailable(error)
        } else {
            Self::Query(error)
        }
    }
}

/// Whether a diesel error means the database went away under the work.
pub(crate) fn is_unreachable(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}

impl From<diesel::r2d2::PoolError> for DbError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        Self::PoolTimeout(Some(error))
    }
}

/// The error of a unit of work that [`crate::db::blocking`] runs: the
/// service's own error, which a [`DbError`] converts into and which may
/// hold one.
pub trait WorkError: From<DbError> {
    /// The database error this is, if it is one.
    fn as_db_error(&self) -> Option<&DbError>;
}

impl WorkError for DbError {
    fn as_db_error(&self) -> Option<&DbError> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_connection_is_transient_and_a_constraint_is_not() {
        let closed = DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("server closed the connection".to_owned()),
        );
        assert!(DbError::from(closed).is_transient());
        let unique = DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new("duplicate key".to_owned()),
        );
        let unique = DbError::from(unique);
        assert!(!unique.is_transient());
        assert!(unique.query_error().is_some());
        assert!(DbError::StatementTimeout.is_transient());
    }
}
