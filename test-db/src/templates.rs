//! Migrated template databases, one per service, and a copy per test.
//!
//! Names are `<prefix>_<pid>_<service>_template` and
//! `<prefix>_<pid>_<service>_<random>`: the process id lets the next run
//! sweep what a killed run left behind (its process is gone).

use std::path::Path;
use std::sync::{Arc, Mutex};

use diesel::{Connection, PgConnection};
use diesel_migrations::EmbeddedMigrations;

use crate::pg_server::{PgServer, ServerError};

struct Inner {
    server: PgServer,
    prefix: String,
    /// Serialises CREATE/DROP DATABASE, which contend on the templates.
    ddl: Mutex<()>,
}

impl Inner {
    fn execute(&self, sql: &str) -> Result<(), ServerError> {
        let _guard = self.ddl.lock().unwrap_or_else(|poison| poison.into_inner());
        self.server.execute(sql)
    }

    fn template(&self, service: &str) -> String {
        format!("{}_{service}_template", self.prefix)
    }
}

/// A server with one migrated template database per service.
#[derive(Clone)]
pub struct Templates {
    inner: Arc<Inner>,
}

impl Templates {
    /// Sweeps databases of earlier runs whose process is gone, then makes
    /// a migrated template per `(service, migrations)`. `prefix` names the
    /// user (`e2e`, `bench`): only its databases are swept.
    pub fn prepare(
        server: PgServer,
        prefix: &str,
        services: Vec<(&str, EmbeddedMigrations)>,
    ) -> Result<Self, ServerError> {
        let inner = Inner {
            prefix: format!("{prefix}_{}", std::process::id()),
            server,
            ddl: Mutex::new(()),
        };
        sweep(&inner.server, prefix)?;
        for (service, migrations) in services {
            let template = inner.template(service);
            inner.execute(&format!("CREATE DATABASE {template}"))?;
            let url = inner.server.url(&template);
            let mut conn = PgConnection::establish(&url).map_err(ServerError::Connect)?;
            service_kit::db::migrate(&mut conn, migrations).map_err(|source| {
                ServerError::Migrate {
                    database: template.clone(),
                    source,
                }
            })?;
        }
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The server the templates live on.
    pub fn server(&self) -> &PgServer {
        &self.inner.server
    }

    /// A fresh copy of `service`'s template, dropped with the value.
    pub fn database(&self, service: &str) -> Result<TestDatabase, ServerError> {
        let template = self.inner.template(service);
        self.new_database(service, &format!("TEMPLATE {template}"))
    }

    /// A fresh empty database (no migrations), dropped with the value: for
    /// tests of the migrations themselves.
    pub fn empty_database(&self, service: &str) -> Result<TestDatabase, ServerError> {
        self.new_database(service, "")
    }

    fn new_database(&self, service: &str, options: &str) -> Result<TestDatabase, ServerError> {
        let name = format!(
            "{}_{service}_{}",
            self.inner.prefix,
            uuid::Uuid::new_v4().simple()
        );
        self.inner
            .execute(&format!("CREATE DATABASE {name} {options}"))?;
        Ok(TestDatabase {
            url: self.inner.server.url(&name),
            name,
            owner: Arc::clone(&self.inner),
        })
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Best effort: a run that is killed leaves these to the next sweep.
        if let Ok(names) = self.server.database_names() {
            for name in names.iter().filter(|n| n.starts_with(&self.prefix)) {
                let _ = self.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// One test's database; dropped (connections and all) with the value.
pub struct TestDatabase {
    name: String,
    url: String,
    owner: Arc<Inner>,
}

impl TestDatabase {
    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = self.owner.execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// Drops the databases named `<prefix>_<pid>_…` whose process is gone.
fn sweep(server: &PgServer, prefix: &str) -> Result<(), ServerError> {
    let stale: Vec<String> = server
        .database_names()?
        .into_iter()
        .filter(|name| owner_is_gone(name, prefix))
        .collect();
    for name in stale {
        server.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    }
    Ok(())
}

/// Whether `name` is one of `prefix`'s databases made by a process that no
/// longer runs on this machine.
fn owner_is_gone(name: &str, prefix: &str) -> bool {
    let Some(rest) = name
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
    else {
        return false;
    };
    let Some(pid) = rest
        .split('_')
        .next()
        .and_then(|pid| pid.parse::<u32>().ok())
    else {
        return false;
    };
    pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_prefix_with_a_dead_pid_is_stale() {
        let me = std::process::id();
        assert!(!owner_is_gone(&format!("e2e_{me}_auth_template"), "e2e"));
        assert!(!owner_is_gone("bench_4000000000_auth_x", "e2e"));
        assert!(!owner_is_gone("e2e_notapid_auth", "e2e"));
        assert!(!owner_is_gone("e2eother_1_auth", "e2e"));
        // pid_max on Linux is at most 2^22, so this pid cannot be alive.
        assert!(owner_is_gone("e2e_4000000000_auth_template", "e2e"));
    }
}
