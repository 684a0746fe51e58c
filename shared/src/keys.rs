//! Signing keys of one kind of token (access or refresh): a JWK Set of
//! `oct` keys (`JWT_KEYS`, `JWT_REFRESH_KEYS`) with exactly one signer,
//! and/or the single legacy secret (`JWT_SECRET_KEY`, ...), which alone
//! verifies tokens without `kid`. Key material never appears in `Debug`,
//! `Display` or an error.

use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyOperations, ThumbprintHash};
use jsonwebtoken::{DecodingKey, EncodingKey};
use secrecy::{ExposeSecret, SecretSlice, SecretString};

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
        let (signer, by_kid, set_material) = match jwks {
            Some(jwks) => parse_set(jwks.expose_secret())?,
            None => (None, HashMap::new(), None),
        };
        if signer.is_none() && legacy.is_none() {
            return Err(KeySetError::Empty);
        }
        let legacy_material =
            secret.map(|s| SecretSlice::from(s.expose_secret().as_bytes().to_vec()));
        Ok(Self {
            signer,
            by_kid,
            legacy,
            signing_material: set_material.or(legacy_material),
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

type Parsed = (
    Option<(String, EncodingKey)>,
    HashMap<String, DecodingKey>,
    Option<SecretSlice<u8>>,
);

fn parse_set(json: &str) -> Result<Parsed, KeySetError> {
    let set: JwkSet = serde_json::from_str(json).map_err(|_| KeySetError::NotAJwkSet)?;
    let mut signers = Vec::new();
    let mut material = None;
    let mut by_kid = HashMap::new();
    for (index, jwk) in set.keys.iter().enumerate() {
        let AlgorithmParameters::OctetKey(oct) = &jwk.algorithm else {
            return Err(KeySetError::NotOct(index));
        };
        // RFC 7638: a kid left out is the key's thumbprint.
        let kid = jwk
            .common
            .key_id
            .clone()
            .unwrap_or_else(|| jwk.thumbprint(ThumbprintHash::SHA256));
        // Errors and config problems name kids, each on one line.
        if kid.chars().any(char::is_control) {
            return Err(KeySetError::ControlInKid(index));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(oct.value.trim_end_matches('='))
            .map_err(|_| KeySetError::BadBase64(kid.clone()))?;
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(KeySetError::TooShort(kid));
        }
        let signs = jwk
            .common
            .key_operations
            .as_ref()
            .is_some_and(|ops| ops.contains(&KeyOperations::Sign));
        if signs {
            signers.push((kid.clone(), EncodingKey::from_secret(&bytes)));
            material = Some(SecretSlice::from(bytes.clone()));
        }
        if by_kid
            .insert(kid.clone(), DecodingKey::from_secret(&bytes))
            .is_some()
        {
            return Err(KeySetError::DuplicateKid(kid));
        }
    }
    if signers.len() != 1 {
        return Err(KeySetError::SignerCount(signers.len()));
    }
    Ok((signers.pop(), by_kid, material))
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

/// Whether two secrets are the same, compared in constant time.
pub fn same_secret(a: &SecretString, b: &SecretString) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(
        a.expose_secret()
            .as_bytes()
            .ct_eq(b.expose_secret().as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn key(kid: Option<&str>, bytes: &[u8], sign: bool) -> serde_json::Value {
        let mut key = serde_json::json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(bytes)});
        if let Some(kid) = kid {
            key["kid"] = kid.into();
        }
        key["key_ops"] = if sign {
            serde_json::json!(["sign", "verify"])
        } else {
            serde_json::json!(["verify"])
        };
        key
    }

    fn set(keys: Vec<serde_json::Value>) -> Result<KeySet, KeySetError> {
        let json = serde_json::json!({ "keys": keys }).to_string();
        KeySet::new(Some(&SecretString::from(json)), None)
    }

    #[test]
    fn exactly_one_key_signs() {
        let k = [7u8; 32];
        assert_eq!(
            set(vec![key(Some("a"), &k, false)]).err(),
            Some(KeySetError::SignerCount(0))
        );
        assert_eq!(
            set(vec![key(Some("a"), &k, true), key(Some("b"), &k, true)]).err(),
            Some(KeySetError::SignerCount(2))
        );
        let keys = set(vec![key(Some("a"), &k, true), key(Some("b"), &k, false)]).unwrap();
        assert_eq!(keys.signing().map(|(kid, _)| kid), Some(Some("a")));
        assert!(keys.verifying(Some("b")).is_some());
        assert!(keys.verifying(Some("c")).is_none());
        assert!(keys.verifying(None).is_none(), "no legacy secret");
    }

    #[test]
    fn short_keys_duplicate_kids_and_other_types_are_refused() {
        assert_eq!(
            set(vec![key(Some("a"), &[1; 31], true)]).err(),
            Some(KeySetError::TooShort("a".into()))
        );
        let k = [7u8; 32];
        assert_eq!(
            set(vec![key(Some("a"), &k, true), key(Some("a"), &k, false)]).err(),
            Some(KeySetError::DuplicateKid("a".into()))
        );
        let rsa = serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"});
        assert_eq!(set(vec![rsa]).err(), Some(KeySetError::NotOct(0)));
        let garbage = KeySet::new(Some(&SecretString::from("[1,2]".to_owned())), None);
        assert_eq!(garbage.err(), Some(KeySetError::NotAJwkSet));
    }

    #[test]
    fn a_kid_with_a_control_character_is_refused() {
        // Caught by `fuzz/` (config): the kid went into the one-line
        // configuration error with its newline.
        let k = [7u8; 32];
        for kid in ["a\nb", "\u{1b}[31m", "tab\t"] {
            assert_eq!(
                set(vec![key(Some(kid), &k, true)]).err(),
                Some(KeySetError::ControlInKid(0)),
                "{kid:?}"
            );
        }
    }

    #[test]
    fn a_missing_kid_is_the_rfc_7638_thumbprint() {
        // RFC 7638 §3.1 over {"k":…,"kty":"oct"}, computed independently.
        let keys = set(vec![key(None, &[0u8; 32], true)]).unwrap();
        let kid = keys.kids().next().unwrap().to_owned();
        let canonical = format!(
            r#"{{"k":"{}","kty":"oct"}}"#,
            URL_SAFE_NO_PAD.encode([0u8; 32])
        );
        use sha2::Digest;
        let expected = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes()));
        assert_eq!(kid, expected);
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
