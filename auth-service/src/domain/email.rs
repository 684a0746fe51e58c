//! An account's email address, normalised the one way the contract allows.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

pub use shared::api::MAX_EMAIL_CHARS;

/// A syntactically valid email, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Trims, lower-cases and NFC-normalises `raw` (so `zoë` typed with a
    /// combining diaeresis is the same address as with `ë`), then checks
    /// length and syntax. The error is the sentence the 422 body shows.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email: String = raw.trim().to_lowercase().nfc().collect();
        if email.contains('\0') {
            return Err("must not contain a NUL character");
        }
        if email.chars().count() > MAX_EMAIL_CHARS {
            return Err("must be at most 254 characters");
        }
        if !email_address::EmailAddress::is_valid(&email) || email.starts_with('"') {
            return Err("must be a valid email address");
        }
        Ok(Self(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_lower_cases() {
        assert_eq!(
            Email::parse("  Ada.Lovelace@Example.COM \n").map(|e| e.0),
            Ok("ada.lovelace@example.com".to_owned())
        );
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for raw in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "a b@example.com",
            "ada@exa\0mple.com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} was accepted");
        }
    }

    /// An address of `len` characters: DNS labels of 63, a local part
    /// making up the rest.
    fn address_of(len: usize) -> String {
        let domain = format!(
            "{0}.{1}.{2}.com",
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(63)
        );
        format!("{}@{domain}", "a".repeat(len - 1 - domain.len()))
    }

    #[test]
    fn length_limit_is_inclusive() {
        assert!(Email::parse(&address_of(MAX_EMAIL_CHARS)).is_ok());
        assert_eq!(
            Email::parse(&address_of(MAX_EMAIL_CHARS + 1)),
            Err("must be at most 254 characters")
        );
    }

    #[test]
    fn composed_and_decomposed_forms_are_one_address() {
        assert_eq!(
            Email::parse("zoe\u{308}@example.com"),
            Email::parse("Zo\u{eb}@example.com")
        );
    }

    #[test]
    fn unicode_is_counted_in_characters_not_bytes() {
        assert_eq!(
            Email::parse("Zoë@Example.com").map(|e| e.0),
            Ok("zoë@example.com".to_owned())
        );
    }
}
