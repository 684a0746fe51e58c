//! Signing keys of one kind of token (access or refresh): a JWK Set of
//! `oct` keys (`JWT_KEYS`, `JWT_REFRESH_KEYS`) with exactly one signer,
//! and/or the single legacy secret (`JWT_SECRET_KEY`, ...), which alone
//! verifies tokens without `kid`. Key material never appears in `Debug`,
//! `Display` or an error.

mod jwks;

use std::collections::HashMap;
use std::fmt;

use jsonwebtoken::{DecodingKey, EncodingKey};
use secrecy::{ExposeSecret, SecretSlice, SecretString};

use jwks::{Parsed, parse_set};

/// The shortest secret or key the contract accepts, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// Why a key set was refused; names kids and positions, never material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySetError {
    #[error("is not a JWK Set ({{\"keys\": [...]}})")]
    NotAJwkSet,
    #[error("key #{0} is not an oct key (kty must be \"oct\")")]
    NotOct(usize),
    #[error("key #{0} has a kid with a control character")]
    ControlInKid(usize),
    #[error("key #{0} has an empty kid (leave kid out for the key's thumbprint)")]
    EmptyKid(usize),
    #[error("key {0} has a k that is not base64url")]
    BadBase64(String),
    #[error("key {0} is shorter than {MIN_SECRET_BYTES} bytes")]
    TooShort(String),
    #[error("kid {0} appears twice")]
    DuplicateKid(String),
    #[error("has {0} keys with key_ops \"sign\": exactly one must sign")]
    SignerCount(usize),
    #[error("neither a key set nor a single secret was given")]
    Empty,
}

/// The keys of one kind of token.
#[derive(Clone)]
pub struct KeySet {
    signer: Option<(String, EncodingKey)>,
    by_kid: HashMap<String, DecodingKey>,
    legacy: Option<(EncodingKey, DecodingKey)>,
    /// The bytes of the key that signs, for deriving other keys from.
    signing_material: Option<SecretSlice<u8>>,
    /// The bytes of every key, the single secret's included: what another
    /// kind of token must never share ([`KeySet::shares_key_with`]).
    materials: Vec<SecretSlice<u8>>,
}

impl KeySet {
    /// The set from `jwks` (JSON), the legacy `secret`, or both. With both,
    /// the set signs and `secret` still verifies tokens without `kid`.
    pub fn new(
        jwks: Option<&SecretString>,
        secret: Option<&SecretString>,
    ) -> Result<Self, KeySetError> {
        let legacy = secret.map(|secret| {
            let bytes = secret.expose_secret().as_bytes();
            (
                EncodingKey::from_secret(bytes),
                DecodingKey::from_secret(bytes),
            )
        });
        let Parsed {
            signer,
            by_kid,
            signing_material,
            mut materials,
        } = match jwks {
            Some(jwks) => parse_set(jwks.expose_secret())?,
            None => Parsed::default(),
        };
        if signer.is_none() && legacy.is_none() {
            return Err(KeySetError::Empty);
        }
        let legacy_material =
            secret.map(|s| SecretSlice::from(s.expose_secret().as_bytes().to_vec()));
        materials.extend(legacy_material.clone());
        Ok(Self {
            signer,
            by_kid,
            legacy,
            signing_material: signing_material.or(legacy_material),
            materials,
        })
    }

    /// Whether any key of this set, its single secret included, is also a
    /// key of `other` (compared in constant time), whatever their `kid`s:
    /// a key that signed an access token must never verify a refresh
    /// token, or the reverse.
    pub fn shares_key_with(&self, other: &KeySet) -> bool {
        use subtle::ConstantTimeEq;
        self.materials.iter().any(|mine| {
            other
                .materials
                .iter()
                .any(|theirs| bool::from(mine.expose_secret().ct_eq(theirs.expose_secret())))
        })
    }

    /// The bytes of the key that signs, to derive keys for other purposes
    /// from (they change when the signer does).
    pub fn signing_material(&self) -> Option<&SecretSlice<u8>> {
        self.signing_material.as_ref()
    }

    /// The `kid`s of the set (signer included).
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.by_kid.keys().map(String::as_str)
    }

    /// The key to sign with, and the `kid` for the header (none for the
    /// legacy secret).
    pub fn signing(&self) -> Option<(Option<&str>, &EncodingKey)> {
        match (&self.signer, &self.legacy) {
            (Some((kid, key)), _) => Some((Some(kid.as_str()), key)),
            (None, Some((key, _))) => Some((None, key)),
            (None, None) => None,
        }
    }

    /// The key that verifies a token with header `kid`: by `kid` in the
    /// set (never "try every key"), or the legacy secret for no `kid`.
    pub fn verifying(&self, kid: Option<&str>) -> Option<&DecodingKey> {
        match kid {
            Some(kid) => self.by_kid.get(kid),
            None => self.legacy.as_ref().map(|(_, key)| key),
        }
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kids: Vec<&str> = self.kids().collect();
        kids.sort_unstable();
        f.debug_struct("KeySet")
            .field("signer", &self.signer.as_ref().map(|(kid, _)| kid))
            .field("kids", &kids)
            .field("legacy_secret", &self.legacy.is_some())
            .finish()
    }
}

/// A new random secret: 64 hex characters from two v4 UUIDs (244 bits from
/// the operating system's CSPRNG), comfortably over [`MIN_SECRET_BYTES`].
pub fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::jwks::tests::{key, set};
    use super::*;

    #[test]
    fn sets_that_share_a_key_under_any_kid_or_as_the_single_secret_are_told() {
        let (a, b) = ([b'a'; 32], [b'b'; 32]);
        let secret = |bytes: &[u8]| {
            let text = String::from_utf8(bytes.to_vec()).unwrap();
            KeySet::new(None, Some(&SecretString::from(text))).unwrap()
        };
        let access = set(vec![key(Some("access"), &a, true)]).unwrap();
        let refresh_same_k = set(vec![key(Some("refresh"), &a, true)]).unwrap();
        let refresh_verify_only =
            set(vec![key(Some("r1"), &b, true), key(Some("r2"), &a, false)]).unwrap();
        let refresh_other = set(vec![key(Some("refresh"), &b, true)]).unwrap();
        assert!(access.shares_key_with(&refresh_same_k));
        assert!(access.shares_key_with(&refresh_verify_only));
        assert!(
            access.shares_key_with(&secret(&a)),
            "a set key is the secret"
        );
        assert!(secret(&a).shares_key_with(&refresh_same_k));
        assert!(secret(&a).shares_key_with(&secret(&a)));
        assert!(!access.shares_key_with(&refresh_other));
        assert!(!secret(&a).shares_key_with(&secret(&b)));
    }

    #[test]
    fn debug_shows_kids_never_keys() {
        let k = [b'x'; 40];
        let keys = set(vec![key(Some("k1"), &k, true)]).unwrap();
        let debug = format!("{keys:?}");
        assert!(debug.contains("k1"));
        assert!(!debug.contains(&URL_SAFE_NO_PAD.encode(k)));
        assert!(!debug.contains("xxxx"));
    }
}
