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
//!
//! With `--keys es256` (or `eddsa`) it also writes an asymmetric key for
//! access tokens: `jwt_keys`, the auth service's `JWT_KEYS` (the private
//! key, signing), and `jwt_public_keys`, the profile service's (the public
//! key only). They are made together and kept together.
//!
//! `generate-secrets --print` writes nothing: it prints the same set (the
//! environment's values or new ones) as `name value` lines on stdout, for
//! a pipe into `docker secret create` (Docker Swarm keeps them; nothing
//! touches the operator's disk). It refuses a terminal as stdout.

use std::io::{IsTerminal, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::process::ExitCode;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};
use shared::events::EventSecret;
use shared::keys::{KeySet, SigningKind, generate_signing_set, random_secret};

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

/// The kind of key `--keys` names: `hs256` (the default: no key set),
/// `es256` or `eddsa`.
pub fn key_kind(value: &str) -> Result<Option<SigningKind>, String> {
    if value.eq_ignore_ascii_case("hs256") {
        return Ok(None);
    }
    value.parse().map(Some)
}

/// Runs the subcommand; prints one line per file (what was done, never
/// the value).
pub fn generate(dir: &Path, keys: Option<SigningKind>) -> ExitCode {
    match write_all(dir).and_then(|()| match keys {
        Some(kind) => write_key_sets(dir, kind),
        None => Ok(()),
    }) {
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
    for database in ["auth", "profile"] {
        let path = dir.join(format!("{database}_database_url"));
        if password_changed || !path.exists() {
            write_secret(&path, &database_url(&password, database), owner)?;
            println!("generate-secrets: {database}_database_url: derived from postgres_password");
        } else {
            println!("generate-secrets: {database}_database_url: kept");
        }
    }
    Ok(())
}

/// The URL of `database` with `password` (percent-encoded: an operator's
/// password may hold @ / : ? %), on host `SECRETS_DB_HOST` (default `db`).
fn database_url(password: &str, database: &str) -> String {
    let host = std::env::var("SECRETS_DB_HOST").unwrap_or_else(|_| "db".to_owned());
    let password = utf8_percent_encode(password, NON_ALPHANUMERIC);
    format!("postgres://postgres:{password}@{host}:5432/{database}")
}

/// Runs `generate-secrets --print`: every secret as a `name value` line
/// (each value from the environment, else new), the database URLs derived
/// from the password, and with `keys` a signing key set and its public
/// set; written at once, or not at all.
pub fn print(keys: Option<SigningKind>) -> ExitCode {
    let mut stdout = std::io::stdout();
    if stdout.is_terminal() {
        eprintln!(
            "generate-secrets: --print writes secrets for a pipe, not a terminal: \
             generate-secrets --print | while ...; docker secret create NAME -"
        );
        return ExitCode::from(2);
    }
    let lines = secret_lines(keys);
    match stdout
        .write_all(lines.expose_secret().as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("generate-secrets: {error}");
            ExitCode::from(1)
        }
    }
}

/// The lines `print` writes.
fn secret_lines(keys: Option<SigningKind>) -> SecretString {
    let mut values: Vec<(String, String)> = SECRETS
        .iter()
        .map(|(file, variable, _, generate)| {
            let value = std::env::var(variable)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(generate);
            ((*file).to_owned(), value)
        })
        .collect();
    let password = values
        .iter()
        .find(|(file, _)| file == "postgres_password")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    for database in ["auth", "profile"] {
        values.push((
            format!("{database}_database_url"),
            database_url(&password, database),
        ));
    }
    if let Some(kind) = keys {
        let keys = generate_signing_set(kind);
        values.push(("jwt_keys".into(), keys.private_set.expose_secret().into()));
        values.push(("jwt_public_keys".into(), keys.public_set));
    }
    // One value per line: a value that holds a line break (an operator's
    // own) would be cut by the reader, so its breaks are dropped.
    let lines: String = values
        .into_iter()
        .map(|(name, value)| format!("{name} {}\n", value.replace(['\r', '\n'], "")))
        .collect();
    SecretString::from(lines)
}

/// `jwt_keys` and `jwt_public_keys`: a new pair of `kind` when neither is
/// there; the public set derived from `jwt_keys` when only it is (a run
/// stopped between the two); else both kept, whatever their kind.
fn write_key_sets(dir: &Path, kind: SigningKind) -> std::io::Result<()> {
    let owner = std::env::var("SECRETS_UID")
        .ok()
        .and_then(|uid| uid.trim().parse::<u32>().ok());
    let (private, public) = (dir.join("jwt_keys"), dir.join("jwt_public_keys"));
    match (private.try_exists()?, public.try_exists()?) {
        (true, true) => {
            println!("generate-secrets: jwt_keys, jwt_public_keys: kept");
        }
        (false, _) => {
            let keys = generate_signing_set(kind);
            write_secret(&private, keys.private_set.expose_secret(), owner)?;
            if public.try_exists()? {
                std::fs::remove_file(&public)?;
            }
            write_secret(&public, &keys.public_set, owner)?;
            println!(
                "generate-secrets: jwt_keys, jwt_public_keys: generated ({kind:?}, kid {})",
                keys.kid
            );
        }
        (true, false) => {
            let set = SecretString::from(std::fs::read_to_string(&private)?);
            let keys = KeySet::new(Some(&set), None)
                .map_err(|problem| std::io::Error::other(format!("jwt_keys {problem}")))?;
            let public_set =
                serde_json::to_string(&keys.public_jwks()).map_err(std::io::Error::other)?;
            write_secret(&public, &public_set, owner)?;
            println!("generate-secrets: jwt_public_keys: derived from jwt_keys");
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
        assert!(!dir.join("jwt_keys").exists(), "HS256 is the default");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn printed_lines_hold_every_secret_and_urls_from_the_printed_password() {
        let lines = secret_lines(Some(SigningKind::EdDsa));
        let values: std::collections::HashMap<&str, &str> = lines
            .expose_secret()
            .lines()
            .map(|line| line.split_once(' ').unwrap())
            .collect();
        let mut names: Vec<&str> = values.keys().copied().collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "auth_database_url",
                "event_secret",
                "jwt_keys",
                "jwt_public_keys",
                "jwt_refresh_secret_key",
                "jwt_secret_key",
                "mfa_encryption_key",
                "postgres_password",
                "profile_database_url"
            ]
        );
        let password = values["postgres_password"];
        assert!(password.len() >= 32);
        assert_eq!(
            values["auth_database_url"],
            format!("postgres://postgres:{password}@db:5432/auth")
        );
        let keys = SecretString::from(values["jwt_keys"].to_owned());
        assert!(KeySet::new(Some(&keys), None).unwrap().signing().is_some());
        // New values each time.
        assert_ne!(
            secret_lines(None).expose_secret(),
            secret_lines(None).expose_secret()
        );
    }

    #[test]
    fn writes_a_signing_key_set_and_its_public_half_once() {
        use shared::keys::Purpose;
        for kind in [SigningKind::Es256, SigningKind::EdDsa] {
            let dir =
                std::env::temp_dir().join(format!("secrets-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).unwrap();
            write_key_sets(&dir, kind).unwrap();
            let read =
                |name: &str| SecretString::from(std::fs::read_to_string(dir.join(name)).unwrap());
            let private = KeySet::new(Some(&read("jwt_keys")), None).unwrap();
            let public =
                KeySet::for_purpose(Some(&read("jwt_public_keys")), None, Purpose::VerifyAccess)
                    .unwrap();
            let kid = private.signing().unwrap().kid.unwrap().to_owned();
            assert!(
                public.signing().is_none(),
                "{kind:?}: the public set cannot sign"
            );
            assert!(public.verifying(Some(&kid)).is_some(), "{kind:?}");
            assert!(!read("jwt_public_keys").expose_secret().contains("\"d\""));
            // Kept on the next run, even when another kind is asked for;
            // a lost public set comes back from the private one.
            let before = read("jwt_keys").expose_secret().to_owned();
            write_key_sets(&dir, SigningKind::Es256).unwrap();
            assert_eq!(read("jwt_keys").expose_secret(), before.as_str());
            let public_before = read("jwt_public_keys").expose_secret().to_owned();
            std::fs::remove_file(dir.join("jwt_public_keys")).unwrap();
            write_key_sets(&dir, kind).unwrap();
            assert_eq!(
                read("jwt_public_keys").expose_secret(),
                public_before.as_str()
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
