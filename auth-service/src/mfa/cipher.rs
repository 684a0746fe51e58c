//! AES-256-GCM for the stored TOTP secrets: a key derived from
//! `MFA_ENCRYPTION_KEY` with HKDF-SHA256, a random 96-bit nonce per
//! encryption (stored beside the ciphertext) and the user id as associated
//! data, so a ciphertext copied to another account does not decrypt.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use uuid::Uuid;

/// The bytes of a nonce (96 bits, GCM's standard size).
pub const NONCE_LEN: usize = 12;

/// A secret sealed for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// Encryption failed (nothing about the data is said).
#[derive(Debug, thiserror::Error)]
#[error("AES-GCM failed")]
pub struct CipherError;

/// Seals and opens TOTP secrets.
pub struct SecretCipher {
    cipher: Aes256Gcm,
}

impl SecretCipher {
    /// The cipher under a 256-bit `key` (derived, never the operator's
    /// value itself).
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
        }
    }

    /// Encrypts `secret` for `user` under a fresh random nonce.
    pub fn seal(&self, user: Uuid, secret: &[u8]) -> Result<Sealed, CipherError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: secret,
            aad: user.as_bytes(),
        };
        let ciphertext = self
            .cipher
            .encrypt(&nonce, payload)
            .map_err(|_| CipherError)?;
        Ok(Sealed {
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// Decrypts `sealed` for `user`: `None` when the key, the user or the
    /// bytes are not the ones it was sealed with.
    pub fn open(&self, user: Uuid, sealed: &Sealed) -> Option<Vec<u8>> {
        if sealed.nonce.len() != NONCE_LEN {
            return None;
        }
        let payload = Payload {
            msg: &sealed.ciphertext,
            aad: user.as_bytes(),
        };
        self.cipher
            .decrypt(Nonce::from_slice(&sealed.nonce), payload)
            .ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const SECRET: &[u8] = b"twenty bytes secret!";

    #[test]
    fn a_sealed_secret_opens_for_its_user() {
        let cipher = SecretCipher::new(&[7; 32]);
        let user = Uuid::new_v4();
        let sealed = cipher.seal(user, SECRET).unwrap();
        assert_eq!(sealed.nonce.len(), NONCE_LEN);
        assert!(!sealed.ciphertext.windows(SECRET.len()).any(|w| w == SECRET));
        assert_eq!(cipher.open(user, &sealed).unwrap(), SECRET);
    }

    #[test]
    fn each_seal_has_its_own_nonce() {
        let cipher = SecretCipher::new(&[7; 32]);
        let user = Uuid::new_v4();
        let (a, b) = (
            cipher.seal(user, SECRET).unwrap(),
            cipher.seal(user, SECRET).unwrap(),
        );
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn another_users_id_does_not_open_it() {
        let cipher = SecretCipher::new(&[7; 32]);
        let sealed = cipher.seal(Uuid::new_v4(), SECRET).unwrap();
        assert_eq!(cipher.open(Uuid::new_v4(), &sealed), None);
    }

    #[test]
    fn another_key_does_not_open_it() {
        let user = Uuid::new_v4();
        let sealed = SecretCipher::new(&[7; 32]).seal(user, SECRET).unwrap();
        assert_eq!(SecretCipher::new(&[8; 32]).open(user, &sealed), None);
    }

    #[test]
    fn tampered_bytes_and_bad_nonces_do_not_open() {
        let cipher = SecretCipher::new(&[7; 32]);
        let user = Uuid::new_v4();
        let sealed = cipher.seal(user, SECRET).unwrap();
        let mut flipped = sealed.clone();
        flipped.ciphertext[0] ^= 1;
        let short = Sealed {
            nonce: sealed.nonce[..8].to_vec(),
            ..sealed.clone()
        };
        assert_eq!(cipher.open(user, &flipped), None);
        assert_eq!(cipher.open(user, &short), None);
    }
}
