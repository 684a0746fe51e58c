//! Which PostgreSQL server to use, and the statements run on it as admin.

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::server::{PostgresError, TempPostgres};

/// Why the server could not be had or used.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Start(#[from] PostgresError),
    #[error("cannot connect to PostgreSQL")]
    Connect(#[source] diesel::ConnectionError),
    #[error("{sql} failed")]
    Statement {
        sql: String,
        #[source]
        source: diesel::result::Error,
    },
    #[error("cannot migrate {database}")]
    Migrate {
        database: String,
        #[source]
        source: service_kit::db::PrepareError,
    },
}

/// A PostgreSQL server to create databases on.
pub enum PgServer {
    /// Started for this process; stopped and deleted when dropped (or,
    /// through a watchdog, when the process dies).
    Throwaway(TempPostgres),
    /// The server named by a URL (`DATABASE_URL`); its path names the
    /// database to connect to for administration.
    Given(String),
}

impl PgServer {
    /// The server in `DATABASE_URL` when set, else a throwaway one.
    pub fn from_env_or_throwaway() -> Result<Self, ServerError> {
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Ok(Self::Given(url)),
            _ => Self::throwaway(),
        }
    }

    /// A new throwaway server, gone when this process is.
    pub fn throwaway() -> Result<Self, ServerError> {
        let pg = TempPostgres::start()?;
        pg.stop_when_process_exits()?;
        Ok(Self::Throwaway(pg))
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        match self {
            Self::Throwaway(pg) => pg.url(name),
            Self::Given(url) => {
                let base = url.split('?').next().unwrap_or(url);
                let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
                format!("{server}/{name}")
            }
        }
    }

    /// The URL to connect to for `CREATE DATABASE` and the like.
    pub fn admin_url(&self) -> String {
        match self {
            Self::Throwaway(pg) => pg.url("postgres"),
            Self::Given(url) => url.clone(),
        }
    }

    /// One line saying where the data is.
    pub fn describe(&self) -> String {
        match self {
            Self::Throwaway(pg) => format!(
                "throwaway PostgreSQL on 127.0.0.1:{} (deleted on exit)",
                pg.port()
            ),
            Self::Given(_) => "the server in DATABASE_URL".to_owned(),
        }
    }

    /// The throwaway server, to stop and start it (outage tests).
    pub fn throwaway_mut(&mut self) -> Option<&mut TempPostgres> {
        match self {
            Self::Throwaway(pg) => Some(pg),
            Self::Given(_) => None,
        }
    }

    /// A new admin connection.
    pub fn connect(&self) -> Result<PgConnection, ServerError> {
        PgConnection::establish(&self.admin_url()).map_err(ServerError::Connect)
    }

    /// Runs `sql` on a new admin connection.
    pub fn execute(&self, sql: &str) -> Result<(), ServerError> {
        let mut conn = self.connect()?;
        diesel::sql_query(sql)
            .execute(&mut conn)
            .map(drop)
            .map_err(|source| ServerError::Statement {
                sql: sql.to_owned(),
                source,
            })
    }

    /// Creates database `name` unless it exists (`name` is ours, a plain
    /// identifier, never user input).
    pub fn create_database_if_missing(&self, name: &str) -> Result<(), ServerError> {
        let names = self.database_names()?;
        if !names.iter().any(|existing| existing == name) {
            self.execute(&format!("CREATE DATABASE {name}"))?;
        }
        Ok(())
    }

    /// The names of every database on the server.
    pub fn database_names(&self) -> Result<Vec<String>, ServerError> {
        #[derive(diesel::QueryableByName)]
        struct Name {
            #[diesel(sql_type = diesel::sql_types::Text)]
            datname: String,
        }
        let sql = "SELECT datname FROM pg_database";
        let mut conn = self.connect()?;
        diesel::sql_query(sql)
            .load::<Name>(&mut conn)
            .map(|rows| rows.into_iter().map(|row| row.datname).collect())
            .map_err(|source| ServerError::Statement {
                sql: sql.to_owned(),
                source,
            })
    }
}
