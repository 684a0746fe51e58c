//! Properties of the contract's parsers over generated input: every valid
//! claim set survives encode → verify unchanged, and no token or JWK Set
//! makes a parser panic. `fuzz/` searches the same
//! ground with coverage feedback; these run with the unit tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use secrecy::SecretString;
use shared::claims::{AccessClaims, RefreshClaims, TokenType};
use shared::keys::KeySet;
use shared::token::{TokenCodec, TokenSettings};
use uuid::Uuid;

fn settings() -> TokenSettings {
    TokenSettings {
        issuer: "auth-service".into(),
        audience: "profile-service".into(),
        leeway_seconds: 30,
    }
}

/// A codec that signs with a JWK Set's key (`kid` in the header) or, with
/// `set` false, with the legacy secret (no `kid`).
fn codec(set: bool) -> TokenCodec {
    let secret = SecretString::from("legacy-secret-0123456789abcdef0123".to_owned());
    let jwks = serde_json::json!({"keys": [
        {"kty": "oct", "kid": "k2", "k": URL_SAFE_NO_PAD.encode([2u8; 32]), "key_ops": ["sign"]},
        {"kty": "oct", "kid": "k1", "k": URL_SAFE_NO_PAD.encode([1u8; 32]), "key_ops": ["verify"]},
    ]});
    let jwks = SecretString::from(jwks.to_string());
    let keys = KeySet::new(set.then_some(&jwks), Some(&secret)).unwrap();
    TokenCodec::new(keys, &settings())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<[u8; 16]>().prop_map(Uuid::from_bytes)
}

/// `iat` from the epoch to now, `exp` from a minute ahead to the end of
/// `i64`: every pair the verifier accepts (give or take the leeway).
fn times() -> impl Strategy<Value = (i64, i64)> {
    let now = now();
    (0..=now, now + 60..=i64::MAX)
}

fn access_claims() -> impl Strategy<Value = AccessClaims> {
    (
        uuid(),
        any::<String>(),
        any::<bool>(),
        times(),
        uuid(),
        uuid(),
    )
        .prop_map(
            |(sub, email, email_verified, (iat, exp), jti, sid)| AccessClaims {
                sub,
                email,
                email_verified,
                iat,
                exp,
                iss: settings().issuer,
                aud: settings().audience,
                jti,
                sid,
                typ: TokenType::Access,
                amr: Vec::new(),
                mfa: false,
            },
        )
}

fn refresh_claims() -> impl Strategy<Value = RefreshClaims> {
    (uuid(), times(), uuid(), uuid()).prop_map(|(sub, (iat, exp), jti, sid)| RefreshClaims {
        sub,
        iat,
        exp,
        iss: settings().issuer,
        aud: settings().audience,
        jti,
        sid,
        typ: TokenType::Refresh,
    })
}

/// Text that looks like a JWT: three base64url-ish segments.
fn token_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_=-]{0,60}\\.[A-Za-z0-9_=-]{0,120}\\.[A-Za-z0-9_=-]{0,50}",
        (any::<String>(), any::<String>()).prop_map(|(header, claims)| format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        )),
    ]
}

/// A JWK Set's JSON, shaped enough to get past the first checks.
fn jwk_set_like() -> impl Strategy<Value = String> {
    let key = (
        prop::sample::select(vec!["oct", "RSA", "EC", "OKP", ""]),
        prop::option::of("[a-z0-9]{0,3}"),
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..48).prop_map(|k| URL_SAFE_NO_PAD.encode(k)),
            any::<String>(),
        ],
        prop::collection::vec(
            prop::sample::select(vec!["sign", "verify", "encrypt"]),
            0..3,
        ),
        // The members of EC and OKP keys: a curve, coordinates of any
        // length (32 bytes is a coordinate's), a private part or none.
        prop::sample::select(vec!["P-256", "P-384", "Ed25519", "X25519", ""]),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..34), 3),
        any::<bool>(),
    )
        .prop_map(|(kty, kid, k, ops, crv, xyd, private)| {
            let b64 = |bytes: &Vec<u8>| URL_SAFE_NO_PAD.encode(bytes);
            let mut key = serde_json::json!({"kty": kty, "k": k, "key_ops": ops});
            if matches!(kty, "EC" | "OKP") {
                key["crv"] = crv.into();
                key["x"] = b64(&xyd[0]).into();
                key["y"] = b64(&xyd[1]).into();
                if private {
                    key["d"] = b64(&xyd[2]).into();
                }
            }
            if let Some(kid) = kid {
                key["kid"] = kid.into();
            }
            key
        });
    prop_oneof![
        any::<String>(),
        prop::collection::vec(key, 0..4)
            .prop_map(|keys| serde_json::json!({ "keys": keys }).to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn access_claims_survive_encode_and_verify(claims in access_claims(), set in any::<bool>()) {
        let codec = codec(set);
        let token = codec.encode(&claims).unwrap();
        prop_assert_eq!(codec.decode::<AccessClaims>(&token).unwrap(), claims);
    }

    #[test]
    fn refresh_claims_survive_encode_and_verify(claims in refresh_claims(), set in any::<bool>()) {
        let codec = codec(set);
        let token = codec.encode(&claims).unwrap();
        prop_assert_eq!(codec.decode::<RefreshClaims>(&token).unwrap(), claims);
    }

    #[test]
    fn no_token_makes_verify_panic(token in token_like()) {
        let codec = codec(true);
        let _ = codec.decode::<AccessClaims>(&token);
        let _ = codec.decode::<RefreshClaims>(&token);
    }

    #[test]
    fn no_jwk_set_makes_parsing_panic(json in jwk_set_like()) {
        let _ = KeySet::new(Some(&SecretString::from(json)), None);
    }
}
