//! A new password that bcrypt can hash without truncating it.

use secrecy::{ExposeSecret, SecretString};

/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// bcrypt reads at most 72 bytes; a longer password would be silently cut.
pub const MAX_PASSWORD_BYTES: usize = 72;

/// A password that meets the signup rules. Its `Debug` is redacted.
#[derive(Debug, Clone)]
pub struct Password(SecretString);

impl Password {
    /// Checks the signup rules. The error is the sentence the 422 body shows.
    pub fn parse(raw: String) -> Result<Self, &'static str> {
        if raw.contains('\0') {
            return Err("must not contain a NUL character");
        }
        if raw.chars().count() < MIN_PASSWORD_CHARS {
            return Err("must be at least 8 characters");
        }
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err("must be at most 72 bytes (bcrypt's limit)");
        }
        Ok(Self(SecretString::from(raw)))
    }

    /// Whether `raw` could be a stored password at all: a login with one
    /// that could not is simply wrong credentials.
    pub fn could_be(raw: &str) -> bool {
        !raw.contains('\0') && raw.len() <= MAX_PASSWORD_BYTES
    }

    /// The password, for hashing.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_inclusive() {
        assert!(Password::parse("a".repeat(7)).is_err());
        assert!(Password::parse("a".repeat(8)).is_ok());
        assert!(Password::parse("a".repeat(72)).is_ok());
        assert!(Password::parse("a".repeat(73)).is_err());
    }

    #[test]
    fn minimum_counts_characters_maximum_counts_bytes() {
        // 8 characters, 16 bytes: long enough.
        assert!(Password::parse("éééééééé".into()).is_ok());
        // 37 characters, 74 bytes: too long for bcrypt.
        assert!(Password::parse(format!("{}a", "é".repeat(36))).is_err());
    }

    #[test]
    fn nul_is_refused() {
        assert!(Password::parse("abcd\0efgh".into()).is_err());
    }

    #[test]
    fn debug_does_not_show_the_password() {
        let password = Password::parse("hunter2hunter2".into())
            .map_err(|_| ())
            .ok();
        assert!(!format!("{password:?}").contains("hunter2"));
    }
}
