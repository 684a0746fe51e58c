//! The harness: one PostgreSQL per test run (`DATABASE_URL`, or a
//! throwaway one) with a migrated template database per service; per test,
//! a copy of each template and both real binaries on free ports. The
//! request helpers are `client.rs`'s, the child processes `service.rs`'s.

use std::path::Path;
use std::sync::OnceLock;

pub use shared::keys::random_secret;
use test_db::{PgServer, Templates, TestDatabase};

pub use crate::support::service::Service;

static TEMPLATES: OnceLock<Result<Templates, String>> = OnceLock::new();

fn templates() -> &'static Templates {
    let prepared = TEMPLATES.get_or_init(|| {
        let server = PgServer::from_env_or_throwaway()
            .map_err(|e| service_kit::error::Chain(&e).to_string())?;
        Templates::prepare(
            server,
            "e2e",
            vec![
                ("auth", auth_service::testing::MIGRATIONS),
                ("profile", profile_service::testing::MIGRATIONS),
            ],
        )
        .map_err(|e| service_kit::error::Chain(&e).to_string())
    });
    match prepared {
        Ok(templates) => templates,
        Err(error) => panic!("cannot start the test database: {error}"),
    }
}

/// A fresh database with no migrations applied, dropped with the value.
pub fn empty_database(service: &str) -> TestDatabase {
    templates()
        .empty_database(service)
        .unwrap_or_else(|e| panic!("cannot create an empty database: {e}"))
}

/// What a test may change about the stack.
#[derive(Default)]
pub struct StackBuilder {
    auth_env: Vec<(String, String)>,
    profile_env: Vec<(String, String)>,
    own_server: bool,
}

/// How a service run to its end ended: exit code and every line printed.
pub struct Exit {
    pub code: Option<i32>,
    pub lines: Vec<String>,
}

impl StackBuilder {
    /// Sets (or overrides) a variable of the auth service; an empty value
    /// counts as unset.
    pub fn auth_env(mut self, name: &str, value: &str) -> Self {
        self.auth_env.push((name.into(), value.into()));
        self
    }

    /// Sets (or overrides) a variable of the profile service.
    pub fn profile_env(mut self, name: &str, value: &str) -> Self {
        self.profile_env.push((name.into(), value.into()));
        self
    }

    /// Sends the auth service's mail to `sink` (with `MAIL_FROM` and
    /// `APP_URL` set, and no mail interval unless the test sets one).
    pub fn mail(self, sink: &crate::support::smtp::SmtpSink) -> Self {
        self.auth_env("SMTP_URL", &sink.url())
            .auth_env("MAIL_FROM", "Example <no-reply@example.com>")
            .auth_env("APP_URL", "https://app.example")
            .auth_env("MAIL_INTERVAL_SECONDS", "0")
    }

    /// Turns events on: the auth service delivers to the profile service's
    /// internal listener, on a port fixed for the stack's life (so both
    /// survive each other's restarts), with a fresh `EVENT_SECRET`.
    pub fn events(self) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let secret = shared::events::EventSecret::generate();
        self.auth_env(
            "EVENT_ENDPOINTS",
            &format!("http://127.0.0.1:{port}/events"),
        )
        .auth_env("EVENT_SECRET", &secret)
        .profile_env("EVENT_SECRET", &secret)
        .profile_env("INTERNAL_BIND_ADDR", &format!("127.0.0.1:{port}"))
    }

    /// Gives the stack a throwaway PostgreSQL server of its own, which the
    /// test may stop and start ([`TestStack::stop_database`]).
    pub fn own_server(mut self) -> Self {
        self.own_server = true;
        self
    }

    /// Copies the templates and starts both binaries.
    pub async fn start(self) -> TestStack {
        tokio::task::spawn_blocking(move || self.start_blocking())
            .await
            .unwrap_or_else(|error| panic!("stack start-up panicked: {error}"))
    }

    /// The environment of `service` (`auth` or `profile`) with `database_url`.
    fn env(&self, service: &str, secrets: &(String, String), url: &str) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("DATABASE_URL", url),
            ("JWT_SECRET_KEY", &secrets.0),
            ("BIND_ADDR", "127.0.0.1:0"),
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", "info"),
            ("METRICS_BIND_ADDR", "127.0.0.1:0"),
            ("DB_POOL_MAX_SIZE", "8"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        if service == "auth" {
            env.extend(
                [
                    ("JWT_REFRESH_SECRET_KEY", secrets.1.as_str()),
                    ("BCRYPT_COST", "4"),
                    ("RATE_LIMIT_PER_MINUTE", "0"),
                ]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            );
            env.extend(self.auth_env.iter().cloned());
        } else {
            env.extend(self.profile_env.iter().cloned());
        }
        env
    }

    /// Runs `bin` with this builder's environment (and a database nobody
    /// listens on) in `dir`, to its end: for start-up failures.
    pub fn run_to_exit(&self, bin: &str, dir: &Path) -> Exit {
        let service = bin.trim_end_matches("-service");
        let secrets = (random_secret(), random_secret());
        let env = self.env(service, &secrets, "postgres://nobody@127.0.0.1:1/none");
        let output = crate::support::service::command(bin, &env, dir)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        Exit {
            code: output.status.code(),
            lines: text.lines().map(str::to_owned).collect(),
        }
    }

    fn start_blocking(self) -> TestStack {
        let secrets = (random_secret(), random_secret());
        let (server, databases, urls) = if self.own_server {
            let server = PgServer::throwaway()
                .unwrap_or_else(|e| panic!("{}", service_kit::error::Chain(&e)));
            for name in ["auth", "profile"] {
                server
                    .create_database_if_missing(name)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            let urls = (server.url("auth"), server.url("profile"));
            (Some(server), Vec::new(), urls)
        } else {
            let auth = templates().database("auth");
            let profile = templates().database("profile");
            let (auth, profile) = match (auth, profile) {
                (Ok(auth), Ok(profile)) => (auth, profile),
                (Err(e), _) | (_, Err(e)) => panic!("cannot create test databases: {e}"),
            };
            let urls = (auth.url().to_owned(), profile.url().to_owned());
            (None, vec![auth, profile], urls)
        };
        let auth_env = self.env("auth", &secrets, &urls.0);
        let profile_env = self.env("profile", &secrets, &urls.1);
        let auth = Service::spawn("auth-service", &auth_env, urls.0);
        let profile = Service::spawn("profile-service", &profile_env, urls.1);
        let drop_url = |env: Vec<(String, String)>| -> Vec<(String, String)> {
            env.into_iter()
                .filter(|(k, _)| k != "DATABASE_URL")
                .collect()
        };
        let (auth_env, profile_env) = (drop_url(auth_env), drop_url(profile_env));
        TestStack {
            auth,
            profile,
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
            access_secret: secrets.0,
            refresh_secret: secrets.1,
            auth_env,
            profile_env,
            _databases: databases,
            server,
        }
    }
}

/// Both services, running against their own fresh databases.
pub struct TestStack {
    pub auth: Service,
    pub profile: Service,
    pub client: reqwest::Client,
    /// `JWT_SECRET_KEY` of this stack.
    pub access_secret: String,
    /// `JWT_REFRESH_SECRET_KEY` of this stack.
    pub refresh_secret: String,
    auth_env: Vec<(String, String)>,
    profile_env: Vec<(String, String)>,
    /// Dropped after the services (fields drop in order, after `Drop`).
    _databases: Vec<TestDatabase>,
    server: Option<PgServer>,
}

impl TestStack {
    /// Stops the stack's own server hard (`pg_ctl stop -m immediate`).
    pub async fn stop_database(&mut self) {
        let pg = self.own_server_mut();
        let stopped = tokio::task::block_in_place(|| pg.pause());
        stopped.unwrap_or_else(|e| panic!("{e}"));
    }

    /// Starts the stack's own server again, on the same port.
    pub async fn start_database(&mut self) {
        let pg = self.own_server_mut();
        let started = tokio::task::block_in_place(|| pg.start_again());
        started.unwrap_or_else(|e| panic!("{e}"));
    }

    /// Stops `bin` (`auth-service` or `profile-service`) and starts it
    /// again on the same database with `changes` to its environment (an
    /// empty value unsets a variable); later restarts keep them.
    pub fn restart(&mut self, bin: &str, changes: &[(&str, &str)]) {
        let (env, service) = if bin == "auth-service" {
            (&mut self.auth_env, &mut self.auth)
        } else {
            (&mut self.profile_env, &mut self.profile)
        };
        env.extend(
            changes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let _ = service.child.kill();
        let _ = service.child.wait();
        let url = service.database_url.clone();
        let mut with_url = env.clone();
        with_url.push(("DATABASE_URL".into(), url.clone()));
        *service = Service::spawn(bin, &with_url, url);
    }

    /// Starts one more `auth-service` or `profile-service` process with
    /// this stack's environment and secrets against `database_url` (a
    /// replica, when it is the stack's own), without waiting for it.
    pub fn start_another(&self, bin: &str, database_url: &str) -> Service {
        let mut env = if bin == "auth-service" {
            self.auth_env.clone()
        } else {
            self.profile_env.clone()
        };
        env.push(("DATABASE_URL".into(), database_url.into()));
        // The events port is the first replica's; another hears of events
        // through the database's notifications.
        if bin == "profile-service" {
            env.push(("INTERNAL_BIND_ADDR".into(), "127.0.0.1:0".into()));
        }
        Service::start(bin, &env, database_url.into())
    }

    /// The auth service's `EVENT_ENDPOINTS` and the stack's
    /// `EVENT_SECRET`, when [`StackBuilder::events`] turned events on.
    pub fn events_endpoint(&self) -> Option<(String, String)> {
        let find = |name: &str| {
            self.auth_env
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        Some((find("EVENT_ENDPOINTS")?, find("EVENT_SECRET")?))
    }

    /// The URL of database `name` on the stack's own server.
    pub fn own_server_url(&self, name: &str) -> String {
        self.server
            .as_ref()
            .map(|server| server.url(name))
            .unwrap_or_else(|| panic!("the stack has no server of its own: use own_server()"))
    }

    /// Runs `sql` as admin on the stack's own server.
    pub fn own_server_execute(&self, sql: &str) {
        self.server
            .as_ref()
            .map(|server| server.execute(sql))
            .unwrap_or_else(|| panic!("the stack has no server of its own: use own_server()"))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    fn own_server_mut(&mut self) -> &mut test_db::TempPostgres {
        self.server
            .as_mut()
            .and_then(PgServer::throwaway_mut)
            .unwrap_or_else(|| panic!("the stack has no server of its own: use own_server()"))
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        let _ = self.auth.child.kill();
        let _ = self.profile.child.kill();
        let _ = self.auth.child.wait();
        let _ = self.profile.child.wait();
    }
}
