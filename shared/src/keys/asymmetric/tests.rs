//! Key sets holding EC P-256 and Ed25519 keys: what parses, what is
//! refused and why, and what a third service is shown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::keys::{KeySet, KeySetError, Purpose, SigningKind, generate_signing_set};

fn parse(keys: &[Value], purpose: Purpose) -> Result<KeySet, KeySetError> {
    let json = SecretString::from(json!({ "keys": keys }).to_string());
    KeySet::for_purpose(Some(&json), None, purpose)
}

/// The one key of a generated set: (private JWK, public JWK).
fn pair(kind: SigningKind) -> (Value, Value) {
    let keys = generate_signing_set(kind);
    let first = |set: &str| {
        let set: Value = serde_json::from_str(set).unwrap();
        set["keys"][0].clone()
    };
    (
        first(keys.private_set.expose_secret()),
        first(&keys.public_set),
    )
}

fn with(mut key: Value, member: &str, value: Value) -> Value {
    if value.is_null() {
        key.as_object_mut().unwrap().remove(member);
    } else {
        key[member] = value;
    }
    key
}

fn oct(kid: &str, sign: bool) -> Value {
    let ops = if sign {
        json!(["sign"])
    } else {
        json!(["verify"])
    };
    json!({"kty": "oct", "kid": kid, "k": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", "key_ops": ops})
}

#[test]
fn a_generated_key_signs_at_auth_and_its_public_half_verifies_elsewhere() {
    for (kind, alg) in [
        (SigningKind::Es256, jsonwebtoken::Algorithm::ES256),
        (SigningKind::EdDsa, jsonwebtoken::Algorithm::EdDSA),
    ] {
        let generated = generate_signing_set(kind);
        let private = SecretString::from(generated.private_set.expose_secret().to_owned());
        let signing = KeySet::new(Some(&private), None).unwrap();
        let signer = signing.signing().unwrap();
        assert_eq!(
            (signer.kid, signer.algorithm),
            (Some(generated.kid.as_str()), alg)
        );
        let public = SecretString::from(generated.public_set.clone());
        let verifying = KeySet::for_purpose(Some(&public), None, Purpose::VerifyAccess).unwrap();
        assert!(
            verifying.signing().is_none(),
            "{kind:?}: a public set cannot sign"
        );
        assert_eq!(
            verifying
                .verifying(Some(&generated.kid))
                .map(|(alg, _)| alg),
            Some(alg)
        );
        assert_eq!(
            verifying.require_signer().err(),
            Some(KeySetError::SignerCount(0)),
            "{kind:?}: the auth service needs a signer"
        );
        assert_eq!(
            KeySet::new(Some(&public), None).err(),
            Some(KeySetError::SignerCount(0))
        );
        // What jwks.json shows is the public set, exactly.
        let shown = serde_json::to_value(signing.public_jwks()).unwrap();
        let public_set: Value = serde_json::from_str(&generated.public_set).unwrap();
        assert_eq!(shown, public_set, "{kind:?}");
    }
}

#[test]
fn the_public_key_set_holds_no_oct_key_and_no_private_part() {
    let (es_private, _) = pair(SigningKind::Es256);
    let (ed_private, _) = pair(SigningKind::EdDsa);
    let keys = parse(
        &[
            oct("hs", true),
            with(es_private.clone(), "key_ops", json!(["verify"])),
            with(ed_private.clone(), "key_ops", json!(["verify"])),
        ],
        Purpose::SignAccess,
    )
    .unwrap();
    let shown = serde_json::to_value(keys.public_jwks()).unwrap();
    let shown_keys = shown["keys"].as_array().unwrap();
    assert_eq!(shown_keys.len(), 2, "the two asymmetric keys: {shown}");
    let text = shown.to_string();
    for private in [&es_private, &ed_private] {
        assert!(!text.contains(private["d"].as_str().unwrap()));
    }
    for key in shown_keys {
        let members: Vec<&str> = key
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(!members.contains(&"d") && !members.contains(&"k"), "{key}");
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].is_string() && key["alg"].is_string(), "{key}");
    }
    let oct_only = parse(&[oct("hs", true)], Purpose::SignAccess).unwrap();
    assert!(oct_only.public_jwks().keys.is_empty());
}

#[test]
fn a_key_with_another_algorithm_than_its_type_is_refused() {
    let (es, _) = pair(SigningKind::Es256);
    let (ed, _) = pair(SigningKind::EdDsa);
    let cases = [
        (es.clone(), "HS256", "ES256"),
        (es.clone(), "EdDSA", "ES256"),
        (es.clone(), "ES384", "ES256"),
        (es.clone(), "none", "ES256"),
        (ed.clone(), "ES256", "EdDSA"),
        (ed.clone(), "Ed25519", "EdDSA"),
        (oct("hs", true), "ES256", "HS256"),
    ];
    for (key, alg, expected) in cases {
        let kid = key["kid"].as_str().unwrap().to_owned();
        let error = parse(&[with(key, "alg", alg.into())], Purpose::VerifyAccess).err();
        assert_eq!(
            error,
            Some(KeySetError::AlgorithmMismatch {
                key: kid,
                given: format!("{alg:?}"),
                expected
            }),
            "{alg} on an {expected} key"
        );
    }
    // alg may be left out: the key's type says it.
    assert!(parse(&[with(es, "alg", Value::Null)], Purpose::SignAccess).is_ok());
    assert!(parse(&[with(ed, "alg", Value::Null)], Purpose::SignAccess).is_ok());
}

#[test]
fn other_curves_and_key_types_are_refused_without_a_panic() {
    let (es, _) = pair(SigningKind::Es256);
    let (ed, _) = pair(SigningKind::EdDsa);
    let no_kid = |key: Value| with(key, "kid", Value::Null);
    let cases = [
        (
            no_kid(with(es.clone(), "crv", "P-384".into())),
            KeySetError::UnsupportedCurve(0, "\"P-384\"".into()),
        ),
        (
            no_kid(with(es.clone(), "crv", "Ed25519".into())),
            KeySetError::UnsupportedCurve(0, "\"Ed25519\"".into()),
        ),
        (
            no_kid(with(ed.clone(), "crv", "P-256".into())),
            KeySetError::UnsupportedCurve(0, "\"P-256\"".into()),
        ),
        (
            json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
            KeySetError::UnsupportedKeyType(0, "RSA".into()),
        ),
        (
            with(es.clone(), "kty", Value::Null),
            KeySetError::UnsupportedKeyType(0, String::new()),
        ),
        (with(es.clone(), "y", Value::Null), KeySetError::NotAKey(0)),
        (with(es.clone(), "d", json!(7)), KeySetError::NotAKey(0)),
    ];
    for (key, expected) in cases {
        assert_eq!(
            parse(std::slice::from_ref(&key), Purpose::VerifyAccess).err(),
            Some(expected),
            "{key}"
        );
    }
}

#[test]
fn public_keys_off_their_curve_are_refused() {
    let (es, es_public) = pair(SigningKind::Es256);
    let (ed, _) = pair(SigningKind::EdDsa);
    let kid = |key: &Value| key["kid"].as_str().unwrap().to_owned();
    let b64 = |bytes: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    };
    // x of the real key, y of another point: not on the curve.
    let (_, other) = pair(SigningKind::Es256);
    let off_curve = with(es_public.clone(), "y", other["y"].clone());
    // The Ed25519 identity, a small-order point: every signature of the
    // right shape would pass for it.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let cases = [
        (off_curve, KeySetError::BadPublicKey(kid(&es))),
        (
            with(es_public.clone(), "x", b64(&[1; 31]).into()),
            KeySetError::BadPublicKey(kid(&es)),
        ),
        (
            with(ed.clone(), "x", b64(&[1; 31]).into()),
            KeySetError::BadPublicKey(kid(&ed)),
        ),
        (
            with(
                with(ed.clone(), "x", b64(&identity).into()),
                "d",
                Value::Null,
            ),
            KeySetError::BadPublicKey(kid(&ed)),
        ),
        (
            with(es_public.clone(), "x", "*not base64*".into()),
            KeySetError::BadBase64 {
                key: kid(&es),
                member: "x",
            },
        ),
    ];
    for (key, expected) in cases {
        assert_eq!(
            parse(std::slice::from_ref(&key), Purpose::VerifyAccess).err(),
            Some(expected),
            "{key}"
        );
    }
}

#[test]
fn a_private_key_must_be_its_public_keys_and_a_signer_must_have_one() {
    for kind in [SigningKind::Es256, SigningKind::EdDsa] {
        let (private, public) = pair(kind);
        let (other, _) = pair(kind);
        let kid = private["kid"].as_str().unwrap().to_owned();
        let foreign_d = with(private.clone(), "d", other["d"].clone());
        assert_eq!(
            parse(&[foreign_d], Purpose::SignAccess).err(),
            Some(KeySetError::PrivateKeyMismatch(kid.clone())),
            "{kind:?}"
        );
        let short_d = with(private.clone(), "d", "AAAA".into());
        assert_eq!(
            parse(&[short_d], Purpose::SignAccess).err(),
            Some(KeySetError::BadPrivateKey(kid.clone())),
            "{kind:?}"
        );
        let public_signer = with(public.clone(), "key_ops", json!(["sign"]));
        assert_eq!(
            parse(&[public_signer], Purpose::VerifyAccess).err(),
            Some(KeySetError::SignerWithoutPrivateKey(kid.clone())),
            "{kind:?}"
        );
        // A private key in a verifier's set is fine: it verifies with the
        // public half.
        assert!(parse(std::slice::from_ref(&private), Purpose::VerifyAccess).is_ok());
        assert_eq!(
            parse(&[with(public, "use", "enc".into())], Purpose::VerifyAccess).err(),
            Some(KeySetError::NotForSignatures(kid))
        );
    }
    let zero = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let (es, _) = pair(SigningKind::Es256);
    assert_eq!(
        parse(&[with(es.clone(), "d", zero.into())], Purpose::SignAccess).err(),
        Some(KeySetError::BadPrivateKey(
            es["kid"].as_str().unwrap().into()
        ))
    );
}

#[test]
fn two_signers_of_any_types_are_refused_for_every_purpose() {
    let (es, _) = pair(SigningKind::Es256);
    let (ed, _) = pair(SigningKind::EdDsa);
    for purpose in [Purpose::SignAccess, Purpose::VerifyAccess] {
        for keys in [
            vec![oct("hs", true), es.clone()],
            vec![es.clone(), ed.clone()],
        ] {
            assert_eq!(
                parse(&keys, purpose).err(),
                Some(KeySetError::SignerCount(2)),
                "{purpose:?}"
            );
        }
    }
    // One signer of one type beside verify-only keys of the others.
    let keys = parse(
        &[
            oct("hs", false),
            es.clone(),
            with(ed.clone(), "key_ops", json!(["verify"])),
        ],
        Purpose::SignAccess,
    )
    .unwrap();
    assert_eq!(
        keys.signing().map(|s| s.algorithm),
        Some(jsonwebtoken::Algorithm::ES256)
    );
    assert!(
        keys.signing_material().is_none(),
        "an EC key has no HMAC bytes"
    );
    assert_eq!(keys.kids().count(), 3);
}

#[test]
fn refresh_sets_take_oct_keys_only() {
    let (es, _) = pair(SigningKind::Es256);
    let kid = es["kid"].as_str().unwrap().to_owned();
    assert_eq!(
        parse(&[es], Purpose::Refresh).err(),
        Some(KeySetError::AsymmetricRefreshKey(kid))
    );
    assert!(parse(&[oct("r", true)], Purpose::Refresh).is_ok());
}

#[test]
fn no_refusal_prints_a_private_key() {
    for kind in [SigningKind::Es256, SigningKind::EdDsa] {
        let (private, _) = pair(kind);
        let (other, _) = pair(kind);
        let d = private["d"].as_str().unwrap().to_owned();
        let cases = [
            with(private.clone(), "x", other["x"].clone()),
            with(private.clone(), "alg", "HS256".into()),
            with(private.clone(), "kid", Value::Null),
            with(
                with(private.clone(), "kid", Value::Null),
                "use",
                "enc".into(),
            ),
        ];
        for key in cases {
            if let Err(error) = parse(&[key, private.clone()], Purpose::SignAccess) {
                let line = error.to_string();
                assert!(!line.contains(&d), "{line}");
                assert!(!line.contains('\n'), "{line}");
            }
        }
        let debug = format!("{:?}", parse(&[private], Purpose::SignAccess).unwrap());
        assert!(!debug.contains(&d), "{debug}");
    }
}

#[test]
fn the_public_set_reads_as_the_contracts_public_key_set() {
    let (es, _) = pair(SigningKind::Es256);
    let (ed, _) = pair(SigningKind::EdDsa);
    let keys = parse(
        &[es.clone(), with(ed.clone(), "key_ops", json!(["verify"]))],
        Purpose::SignAccess,
    )
    .unwrap();
    let shown = serde_json::to_string(&keys.public_jwks()).unwrap();
    let set: crate::api::PublicKeySet = serde_json::from_str(&shown).unwrap();
    let summary: Vec<(&str, &str, &str, bool)> = set
        .keys
        .iter()
        .map(|k| {
            (
                k.kty.as_str(),
                k.crv.as_str(),
                k.alg.as_str(),
                k.y.is_some(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("EC", "P-256", "ES256", true),
            ("OKP", "Ed25519", "EdDSA", false)
        ]
    );
    assert_eq!(set.keys[0].kid, es["kid"].as_str().unwrap());
    assert_eq!(set.keys[1].x, ed["x"].as_str().unwrap());
    assert!(set.keys.iter().all(|k| k.usage == "sig"));
}
