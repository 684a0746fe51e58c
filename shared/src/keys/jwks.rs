//! Reading a JWK Set of `oct` keys (`JWT_KEYS`, `JWT_REFRESH_KEYS`): the
//! rules a set must meet (named keys, long enough, exactly one signer)
//! and what it holds once it meets them.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyOperations, ThumbprintHash};
use jsonwebtoken::{DecodingKey, EncodingKey};
use secrecy::SecretSlice;

use super::{KeySetError, MIN_SECRET_BYTES};

/// What a JWK Set holds, once checked.
#[derive(Default)]
pub(super) struct Parsed {
    pub(super) signer: Option<(String, EncodingKey)>,
    pub(super) by_kid: HashMap<String, DecodingKey>,
    pub(super) signing_material: Option<SecretSlice<u8>>,
    pub(super) materials: Vec<SecretSlice<u8>>,
}

/// The keys of the JWK Set `json`, or the first rule it breaks.
pub(super) fn parse_set(json: &str) -> Result<Parsed, KeySetError> {
    let set: JwkSet = serde_json::from_str(json).map_err(|_| KeySetError::NotAJwkSet)?;
    let mut signers = Vec::new();
    let mut signing_material = None;
    let mut materials = Vec::new();
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
        // A header's `"kid": ""` would pick it: a key must be named.
        if kid.is_empty() {
            return Err(KeySetError::EmptyKid(index));
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
            signing_material = Some(SecretSlice::from(bytes.clone()));
        }
        materials.push(SecretSlice::from(bytes.clone()));
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
    Ok(Parsed {
        signer: signers.pop(),
        by_kid,
        signing_material,
        materials,
    })
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
}
