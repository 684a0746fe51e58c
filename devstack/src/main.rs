//! `cargo run -p devstack`: the whole stack on this machine without Docker.
//! A throwaway PostgreSQL (or the server in `DATABASE_URL`), a database per
//! service, fresh secrets (unless `JWT_SECRET_KEY` / `JWT_REFRESH_SECRET_KEY`
//! are set), both services; Ctrl-C stops everything. Other variables of the
//! services (`BCRYPT_COST`, `RATE_LIMIT_PER_MINUTE`, ...) apply as usual;
//! `AUTH_BIND_ADDR` and `PROFILE_BIND_ADDR` move the ports.

use std::collections::HashMap;
use std::process::ExitCode;

use devstack::postgres::TempPostgres;
use diesel::{Connection, PgConnection, RunQueryDsl};
use shared::config::EnvReader;
use shared::telemetry::{self, LogFormat};

/// Where the stack's databases live.
enum Server {
    Throwaway(TempPostgres),
    Given(String),
}

impl Server {
    /// The URL of database `name` on this server.
    fn url(&self, name: &str) -> String {
        match self {
            Self::Throwaway(pg) => pg.url(name),
            Self::Given(url) => {
                let base = url.split('?').next().unwrap_or(url);
                let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
                format!("{server}/{name}")
            }
        }
    }
}

fn start_server() -> Result<Server, String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return Ok(Server::Given(url));
    }
    let pg = TempPostgres::start().map_err(|error| error.to_string())?;
    pg.stop_when_process_exits()
        .map_err(|error| error.to_string())?;
    Ok(Server::Throwaway(pg))
}

fn create_databases(server: &Server) -> Result<(), String> {
    let admin = match server {
        Server::Throwaway(pg) => pg.url("postgres"),
        Server::Given(url) => url.clone(),
    };
    let mut conn = PgConnection::establish(&admin)
        .map_err(|error| format!("cannot connect to PostgreSQL: {error}"))?;
    for name in ["auth", "profile"] {
        let exists = diesel::sql_query(format!(
            "SELECT 1 FROM pg_database WHERE datname = '{name}'"
        ))
        .execute(&mut conn)
        .map_err(|error| error.to_string())?;
        if exists == 0 {
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .map_err(|error| format!("cannot create database {name}: {error}"))?;
        }
    }
    Ok(())
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

/// The variable's value when set, else `default()`.
fn env_or(name: &str, default: fn() -> String) -> String {
    std::env::var(name).unwrap_or_else(|_| default())
}

/// 64 hex characters from two random UUIDs: 244 random bits.
fn fresh_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn overrides(pairs: &[(&str, String)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

#[actix_web::main]
async fn main() -> ExitCode {
    telemetry::init(LogFormat::from_env_or_detect());
    let server = match start_server().and_then(|server| create_databases(&server).map(|()| server))
    {
        Ok(server) => server,
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::from(1);
        }
    };
    let access_secret = env_or("JWT_SECRET_KEY", fresh_secret);
    let auth_bind = std::env::var("AUTH_BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8001".into());
    let profile_bind =
        std::env::var("PROFILE_BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8002".into());
    // Swagger UI on the profile service logs in here.
    let token_url = std::env::var("AUTH_TOKEN_URL")
        .unwrap_or_else(|_| format!("http://{}/login", auth_bind.replace("0.0.0.0", "localhost")));
    let cors = std::env::var("CORS_ALLOWED_ORIGINS")
        .unwrap_or_else(|_| dev_origins(&[&auth_bind, &profile_bind]));
    let auth = auth_service::config::Config::read(EnvReader::with_overrides(overrides(&[
        ("DATABASE_URL", server.url("auth")),
        ("JWT_SECRET_KEY", access_secret.clone()),
        (
            "JWT_REFRESH_SECRET_KEY",
            env_or("JWT_REFRESH_SECRET_KEY", fresh_secret),
        ),
        ("CORS_ALLOWED_ORIGINS", cors.clone()),
        ("BIND_ADDR", auth_bind),
    ])));
    let profile = profile_service::config::Config::read(EnvReader::with_overrides(overrides(&[
        ("DATABASE_URL", server.url("profile")),
        ("JWT_SECRET_KEY", access_secret),
        ("CORS_ALLOWED_ORIGINS", cors),
        ("BIND_ADDR", profile_bind),
        ("AUTH_TOKEN_URL", token_url),
    ])));
    let (auth, profile) = match (auth, profile) {
        (Ok(auth), Ok(profile)) => (auth, profile),
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!("{error}");
            return ExitCode::from(2);
        }
    };
    let (auth_addr, profile_addr) = (auth.common.bind_addr, profile.common.bind_addr);
    let started = async {
        let auth = auth_service::startup::build(auth).await?;
        let profile = profile_service::startup::build(profile).await?;
        Ok::<_, shared::startup::StartupError>((auth, profile))
    };
    let (auth, profile) = match started.await {
        Ok(both) => both,
        Err(error) => {
            tracing::error!("cannot start: {error}");
            return ExitCode::from(1);
        }
    };
    let database = match &server {
        Server::Throwaway(pg) => format!(
            "throwaway PostgreSQL on 127.0.0.1:{} (deleted on exit)",
            pg.port()
        ),
        Server::Given(_) => "the server in DATABASE_URL".to_owned(),
    };
    tracing::info!(
        auth = %format!("http://{auth_addr}"),
        profile = %format!("http://{profile_addr}"),
        auth_docs = %format!("http://{auth_addr}/docs/"),
        profile_docs = %format!("http://{profile_addr}/docs/"),
        %database,
        "dev stack running with fresh secrets; Ctrl-C stops it"
    );
    let (auth, profile) = tokio::join!(auth.run_until_stopped(), profile.run_until_stopped());
    drop(server);
    match (auth, profile) {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!("server failed: {error}");
            ExitCode::from(1)
        }
    }
}
