//! Reading a JWK Set (`JWT_KEYS`, `JWT_REFRESH_KEYS`): the rules every key
//! meets (named, one algorithm, `use` for signatures, no duplicate `kid`),
//! the rules of its kind (`oct` here, EC and OKP in [`super::asymmetric`]),
//! the signer count of the set's [`Purpose`], and what the set holds once
//! it meets them.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use secrecy::SecretSlice;
use serde_json::{Map, Value};

use super::asymmetric::{self, Asymmetric};
use super::{KeySetError, MIN_SECRET_BYTES, Purpose, Signer, Verifier};

/// What a JWK Set holds, once checked.
#[derive(Default)]
pub(super) struct Parsed {
    pub(super) signer: Option<Signer>,
    pub(super) by_kid: HashMap<String, Verifier>,
    pub(super) public: Vec<Jwk>,
    pub(super) signing_material: Option<SecretSlice<u8>>,
    pub(super) materials: Vec<SecretSlice<u8>>,
}

/// The kinds of key a set may hold, each with its one algorithm.
#[derive(Clone, Copy)]
enum Kind {
    Oct,
    P256,
    Ed25519,
}

impl Kind {
    fn algorithm(self) -> Algorithm {
        match self {
            Self::Oct => Algorithm::HS256,
            Self::P256 => Algorithm::ES256,
            Self::Ed25519 => Algorithm::EdDSA,
        }
    }

    fn alg_name(self) -> &'static str {
        match self {
            Self::Oct => "HS256",
            Self::P256 => "ES256",
            Self::Ed25519 => "EdDSA",
        }
    }
}

/// The keys of the JWK Set `json`, or the first rule it breaks.
pub(super) fn parse_set(json: &str, purpose: Purpose) -> Result<Parsed, KeySetError> {
    #[derive(serde::Deserialize)]
    struct RawSet {
        keys: Vec<Map<String, Value>>,
    }
    let set: RawSet = serde_json::from_str(json).map_err(|_| KeySetError::NotAJwkSet)?;
    if set.keys.is_empty() {
        return Err(KeySetError::NoKeys);
    }
    let mut parsed = Parsed::default();
    let mut signers = 0;
    for (index, raw) in set.keys.into_iter().enumerate() {
        let key = parse_key(index, raw, purpose)?;
        if let Some(signer) = key.signer {
            signers += 1;
            parsed.signing_material = key.material.clone();
            parsed.signer = Some(signer);
        }
        parsed.materials.extend(key.material);
        parsed.public.extend(key.public);
        if parsed
            .by_kid
            .insert(key.kid.clone(), key.verifier)
            .is_some()
        {
            return Err(KeySetError::DuplicateKid(key.kid));
        }
    }
    let allowed = if purpose.needs_signer() { 1..=1 } else { 0..=1 };
    if !allowed.contains(&signers) {
        return Err(KeySetError::SignerCount(signers));
    }
    Ok(parsed)
}

/// One key of a set, checked.
struct Key {
    kid: String,
    verifier: Verifier,
    signer: Option<Signer>,
    /// Its public half, for an asymmetric key.
    public: Option<Jwk>,
    /// Its bytes, for an `oct` key.
    material: Option<SecretSlice<u8>>,
}

fn parse_key(index: usize, raw: Map<String, Value>, purpose: Purpose) -> Result<Key, KeySetError> {
    let kty = raw.get("kty").and_then(Value::as_str).unwrap_or_default();
    if !matches!(kty, "oct" | "EC" | "OKP") {
        return Err(KeySetError::UnsupportedKeyType(index, kty.to_owned()));
    }
    let private = raw
        .get("d")
        .map(|d| {
            d.as_str()
                .map(str::to_owned)
                .ok_or(KeySetError::NotAKey(index))
        })
        .transpose()?;
    let alg = raw.get("alg").cloned();
    let usage = raw.get("use").cloned();
    let jwk: Jwk =
        serde_json::from_value(Value::Object(raw)).map_err(|_| KeySetError::NotAKey(index))?;
    let kind = kind_of(index, &jwk)?;
    // RFC 7638: a kid left out is the key's thumbprint (of its public
    // members; the curve was checked above, which jsonwebtoken needs).
    let kid = jwk
        .common
        .key_id
        .clone()
        .unwrap_or_else(|| jwk.thumbprint(ThumbprintHash::SHA256));
    // Errors and config problems name kids, each on one line.
    if kid.chars().any(char::is_control) {
        return Err(KeySetError::ControlInKid(index));
    }
    // A header's `"kid": ""` would pick it: a key must be named.
    if kid.is_empty() {
        return Err(KeySetError::EmptyKid(index));
    }
    if let Some(alg) = alg
        && alg.as_str() != Some(kind.alg_name())
    {
        return Err(KeySetError::AlgorithmMismatch {
            key: kid,
            given: alg.to_string(),
            expected: kind.alg_name(),
        });
    }
    if usage.is_some_and(|usage| usage.as_str() != Some("sig")) {
        return Err(KeySetError::NotForSignatures(kid));
    }
    let signs = jwk
        .common
        .key_operations
        .as_ref()
        .is_some_and(|ops| ops.contains(&KeyOperations::Sign));
    let algorithm = kind.algorithm();
    match (&jwk.algorithm, kind) {
        (AlgorithmParameters::OctetKey(oct), Kind::Oct) => {
            let bytes = URL_SAFE_NO_PAD
                .decode(oct.value.trim_end_matches('='))
                .map_err(|_| KeySetError::BadBase64 {
                    key: kid.clone(),
                    member: "k",
                })?;
            if bytes.len() < MIN_SECRET_BYTES {
                return Err(KeySetError::TooShort(kid));
            }
            let signer = signs.then(|| Signer {
                kid: kid.clone(),
                algorithm,
                key: EncodingKey::from_secret(&bytes),
            });
            Ok(Key {
                verifier: Verifier {
                    algorithm,
                    key: DecodingKey::from_secret(&bytes),
                },
                signer,
                public: None,
                material: Some(SecretSlice::from(bytes)),
                kid,
            })
        }
        (parameters, _) => {
            if purpose == Purpose::Refresh {
                return Err(KeySetError::AsymmetricRefreshKey(kid));
            }
            let Asymmetric {
                public,
                decoding,
                encoding,
            } = asymmetric::parse(&kid, parameters, private.as_deref())?;
            let signer = if signs {
                let key =
                    encoding.ok_or_else(|| KeySetError::SignerWithoutPrivateKey(kid.clone()))?;
                asymmetric::probe(&kid, algorithm, &key, &decoding)?;
                Some(Signer {
                    kid: kid.clone(),
                    algorithm,
                    key,
                })
            } else {
                None
            };
            Ok(Key {
                verifier: Verifier {
                    algorithm,
                    key: decoding,
                },
                signer,
                public: Some(asymmetric::with_kid(public, &kid, algorithm)),
                material: None,
                kid,
            })
        }
    }
}

/// The kind of `jwk`, with its curve checked.
fn kind_of(index: usize, jwk: &Jwk) -> Result<Kind, KeySetError> {
    let curve_name = |curve: &EllipticCurve| {
        serde_json::to_string(curve).unwrap_or_else(|_| format!("{curve:?}"))
    };
    match &jwk.algorithm {
        AlgorithmParameters::OctetKey(_) => Ok(Kind::Oct),
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => Ok(Kind::P256),
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Ok(Kind::Ed25519)
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            Err(KeySetError::UnsupportedCurve(index, curve_name(&ec.curve)))
        }
        AlgorithmParameters::OctetKeyPair(okp) => {
            Err(KeySetError::UnsupportedCurve(index, curve_name(&okp.curve)))
        }
        AlgorithmParameters::RSA(_) => Err(KeySetError::UnsupportedKeyType(index, "RSA".into())),
    }
}

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used)]

    use secrecy::SecretString;

    use super::*;
    use crate::keys::KeySet;

    pub(in crate::keys) fn key(kid: Option<&str>, bytes: &[u8], sign: bool) -> serde_json::Value {
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

    pub(in crate::keys) fn set(keys: Vec<serde_json::Value>) -> Result<KeySet, KeySetError> {
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
        assert_eq!(keys.signing().map(|s| s.kid), Some(Some("a")));
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
        assert_eq!(
            set(vec![rsa]).err(),
            Some(KeySetError::UnsupportedKeyType(0, "RSA".into()))
        );
        let garbage = KeySet::new(Some(&SecretString::from("[1,2]".to_owned())), None);
        assert_eq!(garbage.err(), Some(KeySetError::NotAJwkSet));
        assert_eq!(set(vec![]).err(), Some(KeySetError::NoKeys));
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
    fn an_empty_kid_is_refused() {
        let k = [7u8; 32];
        assert_eq!(
            set(vec![key(Some(""), &k, true)]).err(),
            Some(KeySetError::EmptyKid(0))
        );
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
    fn an_oct_key_is_hs256_only_and_signs_only_signatures() {
        let k = [7u8; 32];
        let with = |member: &str, value: serde_json::Value| {
            let mut key = key(Some("a"), &k, true);
            key[member] = value;
            set(vec![key])
        };
        assert!(with("alg", "HS256".into()).is_ok());
        for alg in ["ES256", "HS512", "none", "EdDSA"] {
            assert_eq!(
                with("alg", alg.into()).err(),
                Some(KeySetError::AlgorithmMismatch {
                    key: "a".into(),
                    given: format!("{alg:?}"),
                    expected: "HS256"
                }),
                "{alg}"
            );
        }
        assert!(with("use", "sig".into()).is_ok());
        assert_eq!(
            with("use", "enc".into()).err(),
            Some(KeySetError::NotForSignatures("a".into()))
        );
    }
}
