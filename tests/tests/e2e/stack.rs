//! The harness: one throwaway PostgreSQL per test run with a migrated
//! template database per service; per test, a copy of each template and
//! both real binaries on free ports. The request helpers are `client.rs`'s.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use devstack::postgres::TempPostgres;
use diesel::{Connection, PgConnection, RunQueryDsl};

/// The PostgreSQL server of this test run and its two templates.
struct Cluster {
    admin_url: String,
    prefix: String,
    /// Serialises CREATE/DROP DATABASE, which contend on the templates.
    ddl: Mutex<()>,
    _server: Option<TempPostgres>,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(start_cluster) {
        Ok(cluster) => cluster,
        Err(error) => panic!("cannot start the test database: {error}"),
    }
}

fn start_cluster() -> Result<Cluster, String> {
    let (server, admin_url) = match std::env::var("DATABASE_URL") {
        Ok(url) => (None, url),
        Err(_) => {
            let pg = TempPostgres::start().map_err(|e| e.to_string())?;
            pg.stop_when_process_exits().map_err(|e| e.to_string())?;
            let url = pg.url("postgres");
            (Some(pg), url)
        }
    };
    let prefix = format!("e2e_{}", std::process::id());
    let cluster = Cluster {
        admin_url,
        prefix,
        ddl: Mutex::new(()),
        _server: server,
    };
    for (name, migrations) in [
        ("auth", auth_service::store::MIGRATIONS),
        ("profile", profile_service::store::MIGRATIONS),
    ] {
        let template = cluster.template(name);
        cluster.execute(&format!("CREATE DATABASE {template}"))?;
        let mut conn =
            PgConnection::establish(&cluster.url(&template)).map_err(|e| e.to_string())?;
        shared::db::migrate(&mut conn, migrations).map_err(|e| e.to_string())?;
    }
    Ok(cluster)
}

impl Cluster {
    fn template(&self, service: &str) -> String {
        format!("{}_{service}_template", self.prefix)
    }

    fn url(&self, database: &str) -> String {
        let base = self.admin_url.split('?').next().unwrap_or(&self.admin_url);
        let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
        format!("{server}/{database}")
    }

    fn execute(&self, sql: &str) -> Result<(), String> {
        let _guard = self.ddl.lock().unwrap_or_else(|poison| poison.into_inner());
        let mut conn = PgConnection::establish(&self.admin_url).map_err(|e| e.to_string())?;
        diesel::sql_query(sql)
            .execute(&mut conn)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// A fresh database copied from `service`'s migrated template.
    fn database_for(&self, service: &str) -> String {
        let name = format!(
            "{}_{service}_{}",
            self.prefix,
            uuid::Uuid::new_v4().simple()
        );
        let template = self.template(service);
        if let Err(error) = self.execute(&format!("CREATE DATABASE {name} TEMPLATE {template}")) {
            panic!("cannot create test database {name}: {error}");
        }
        name
    }
}

/// A random secret of 64 hex characters.
pub fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Where cargo put the service binaries: beside this test binary's folder.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(PathBuf::from)
        .unwrap_or_default();
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the binaries first (cargo build --workspace --bins), or run scripts/test",
        path.display()
    );
    path
}

/// One running service binary and everything it printed.
pub struct Service {
    child: Child,
    pub base_url: String,
    pub database_url: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Service {
    /// Starts `bin` with exactly `env` (plus PATH) and waits until it logs
    /// the address it listens on.
    pub fn spawn(bin: &str, env: &[(String, String)], database_url: String) -> Self {
        let mut child = Command::new(binary(bin))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {bin}: {error}"));
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (listening, address) = mpsc::channel();
        let stdout = child
            .stdout
            .take()
            .map(|out| Box::new(out) as Box<dyn std::io::Read + Send>);
        let stderr = child
            .stderr
            .take()
            .map(|err| Box::new(err) as Box<dyn std::io::Read + Send>);
        for stream in [stdout, stderr].into_iter().flatten() {
            let logs = Arc::clone(&logs);
            let listening = listening.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(addr) = listening_address(&line) {
                        let _ = listening.send(addr);
                    }
                    logs.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                }
            });
        }
        drop(listening);
        match address.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => Self {
                child,
                base_url: format!("http://{addr}"),
                database_url,
                logs,
            },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                let logs = logs.lock().unwrap_or_else(|p| p.into_inner()).join("\n");
                panic!("{bin} did not start listening:\n{logs}");
            }
        }
    }

    /// Every line the service printed so far, stdout and stderr.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit, up to `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// A direct connection to the service's database, for checks the API
    /// cannot make (what is stored, and how).
    pub fn db(&self) -> PgConnection {
        PgConnection::establish(&self.database_url)
            .unwrap_or_else(|e| panic!("cannot connect: {e}"))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listening_address(line: &str) -> Option<String> {
    let event: serde_json::Value = serde_json::from_str(line).ok()?;
    (event["message"] == "listening").then(|| event["addr"].as_str().map(str::to_owned))?
}

/// What a test may change about the stack.
#[derive(Default)]
pub struct StackBuilder {
    auth_env: Vec<(String, String)>,
    profile_env: Vec<(String, String)>,
}

impl StackBuilder {
    /// Sets (or overrides) a variable of the auth service.
    pub fn auth_env(mut self, name: &str, value: &str) -> Self {
        self.auth_env.push((name.into(), value.into()));
        self
    }

    /// Sets (or overrides) a variable of the profile service.
    pub fn profile_env(mut self, name: &str, value: &str) -> Self {
        self.profile_env.push((name.into(), value.into()));
        self
    }

    /// Copies the templates and starts both binaries.
    pub async fn start(self) -> TestStack {
        tokio::task::spawn_blocking(move || self.start_blocking())
            .await
            .unwrap_or_else(|error| panic!("stack start-up panicked: {error}"))
    }

    fn start_blocking(self) -> TestStack {
        let cluster = cluster();
        let access_secret = random_secret();
        let refresh_secret = random_secret();
        let auth_db = cluster.database_for("auth");
        let profile_db = cluster.database_for("profile");
        let common = |db: &str| {
            vec![
                ("DATABASE_URL".to_owned(), cluster.url(db)),
                ("JWT_SECRET_KEY".to_owned(), access_secret.clone()),
                ("BIND_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
                ("LOG_FORMAT".to_owned(), "json".to_owned()),
                ("RUST_LOG".to_owned(), "info".to_owned()),
                ("DB_POOL_MAX_SIZE".to_owned(), "8".to_owned()),
            ]
        };
        let mut auth_env = common(&auth_db);
        auth_env.extend([
            ("JWT_REFRESH_SECRET_KEY".to_owned(), refresh_secret.clone()),
            ("BCRYPT_COST".to_owned(), "4".to_owned()),
            ("RATE_LIMIT_PER_MINUTE".to_owned(), "0".to_owned()),
        ]);
        auth_env.extend(self.auth_env);
        let mut profile_env = common(&profile_db);
        profile_env.extend(self.profile_env);
        let auth = Service::spawn("auth-service", &auth_env, cluster.url(&auth_db));
        let profile = Service::spawn("profile-service", &profile_env, cluster.url(&profile_db));
        TestStack {
            auth,
            profile,
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
            access_secret,
            refresh_secret,
            databases: vec![auth_db, profile_db],
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
    databases: Vec<String>,
}

impl Drop for TestStack {
    fn drop(&mut self) {
        let _ = self.auth.child.kill();
        let _ = self.profile.child.kill();
        let _ = self.auth.child.wait();
        let _ = self.profile.child.wait();
        if let Ok(cluster) = CLUSTER
            .get()
            .map(|c| c.as_ref())
            .unwrap_or(Err(&String::new()))
        {
            for db in &self.databases {
                let _ = cluster.execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
            }
        }
    }
}
