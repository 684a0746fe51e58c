//! bcrypt hashing and verification. Every call here is slow on purpose
//! (about 200 ms at cost 12), so callers run it on the blocking pool.

use crate::domain::Password;

/// Hashes and verifies passwords at the configured cost.
pub struct Passwords {
    cost: u32,
    /// A hash of a random string, made at start-up with the same cost, so a
    /// login for an unknown email costs what a wrong password costs.
    dummy_hash: String,
}

impl Passwords {
    /// Makes the dummy hash; blocks for one bcrypt round.
    pub fn new(cost: u32) -> Result<Self, bcrypt::BcryptError> {
        let dummy_hash = bcrypt::hash(uuid::Uuid::new_v4().to_string(), cost)?;
        Ok(Self { cost, dummy_hash })
    }

    /// A bcrypt hash of `password`.
    pub fn hash(&self, password: &Password) -> Result<String, bcrypt::BcryptError> {
        bcrypt::hash(password.expose(), self.cost)
    }

    /// Whether `candidate` matches `stored`. With no stored hash (unknown
    /// email), or a candidate no password could be, the dummy hash is
    /// checked instead and the answer is `false`, at the same cost.
    pub fn verify(&self, candidate: &str, stored: Option<&str>) -> bool {
        match stored {
            Some(hash) if Password::could_be(candidate) => {
                bcrypt::verify(candidate, hash).unwrap_or(false)
            }
            _ => {
                let _ = bcrypt::verify(candidate.replace('\0', ""), &self.dummy_hash);
                false
            }
        }
    }

    /// Whether `stored` was made with a lower cost than the configured one
    /// and should be replaced on the next successful login.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        stored
            .parse::<bcrypt::HashParts>()
            .map(|parts| parts.get_cost() < self.cost)
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn verifies_the_right_password_only() {
        let passwords = Passwords::new(4).unwrap();
        let password = Password::parse("correct horse".into()).unwrap();
        let hash = passwords.hash(&password).unwrap();
        assert!(passwords.verify("correct horse", Some(&hash)));
        assert!(!passwords.verify("wrong horse", Some(&hash)));
        assert!(!passwords.verify("correct horse", None));
        assert!(!passwords.verify(&"x".repeat(100), Some(&hash)));
    }

    #[test]
    fn lower_cost_hashes_need_rehash() {
        let weak = bcrypt::hash("secret password", 4).unwrap();
        assert!(Passwords::new(5).unwrap().needs_rehash(&weak));
        assert!(!Passwords::new(4).unwrap().needs_rehash(&weak));
    }
}
