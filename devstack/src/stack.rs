//! Both services in this process, against a throwaway PostgreSQL (or the
//! server in `DATABASE_URL`), for the dev stack and the benchmark's scale run.

use std::collections::HashMap;
use std::net::SocketAddr;

use service_kit::config::{ConfigError, EnvReader};
use service_kit::startup::{Application, StartupError};
use shared::keys::random_secret;
use test_db::{PgServer, ServerError};

/// Why the stack did not start; show it with `service_kit::error::Chain`,
/// which adds the causes (`cannot start: cannot listen on …: Address
/// already in use`).
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("PostgreSQL")]
    Database(#[from] ServerError),
    #[error("the database task failed: {0}")]
    Task(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot start")]
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
    /// The services on `auth_bind` and `profile_bind`, with the JWT secrets
    /// of the environment (`.env` included), or fresh ones when unset.
    pub fn new(auth_bind: String, profile_bind: String) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            auth_bind,
            profile_bind,
            secrets_given: var("JWT_SECRET_KEY").is_some(),
            access_secret: var("JWT_SECRET_KEY").unwrap_or_else(random_secret),
            refresh_secret: var("JWT_REFRESH_SECRET_KEY").unwrap_or_else(random_secret),
            extra: Vec::new(),
        }
    }
}

/// Both services, bound and ready to run.
pub struct Stack {
    pub auth: Application,
    pub profile: Application,
    pub database: PgServer,
}

/// Starts the database (unless `DATABASE_URL` names one), creates a
/// database per service and builds both services.
pub async fn start(options: StackOptions) -> Result<Stack, StackError> {
    let database = tokio::task::spawn_blocking(prepare_database)
        .await
        .map_err(|error| StackError::Task(error.to_string()))??;
    let host = |bind: &str| bind.replace("0.0.0.0", "localhost");
    let token_url = std::env::var("AUTH_TOKEN_URL")
        .unwrap_or_else(|_| format!("http://{}/login", host(&options.auth_bind)));
    // The RFC 8414 metadata's endpoints point here unless told otherwise.
    let public_url = std::env::var("AUTH_PUBLIC_URL")
        .unwrap_or_else(|_| format!("http://{}", host(&options.auth_bind)));
    let cors = std::env::var("CORS_ALLOWED_ORIGINS")
        .unwrap_or_else(|_| dev_origins(&[&options.auth_bind, &options.profile_bind]));
    let reader = |pairs: Vec<(&str, String)>| {
        let mut map: HashMap<String, String> = options.extra.iter().cloned().collect();
        map.extend(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)));
        EnvReader::with_overrides(map)
    };
    let events = Events::from_env()?;
    let auth = auth_service::config::Config::read(reader(vec![
        ("EVENT_ENDPOINTS", events.endpoint.clone()),
        ("EVENT_SECRET", events.secret.clone()),
        ("DATABASE_URL", database.url("auth")),
        ("JWT_SECRET_KEY", options.access_secret.clone()),
        ("JWT_REFRESH_SECRET_KEY", options.refresh_secret.clone()),
        ("CORS_ALLOWED_ORIGINS", cors.clone()),
        ("BIND_ADDR", options.auth_bind.clone()),
        ("AUTH_PUBLIC_URL", public_url),
    ]))?;
    let profile = profile_service::config::Config::read(reader(vec![
        ("EVENT_SECRET", events.secret),
        ("INTERNAL_BIND_ADDR", events.internal),
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

/// Revocation events from the auth service to the profile service: on,
/// with a fresh `EVENT_SECRET` and a free loopback port for the profile
/// service's internal listener, unless the environment says otherwise.
struct Events {
    endpoint: String,
    secret: String,
    internal: String,
}

impl Events {
    fn from_env() -> Result<Self, StackError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let internal = match var("INTERNAL_BIND_ADDR") {
            Some(addr) => addr,
            None => {
                let free = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|listener| listener.local_addr())
                    .map_err(|error| {
                        StackError::Startup(StartupError::Other(format!(
                            "no free port for the events listener: {error}"
                        )))
                    })?;
                free.to_string()
            }
        };
        Ok(Self {
            endpoint: var("EVENT_ENDPOINTS").unwrap_or_else(|| format!("http://{internal}/events")),
            secret: var("EVENT_SECRET").unwrap_or_else(shared::events::EventSecret::generate),
            internal,
        })
    }
}

/// The URL a client on this machine uses for a service bound to `addr`.
pub fn url(addr: SocketAddr) -> String {
    format!("http://{}", service_kit::startup::reachable(addr))
}

/// What the dev stack tells a person once it runs: where each service,
/// its Swagger UI and its metrics are, which database and secrets it uses,
/// where mail goes, and how to stop it.
pub struct Running {
    auth: String,
    profile: String,
    auth_metrics: String,
    profile_metrics: String,
    database: String,
    secrets: &'static str,
    mail: String,
}

impl Running {
    /// The addresses `stack` is bound to; `secrets` says where the JWT
    /// secrets came from, `mail` where the auth service's mail goes.
    pub fn of(stack: &Stack, secrets: &'static str, mail: String) -> Self {
        let metrics = |app: &Application| {
            app.metrics_addr().map_or_else(
                || "off (METRICS_BIND_ADDR is empty)".to_owned(),
                |addr| format!("{}/metrics", url(addr)),
            )
        };
        Self {
            auth: url(stack.auth.addr()),
            profile: url(stack.profile.addr()),
            auth_metrics: metrics(&stack.auth),
            profile_metrics: metrics(&stack.profile),
            database: stack.database.describe(),
            secrets,
            mail,
        }
    }

    /// A short block for a terminal, one thing a line.
    pub fn block(&self) -> String {
        let rows = [
            (
                "auth-service",
                format!("{}   Swagger UI {}/docs/", self.auth, self.auth),
            ),
            (
                "profile-service",
                format!("{}   Swagger UI {}/docs/", self.profile, self.profile),
            ),
            (
                "metrics",
                format!("{}   {}", self.auth_metrics, self.profile_metrics),
            ),
            ("database", self.database.clone()),
            ("JWT secrets", self.secrets.to_owned()),
            ("mail", self.mail.clone()),
        ];
        let mut block = String::from("\n  The dev stack is running.\n\n");
        for (what, where_) in rows {
            block.push_str(&format!("  {what:<16} {where_}\n"));
        }
        block.push_str("\n  Ctrl-C stops everything. The services' logs follow.\n");
        block
    }

    /// The same as one log line, for JSON logs (where every line is a JSON
    /// object, and scripts read the URLs from it).
    pub fn log(&self) {
        tracing::info!(
            auth = %self.auth,
            profile = %self.profile,
            auth_docs = %format!("{}/docs/", self.auth),
            profile_docs = %format!("{}/docs/", self.profile),
            auth_metrics = %self.auth_metrics,
            profile_metrics = %self.profile_metrics,
            database = %self.database,
            mail = %self.mail,
            secrets = self.secrets,
            "dev stack running; Ctrl-C stops it"
        );
    }
}

fn prepare_database() -> Result<PgServer, StackError> {
    let server = PgServer::from_env_or_throwaway()?;
    for name in ["auth", "profile"] {
        server.create_database_if_missing(name)?;
    }
    Ok(server)
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
