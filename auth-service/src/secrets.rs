//! `auth-service generate-secrets DIR`: the secrets a Docker deployment
//! needs, written once into DIR (a volume mounted at `/run/secrets`), so
//! `docker compose up` works on a fresh clone with no setup step.
//!
//! Each file is, in this order of preference: the operator's value from
//! the environment (`JWT_SECRET_KEY`, `JWT_REFRESH_SECRET_KEY`,
//! `EVENT_SECRET`, `MFA_ENCRYPTION_KEY`, `POSTGRES_PASSWORD`), which always
//! wins; the file already there, which is never overwritten; or a new random secret. The database URLs are
//! derived from the password (host `SECRETS_DB_HOST`, default `db`). Files
//! are mode 0400; with `SECRETS_UID` set, the services' files are owned by
//! that user (the password stays root's, for PostgreSQL's entrypoint).
//! Values are never printed.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::process::ExitCode;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use shared::events::EventSecret;
use shared::keys::random_secret;

/// (file, variable that overrides it, readable by the services, a new
/// value)
type Secret = (&'static str, &'static str, bool, fn() -> String);
const SECRETS: &[Secret] = &[
    ("jwt_secret_key", "JWT_SECRET_KEY", true, random_secret),
    (
        "jwt_refresh_secret_key",
        "JWT_REFRESH_SECRET_KEY",
        true,
        random_secret,
    ),
    ("event_secret", "EVENT_SECRET", true, EventSecret::generate),
    (
        "mfa_encryption_key",
        "MFA_ENCRYPTION_KEY",
        true,
        random_secret,
    ),
    (
        "postgres_password",
        "POSTGRES_PASSWORD",
        false,
        random_secret,
    ),
];

/// Runs the subcommand; prints one line per file (what was done, never
/// the value).
pub fn generate(dir: &Path) -> ExitCode {
    match write_all(dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("generate-secrets: {error}");
            ExitCode::from(1)
        }
    }
}

fn write_all(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let owner = std::env::var("SECRETS_UID")
        .ok()
        .and_then(|uid| uid.trim().parse::<u32>().ok());
    let mut password_changed = false;
    for (file, variable, for_services, generate) in SECRETS {
        let path = dir.join(file);
        let given = std::env::var(variable)
            .ok()
            .filter(|v| !v.trim().is_empty());
        // Existence, not contents: a file owned by the services is not
        // readable here (no capability but CHOWN), and an unreadable
        // secret must never look missing and be replaced.
        let exists = path.try_exists()?;
        if *file == "postgres_password"
            && exists
            && let Some(given) = &given
            && std::fs::read_to_string(&path).is_ok_and(|old| old != *given)
        {
            return Err(std::io::Error::other(
                "POSTGRES_PASSWORD differs from the stored postgres_password, and PostgreSQL \
                 keeps the password it was created with: change it with ALTER USER first, \
                 then delete the postgres_password file from the secrets volume",
            ));
        }
        let (value, how) = match given {
            Some(given) if std::fs::read_to_string(&path).is_ok_and(|old| old == given) => {
                (None, "kept (same as the environment)")
            }
            Some(given) => (Some(given), "set from the environment"),
            None if exists => (None, "kept"),
            None => (Some(generate()), "generated"),
        };
        if let Some(value) = value {
            write_secret(&path, &value, owner.filter(|_| *for_services))?;
            password_changed |= *file == "postgres_password";
        }
        println!("generate-secrets: {file}: {how}");
    }
    let password = std::fs::read_to_string(dir.join("postgres_password"))?;
    let host = std::env::var("SECRETS_DB_HOST").unwrap_or_else(|_| "db".to_owned());
    for database in ["auth", "profile"] {
        let path = dir.join(format!("{database}_database_url"));
        if password_changed || !path.exists() {
            // Percent-encoded: an operator's password may hold @ / : ? %.
            let password = utf8_percent_encode(&password, NON_ALPHANUMERIC);
            let url = format!("postgres://postgres:{password}@{host}:5432/{database}");
            write_secret(&path, &url, owner)?;
            println!("generate-secrets: {database}_database_url: derived from postgres_password");
        } else {
            println!("generate-secrets: {database}_database_url: kept");
        }
    }
    Ok(())
}

/// Writes `value` to `path` through a temporary file and a rename, so a
/// reader never sees half a secret; mode 0400, owned by `owner` if given.
fn write_secret(path: &Path, value: &str, owner: Option<u32>) -> std::io::Result<()> {
    let temporary = path.with_extension("new");
    let _ = std::fs::remove_file(&temporary);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(value.as_bytes())?;
    file.sync_all()?;
    std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o400))?;
    if let Some(uid) = owner {
        std::os::unix::fs::chown(&temporary, Some(uid), Some(uid))?;
    }
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn writes_missing_secrets_once_and_never_overwrites_them() {
        let dir = std::env::temp_dir().join(format!("secrets-{}", uuid::Uuid::new_v4().simple()));
        write_all(&dir).unwrap();
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
        let first = (read("jwt_secret_key"), read("auth_database_url"));
        assert!(first.0.len() >= 32);
        assert!(first.1.contains(&read("postgres_password")));
        let event_secret = secrecy::SecretString::from(read("event_secret"));
        assert!(EventSecret::parse(&event_secret).is_ok());
        assert!(read("mfa_encryption_key").len() >= 32);
        let mode = std::fs::metadata(dir.join("jwt_secret_key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o400);
        write_all(&dir).unwrap();
        assert_eq!((read("jwt_secret_key"), read("auth_database_url")), first);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
