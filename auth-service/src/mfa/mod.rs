//! The second factor's keys and secrets: the TOTP secret cipher and the
//! recovery-code hash, both keyed from `MFA_ENCRYPTION_KEY` (HKDF-SHA256,
//! one label each), and making an enrolment or a set of recovery codes.
//! Secrets and codes are never logged.

pub mod cipher;
pub mod codes;

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use shared::api::TotpEnrolment;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};
use uuid::Uuid;

use self::cipher::{CipherError, Sealed, SecretCipher};
use self::codes::{DIGITS, RECOVERY_ALPHABET, RECOVERY_LEN, SKEW, STEP};

/// Bytes of a new TOTP secret (160 bits, RFC 4226's recommendation).
const SECRET_LEN: usize = 20;
/// Recovery codes handed out at confirmation.
pub const RECOVERY_CODES: usize = 10;
/// The HKDF labels: a key per purpose, so neither reveals the other.
const CIPHER_LABEL: &[u8] = b"auth-service totp secret cipher v1";
const RECOVERY_LABEL: &[u8] = b"auth-service recovery code hash v1";

/// Something in the machinery failed (never the user's input).
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("no randomness: {0}")]
    Random(getrandom::Error),
    #[error(transparent)]
    Cipher(#[from] CipherError),
    #[error("cannot make the TOTP URI: {0}")]
    Uri(String),
    #[error("cannot derive a key")]
    Derive,
}

/// The second factor's keys, present when `MFA_ENCRYPTION_KEY` is set.
pub struct Mfa {
    cipher: SecretCipher,
    recovery_key: Hmac<Sha256>,
    /// The `issuer` of the `otpauth://` URIs (`APP_NAME`).
    issuer: String,
}

/// A new enrolment: what the user sees once, and what the database keeps.
pub struct Enrolment {
    pub shown: TotpEnrolment,
    pub sealed: Sealed,
}

impl Mfa {
    /// Derives both keys from `key`.
    pub fn new(key: &SecretString, issuer: &str) -> Result<Self, MfaError> {
        let hkdf = Hkdf::<Sha256>::new(None, key.expose_secret().as_bytes());
        let mut cipher_key = [0; 32];
        hkdf.expand(CIPHER_LABEL, &mut cipher_key)
            .map_err(|_| MfaError::Derive)?;
        let mut recovery_key = [0; 32];
        hkdf.expand(RECOVERY_LABEL, &mut recovery_key)
            .map_err(|_| MfaError::Derive)?;
        Ok(Self {
            cipher: SecretCipher::new(&cipher_key),
            recovery_key: Hmac::<Sha256>::new_from_slice(&recovery_key)
                .map_err(|_| MfaError::Derive)?,
            issuer: issuer.replace(':', " "),
        })
    }

    /// A fresh secret for `user` (whose authenticator shows `email`).
    pub fn enrol(&self, user: Uuid, email: &str) -> Result<Enrolment, MfaError> {
        let mut secret = vec![0; SECRET_LEN];
        getrandom::fill(&mut secret).map_err(MfaError::Random)?;
        let totp = TOTP::new(
            Algorithm::SHA1,
            DIGITS,
            SKEW,
            STEP,
            secret.clone(),
            Some(self.issuer.clone()),
            email.replace(':', " "),
        )
        .map_err(|error| MfaError::Uri(error.to_string()))?;
        Ok(Enrolment {
            shown: TotpEnrolment {
                secret: totp.get_secret_base32(),
                otpauth_uri: totp.get_url(),
            },
            sealed: self.cipher.seal(user, &secret)?,
        })
    }

    /// The secret of `user`, if `sealed` opens for them under this key.
    pub fn open(&self, user: Uuid, sealed: &Sealed) -> Option<Vec<u8>> {
        self.cipher.open(user, sealed)
    }

    /// Ten new recovery codes and their stored hashes.
    pub fn recovery_codes(&self, user: Uuid) -> Result<(Vec<String>, Vec<Vec<u8>>), MfaError> {
        let mut random = [0u8; RECOVERY_CODES * RECOVERY_LEN];
        getrandom::fill(&mut random).map_err(MfaError::Random)?;
        let codes: Vec<String> = random
            .chunks(RECOVERY_LEN)
            .map(|chunk| {
                chunk
                    .iter()
                    // 256 is a multiple of 32: every symbol equally likely.
                    .map(|byte| char::from(RECOVERY_ALPHABET[usize::from(byte & 31)]))
                    .collect()
            })
            .collect();
        let hashes = codes
            .iter()
            .map(|code| self.recovery_hash(user, code))
            .collect();
        Ok((codes, hashes))
    }

    /// The stored form of recovery `code` of `user`: HMAC-SHA256 under a
    /// server key, so a copy of the table cannot be brute-forced offline
    /// (50 bits a code would not resist a GPU against a plain hash).
    pub fn recovery_hash(&self, user: Uuid, code: &str) -> Vec<u8> {
        let mut mac = self.recovery_key.clone();
        mac.update(user.as_bytes());
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// The one of `stored` that `code` hashes to, compared in constant time.
    pub fn find_recovery<'a>(
        &self,
        user: Uuid,
        code: &str,
        stored: &'a [Vec<u8>],
    ) -> Option<&'a Vec<u8>> {
        let hash = self.recovery_hash(user, code);
        let mut found = None;
        for candidate in stored {
            if bool::from(candidate.ct_eq(&hash)) && found.is_none() {
                found = Some(candidate);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn mfa(key: &str) -> Mfa {
        Mfa::new(&SecretString::from(key), "Example").unwrap()
    }

    #[test]
    fn an_enrolment_shows_the_secret_it_seals() {
        let mfa = mfa("an mfa encryption key of 32 bytes!!");
        let user = Uuid::new_v4();
        let enrolment = mfa.enrol(user, "ada@example.com").unwrap();
        let secret = mfa.open(user, &enrolment.sealed).unwrap();
        assert_eq!(secret.len(), SECRET_LEN);
        let totp = TOTP::from_url(&enrolment.shown.otpauth_uri).unwrap();
        assert_eq!(totp.secret, secret);
        assert_eq!(totp.get_secret_base32(), enrolment.shown.secret);
        assert!(enrolment.shown.otpauth_uri.contains("issuer=Example"));
    }

    #[test]
    fn another_key_opens_nothing_and_hashes_otherwise() {
        let (one, two) = (
            mfa("key one key one key one key one!!"),
            mfa("key two key two key two key two!!"),
        );
        let user = Uuid::new_v4();
        let enrolment = one.enrol(user, "ada@example.com").unwrap();
        assert_eq!(two.open(user, &enrolment.sealed), None);
        assert_ne!(
            one.recovery_hash(user, "abcde23456"),
            two.recovery_hash(user, "abcde23456")
        );
    }

    #[test]
    fn recovery_codes_have_their_shape_and_are_found_by_hash() {
        let mfa = mfa("an mfa encryption key of 32 bytes!!");
        let user = Uuid::new_v4();
        let (codes, hashes) = mfa.recovery_codes(user).unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(
                codes::Code::parse(code),
                Some(codes::Code::Recovery(code.clone()))
            );
        }
        assert_eq!(
            mfa.find_recovery(user, &codes[3], &hashes),
            Some(&hashes[3])
        );
        assert_eq!(mfa.find_recovery(Uuid::new_v4(), &codes[3], &hashes), None);
    }
}
