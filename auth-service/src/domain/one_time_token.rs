//! The one-time tokens a mail carries (verification, password reset): 32
//! random bytes from the operating system, base64url without padding.
//! Only their SHA-256 is stored; the clear token goes to the outbox row and
//! the mail.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// How many bytes of randomness a token holds.
const BYTES: usize = 32;
/// How many characters its base64url form has.
pub const LEN: usize = 43;

/// A one-time token, as sent or as received.
pub struct OneTimeToken(String);

impl OneTimeToken {
    /// A new token. Fails only when the operating system has no randomness
    /// to give.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A token a client sent, if it has the shape of one of ours: anything
    /// else (too long, another alphabet) is refused before any lookup.
    pub fn parse(text: &str) -> Option<Self> {
        let decoded = URL_SAFE_NO_PAD.decode(text.as_bytes()).ok()?;
        (text.len() == LEN && decoded.len() == BYTES).then(|| Self(text.to_owned()))
    }

    /// The stored form: its SHA-256.
    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }

    /// The clear token, for the outbox row and the link in the mail.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeToken([redacted])")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_generated_token_parses_and_two_differ() {
        let a = OneTimeToken::generate().unwrap();
        let b = OneTimeToken::generate().unwrap();
        assert_eq!(a.expose().len(), LEN);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(OneTimeToken::parse(a.expose()).unwrap().hash(), a.hash());
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn what_is_not_a_token_of_ours_is_refused() {
        let token = OneTimeToken::generate().unwrap();
        for bad in [
            String::new(),
            "a".repeat(LEN - 1),
            format!("{}=", token.expose()),
            format!("{}A", token.expose()),
            "é".repeat(LEN),
            "+".repeat(LEN),
            "A".repeat(10_000),
        ] {
            assert!(OneTimeToken::parse(&bad).is_none(), "{bad:?}");
        }
    }
}
