//! Both services in this process, against a throwaway PostgreSQL (or the
//! server in `DATABASE_URL`), for the dev stack and the benchmarks.

use std::collections::HashMap;

use diesel::{Connection, PgConnection, RunQueryDsl};
use shared::config::{ConfigError, EnvReader};
use shared::startup::{Application, StartupError};

use crate::postgres::TempPostgres;

/// Where the stack's databases live.
pub enum Database {
    /// Started for this stack; deleted when it stops.
    Throwaway(TempPostgres),
    /// The server in `DATABASE_URL`.
    Given(String),
}

impl Database {
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
}

/// Why the stack did not start.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("{0}")]
    Database(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot start: {0}")]
    Startup(#[from] StartupError),
}

/// How to run the stack.
pub struct StackOptions {
    /// Whether the JWT secrets came from the environment (else fresh).
    pub secrets_given: bool,
    pub auth_bind: String,
    pub profile_bind: String,
    pub access_secret: String,
    pub refresh_secret: String,
    /// Variables set for both services, over the environment.
    pub extra: Vec<(String, String)>,
}

impl StackOptions {
    /// From the environment: `AUTH_BIND_ADDR`, `PROFILE_BIND_ADDR` (default
    /// 127.0.0.1:8001 and :8002), the JWT secrets (fresh when unset).
    pub fn from_env() -> Self {
        shared::config::load_dotenv();
        let var = |name: &str, default: &dyn Fn() -> String| {
            std::env::var(name).unwrap_or_else(|_| default())
        };
        Self {
            auth_bind: var("AUTH_BIND_ADDR", &|| "127.0.0.1:8001".into()),
            profile_bind: var("PROFILE_BIND_ADDR", &|| "127.0.0.1:8002".into()),
            secrets_given: std::env::var_os("JWT_SECRET_KEY").is_some(),
            access_secret: var("JWT_SECRET_KEY", &fresh_secret),
            refresh_secret: var("JWT_REFRESH_SECRET_KEY", &fresh_secret),
            extra: Vec::new(),
        }
    }
}

/// Both services, bound and ready to run.
pub struct Stack {
    pub auth: Application,
    pub profile: Application,
    pub database: Database,
}

/// Starts the database (unless `DATABASE_URL` names one), creates a
/// database per service and builds both services.
pub async fn start(options: StackOptions) -> Result<Stack, StackError> {
    let database = tokio::task::spawn_blocking(prepare_database)
        .await
        .map_err(|error| StackError::Database(error.to_string()))??;
    let host = |bind: &str| bind.replace("0.0.0.0", "localhost");
    let token_url = std::env::var("AUTH_TOKEN_URL")
        .unwrap_or_else(|_| format!("http://{}/login", host(&options.auth_bind)));
    let cors = std::env::var("CORS_ALLOWED_ORIGINS")
        .unwrap_or_else(|_| dev_origins(&[&options.auth_bind, &options.profile_bind]));
    let reader = |pairs: Vec<(&str, String)>| {
        let mut map: HashMap<String, String> = options.extra.iter().cloned().collect();
        map.extend(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)));
        EnvReader::with_overrides(map)
    };
    let auth = auth_service::config::Config::read(reader(vec![
        ("DATABASE_URL", database.url("auth")),
        ("JWT_SECRET_KEY", options.access_secret.clone()),
        ("JWT_REFRESH_SECRET_KEY", options.refresh_secret.clone()),
        ("CORS_ALLOWED_ORIGINS", cors.clone()),
        ("BIND_ADDR", options.auth_bind.clone()),
    ]))?;
    let profile = profile_service::config::Config::read(reader(vec![
        ("DATABASE_URL", database.url("profile")),
        ("JWT_SECRET_KEY", options.access_secret.clone()),
        ("CORS_ALLOWED_ORIGINS", cors),
        ("BIND_ADDR", options.profile_bind.clone()),
        ("AUTH_TOKEN_URL", token_url),
    ]))?;
    Ok(Stack {
        auth: auth_service::startup::build(auth).await?,
        profile: profile_service::startup::build(profile).await?,
        database,
    })
}

fn prepare_database() -> Result<Database, StackError> {
    let failed = |error: &dyn std::fmt::Display| StackError::Database(error.to_string());
    let database = match std::env::var("DATABASE_URL") {
        Ok(url) => Database::Given(url),
        Err(_) => {
            let pg = TempPostgres::start().map_err(|e| failed(&e))?;
            pg.stop_when_process_exits().map_err(|e| failed(&e))?;
            Database::Throwaway(pg)
        }
    };
    let admin = match &database {
        Database::Throwaway(pg) => pg.url("postgres"),
        Database::Given(url) => url.clone(),
    };
    let mut conn = PgConnection::establish(&admin)
        .map_err(|error| StackError::Database(format!("cannot connect to PostgreSQL: {error}")))?;
    for name in ["auth", "profile"] {
        let exists = diesel::sql_query(format!(
            "SELECT 1 FROM pg_database WHERE datname = '{name}'"
        ))
        .execute(&mut conn)
        .map_err(|e| failed(&e))?;
        if exists == 0 {
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .map_err(|error| {
                    StackError::Database(format!("cannot create database {name}: {error}"))
                })?;
        }
    }
    Ok(database)
}

/// Both services' own origins under the names a browser may use, so each
/// Swagger UI can call the auth service.
fn dev_origins(binds: &[&str]) -> String {
    binds
        .iter()
        .filter_map(|bind| bind.rsplit_once(':').map(|(_, port)| port))
        .flat_map(|port| {
            [
                format!("http://localhost:{port}"),
                format!("http://127.0.0.1:{port}"),
            ]
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// 64 hex characters from two random UUIDs: 244 random bits.
pub fn fresh_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}
