//! Signing keys of one kind of token (access or refresh): a JWK Set
//! (`JWT_KEYS`, `JWT_REFRESH_KEYS`) of `oct` (HS256), EC P-256 (ES256) and
//! Ed25519 (EdDSA) keys, and/or the single legacy secret (`JWT_SECRET_KEY`,
//! ...), which alone verifies tokens without `kid`. Each key has one
//! algorithm: a token is verified with the key its `kid` names, and only
//! if its header names that key's algorithm. Key material never appears in
//! `Debug`, `Display` or an error.

mod asymmetric;
mod error;
mod generate;
mod jwks;

use std::collections::HashMap;
use std::fmt;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use secrecy::{ExposeSecret, SecretSlice, SecretString};

pub use error::KeySetError;
pub use generate::{GeneratedKeys, SigningKind, generate_signing_set};
use jwks::{Parsed, parse_set};

/// The shortest secret or key the contract accepts, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// What a set is for: which keys it may hold and whether one must sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Access tokens at the auth service: `oct`, ES256 and EdDSA keys,
    /// exactly one of them signing (with its private key).
    SignAccess,
    /// Access tokens at a verifier (the profile service, a third service):
    /// the same kinds of key, public keys enough; at most one signer.
    VerifyAccess,
    /// Refresh tokens, which only the auth service ever reads: `oct` keys
    /// only, exactly one signer.
    Refresh,
}

impl Purpose {
    fn needs_signer(self) -> bool {
        !matches!(self, Self::VerifyAccess)
    }
}

/// The key that signs, and what goes into the token's header.
#[derive(Clone, Copy)]
pub struct Signing<'a> {
    /// `kid` for the header; none for the legacy secret.
    pub kid: Option<&'a str>,
    /// `alg` for the header: the key's own.
    pub algorithm: Algorithm,
    pub key: &'a EncodingKey,
}

/// A signing key of the set.
#[derive(Clone)]
struct Signer {
    kid: String,
    algorithm: Algorithm,
    key: EncodingKey,
}

/// A key that verifies, with the one algorithm it verifies.
#[derive(Clone)]
struct Verifier {
    algorithm: Algorithm,
    key: DecodingKey,
}

/// The keys of one kind of token.
#[derive(Clone)]
pub struct KeySet {
    signer: Option<Signer>,
    by_kid: HashMap<String, Verifier>,
    legacy: Option<(EncodingKey, DecodingKey)>,
    /// The public halves of the asymmetric keys, in the set's order.
    public: Vec<Jwk>,
    /// Whether a JWK Set was given (not only the legacy secret).
    from_set: bool,
    /// The bytes of the symmetric key that signs, for deriving other keys
    /// from.
    signing_material: Option<SecretSlice<u8>>,
    /// The bytes of every symmetric key, the single secret's included:
    /// what another kind of token must never share
    /// ([`KeySet::shares_key_with`]).
    materials: Vec<SecretSlice<u8>>,
}

impl KeySet {
    /// The set from `jwks` (JSON), the legacy `secret`, or both, for
    /// signing access tokens ([`Purpose::SignAccess`]). With both, the set
    /// signs and `secret` still verifies tokens without `kid`.
    pub fn new(
        jwks: Option<&SecretString>,
        secret: Option<&SecretString>,
    ) -> Result<Self, KeySetError> {
        Self::for_purpose(jwks, secret, Purpose::SignAccess)
    }

    /// The set from `jwks` and/or `secret`, checked against the rules of
    /// `purpose`.
    pub fn for_purpose(
        jwks: Option<&SecretString>,
        secret: Option<&SecretString>,
        purpose: Purpose,
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
            public,
            signing_material,
            mut materials,
        } = match jwks {
            Some(jwks) => parse_set(jwks.expose_secret(), purpose)?,
            None if secret.is_none() => return Err(KeySetError::Empty),
            None => Parsed::default(),
        };
        let legacy_material =
            secret.map(|s| SecretSlice::from(s.expose_secret().as_bytes().to_vec()));
        materials.extend(legacy_material.clone());
        // The bytes of whatever signs: the set's signer if it has one
        // (none when it is asymmetric), else the single secret.
        let signing_material = match &signer {
            Some(_) => signing_material,
            None => legacy_material,
        };
        Ok(Self {
            signer,
            by_kid,
            legacy,
            public,
            from_set: jwks.is_some(),
            signing_material,
            materials,
        })
    }

    /// `Ok` when this set can sign by the rules of [`Purpose::SignAccess`]:
    /// a given JWK Set has its signer (a set read for verifying need not).
    pub fn require_signer(&self) -> Result<(), KeySetError> {
        match (&self.signer, self.from_set) {
            (None, true) => Err(KeySetError::SignerCount(0)),
            _ => Ok(()),
        }
    }

    /// Whether any symmetric key of this set, its single secret included,
    /// is also a key of `other` (compared in constant time), whatever
    /// their `kid`s: a key that signed an access token must never verify a
    /// refresh token, or the reverse.
    pub fn shares_key_with(&self, other: &KeySet) -> bool {
        use subtle::ConstantTimeEq;
        self.materials.iter().any(|mine| {
            other
                .materials
                .iter()
                .any(|theirs| bool::from(mine.expose_secret().ct_eq(theirs.expose_secret())))
        })
    }

    /// The bytes of the symmetric key that signs, to derive keys for other
    /// purposes from (they change when the signer does); none when an
    /// asymmetric key signs.
    pub fn signing_material(&self) -> Option<&SecretSlice<u8>> {
        self.signing_material.as_ref()
    }

    /// The `kid`s of the set (signer included).
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.by_kid.keys().map(String::as_str)
    }

    /// The key to sign with: the set's signer, else the legacy secret
    /// (HS256, no `kid`).
    pub fn signing(&self) -> Option<Signing<'_>> {
        match (&self.signer, &self.legacy) {
            (Some(signer), _) => Some(Signing {
                kid: Some(signer.kid.as_str()),
                algorithm: signer.algorithm,
                key: &signer.key,
            }),
            (None, Some((key, _))) => Some(Signing {
                kid: None,
                algorithm: Algorithm::HS256,
                key,
            }),
            (None, None) => None,
        }
    }

    /// The key that verifies a token with header `kid`, and the one
    /// algorithm it verifies: by `kid` in the set (never "try every key"),
    /// or the legacy secret (HS256) for no `kid`.
    pub fn verifying(&self, kid: Option<&str>) -> Option<(Algorithm, &DecodingKey)> {
        match kid {
            Some(kid) => self
                .by_kid
                .get(kid)
                .map(|verifier| (verifier.algorithm, &verifier.key)),
            None => self.legacy.as_ref().map(|(_, key)| (Algorithm::HS256, key)),
        }
    }

    /// The public keys a third service verifies with: the public halves of
    /// the set's asymmetric keys, verify-only ones included, each with
    /// `kid`, `alg` and `"use": "sig"`. Never an `oct` key, never a private
    /// part (jsonwebtoken's [`Jwk`] has no member for one).
    pub fn public_jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.public.clone(),
        }
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kids: Vec<&str> = self.kids().collect();
        kids.sort_unstable();
        f.debug_struct("KeySet")
            .field(
                "signer",
                &self
                    .signer
                    .as_ref()
                    .map(|signer| (&signer.kid, signer.algorithm)),
            )
            .field("kids", &kids)
            .field("legacy_secret", &self.legacy.is_some())
            .finish()
    }
}

/// A new random secret: 64 hex characters, 256 bits straight from the
/// operating system (`OsRng`: not a user-space generator, which a fork or
/// a restored VM snapshot could repeat), comfortably over
/// [`MIN_SECRET_BYTES`].
pub fn random_secret() -> String {
    use rand_core::RngCore;
    let mut bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
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
    fn a_random_secret_is_256_bits_of_hex_and_never_repeats() {
        let (one, two) = (random_secret(), random_secret());
        assert_eq!(one.len(), 64);
        assert!(
            one.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(one, two);
        assert!(one.len() >= MIN_SECRET_BYTES);
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

    #[test]
    fn neither_a_set_nor_a_secret_is_empty_for_every_purpose() {
        for purpose in [Purpose::SignAccess, Purpose::VerifyAccess, Purpose::Refresh] {
            assert_eq!(
                KeySet::for_purpose(None, None, purpose).err(),
                Some(KeySetError::Empty)
            );
        }
    }
}
