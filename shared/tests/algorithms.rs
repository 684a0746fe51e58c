//! Algorithm confusion, refused by the codec: a token is checked with the
//! key its `kid` names and only with that key's algorithm, and never with
//! a key the token itself points to or carries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::AlgorithmParameters;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use shared::claims::{AccessClaims, TokenType};
use shared::keys::{KeySet, Purpose, SigningKind, generate_signing_set};
use shared::token::{TokenCodec, TokenError, TokenSettings};
use uuid::Uuid;

const OCT: [u8; 32] = [9; 32];
const LEGACY: &str = "legacy-secret-0123456789abcdef0123";

fn settings() -> TokenSettings {
    TokenSettings {
        issuer: "auth-service".into(),
        audience: "profile-service".into(),
        leeway_seconds: 30,
    }
}

fn claims() -> AccessClaims {
    let now = chrono::Utc::now().timestamp();
    AccessClaims {
        sub: Uuid::new_v4(),
        email: "a@example.com".into(),
        email_verified: true,
        iat: now,
        exp: now + 60,
        iss: "auth-service".into(),
        aud: "profile-service".into(),
        jti: Uuid::new_v4(),
        sid: Uuid::new_v4(),
        typ: TokenType::Access,
        amr: Vec::new(),
        mfa: false,
    }
}

/// The first key of a JWK Set's JSON.
fn first_key(set: &str) -> Value {
    serde_json::from_str::<Value>(set).unwrap()["keys"][0].clone()
}

/// A verifier's set: an `oct` key `hs`, an ES256 and an EdDSA public key,
/// and the legacy secret; and the two private keys' sets.
struct Keys {
    verifier: TokenCodec,
    es_kid: String,
    ed_kid: String,
    es_public: Value,
    es_signer: KeySet,
    ed_signer: KeySet,
}

fn keys() -> Keys {
    let es = generate_signing_set(SigningKind::Es256);
    let ed = generate_signing_set(SigningKind::EdDsa);
    let set = json!({"keys": [
        {"kty": "oct", "kid": "hs", "k": URL_SAFE_NO_PAD.encode(OCT)},
        first_key(&es.public_set),
        first_key(&ed.public_set),
    ]});
    let set = SecretString::from(set.to_string());
    let legacy = SecretString::from(LEGACY.to_owned());
    let verifying = KeySet::for_purpose(Some(&set), Some(&legacy), Purpose::VerifyAccess).unwrap();
    let signer = |private: &SecretString| {
        KeySet::new(
            Some(&SecretString::from(private.expose_secret().to_owned())),
            None,
        )
        .unwrap()
    };
    Keys {
        verifier: TokenCodec::new(verifying, &settings()),
        es_public: first_key(&es.public_set),
        es_signer: signer(&es.private_set),
        ed_signer: signer(&ed.private_set),
        es_kid: es.kid,
        ed_kid: ed.kid,
    }
}

/// `claims()` under `header`, signed with `key`.
fn token(header: &Header, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, &claims(), key).unwrap()
}

fn header(alg: Algorithm, kid: Option<&str>) -> Header {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    header
}

#[test]
fn each_algorithm_verifies_with_its_own_keys() {
    let keys = keys();
    let es = TokenCodec::new(keys.es_signer.clone(), &settings())
        .encode(&claims())
        .unwrap();
    let ed = TokenCodec::new(keys.ed_signer.clone(), &settings())
        .encode(&claims())
        .unwrap();
    let hs = token(
        &header(Algorithm::HS256, Some("hs")),
        &EncodingKey::from_secret(&OCT),
    );
    let legacy = token(
        &header(Algorithm::HS256, None),
        &EncodingKey::from_secret(LEGACY.as_bytes()),
    );
    for (what, token) in [
        ("ES256", es),
        ("EdDSA", ed),
        ("HS256", hs),
        ("legacy", legacy),
    ] {
        let verified = keys.verifier.decode::<AccessClaims>(&token);
        assert!(verified.is_ok(), "{what}: {verified:?}");
    }
}

#[test]
fn a_token_whose_alg_is_not_its_keys_is_refused() {
    let keys = keys();
    let AlgorithmParameters::EllipticCurve(ec) =
        serde_json::from_value::<jsonwebtoken::jwk::Jwk>(keys.es_public.clone())
            .unwrap()
            .algorithm
    else {
        panic!("not an EC key");
    };
    let x = URL_SAFE_NO_PAD.decode(&ec.x).unwrap();
    let y = URL_SAFE_NO_PAD.decode(&ec.y).unwrap();
    let sec1 = [&[4u8][..], &x, &y].concat();
    // What an attacker might feed an HMAC as "the public key".
    let public_bytes: Vec<(&str, Vec<u8>)> = vec![
        ("the SEC1 point", sec1),
        ("x and y", [x, y].concat()),
        ("the JWK's JSON", keys.es_public.to_string().into_bytes()),
        ("x in base64url", ec.x.clone().into_bytes()),
    ];
    let es_signing = keys.es_signer.signing().unwrap();
    let ed_signing = keys.ed_signer.signing().unwrap();
    let mut cases: Vec<(String, String)> = public_bytes
        .into_iter()
        .map(|(what, bytes)| {
            (
                format!("HS256 keyed with {what}, kid of the ES256 key"),
                token(
                    &header(Algorithm::HS256, Some(&keys.es_kid)),
                    &EncodingKey::from_secret(&bytes),
                ),
            )
        })
        .collect();
    cases.extend([
        (
            "ES256 header, kid of the oct key".to_owned(),
            token(&header(Algorithm::ES256, Some("hs")), es_signing.key),
        ),
        (
            "EdDSA header, kid of the ES256 key".to_owned(),
            token(
                &header(Algorithm::EdDSA, Some(&keys.es_kid)),
                ed_signing.key,
            ),
        ),
        (
            "ES256 header, kid of the EdDSA key".to_owned(),
            token(
                &header(Algorithm::ES256, Some(&keys.ed_kid)),
                es_signing.key,
            ),
        ),
        (
            "ES256 header without kid (the legacy secret is HS256)".to_owned(),
            token(&header(Algorithm::ES256, None), es_signing.key),
        ),
        (
            "HS256 keyed with the oct key, kid of the ES256 key".to_owned(),
            token(
                &header(Algorithm::HS256, Some(&keys.es_kid)),
                &EncodingKey::from_secret(&OCT),
            ),
        ),
    ]);
    for (what, token) in cases {
        let refused = keys.verifier.decode::<AccessClaims>(&token);
        assert!(
            matches!(refused, Err(TokenError::AlgorithmMismatch)),
            "{what}: {refused:?}"
        );
    }
}

#[test]
fn a_header_that_points_to_or_carries_a_key_is_refused() {
    let keys = keys();
    let signing = keys.es_signer.signing().unwrap();
    let own = || header(Algorithm::ES256, Some(&keys.es_kid));
    let mut jku = own();
    jku.jku = Some("https://attacker.example/jwks.json".into());
    let mut x5u = own();
    x5u.x5u = Some("https://attacker.example/cert.pem".into());
    let mut jwk = own();
    jwk.jwk = Some(serde_json::from_value(keys.es_public.clone()).unwrap());
    let mut x5c = own();
    x5c.x5c = Some(vec!["MIIB".into()]);
    for (what, header) in [("jku", jku), ("x5u", x5u), ("jwk", jwk), ("x5c", x5c)] {
        // Signed by the right key: the header alone is the reason.
        let refused = keys
            .verifier
            .decode::<AccessClaims>(&token(&header, signing.key));
        assert!(
            matches!(refused, Err(TokenError::KeyInHeader)),
            "{what}: {refused:?}"
        );
    }
}

#[test]
fn another_key_under_a_known_kid_and_alg_none_are_refused() {
    let keys = keys();
    let stranger = generate_signing_set(SigningKind::Es256);
    let stranger = KeySet::new(
        Some(&SecretString::from(
            stranger.private_set.expose_secret().to_owned(),
        )),
        None,
    )
    .unwrap();
    let forged = token(
        &header(Algorithm::ES256, Some(&keys.es_kid)),
        stranger.signing().unwrap().key,
    );
    assert!(matches!(
        keys.verifier.decode::<AccessClaims>(&forged),
        Err(TokenError::Rejected(_))
    ));
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
    for header in [
        json!({"alg": "none", "kid": keys.es_kid}),
        json!({"alg": "none"}),
        json!({"alg": "ES512", "kid": keys.es_kid}),
    ] {
        let unsigned = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(header.to_string()));
        assert!(
            matches!(
                keys.verifier.decode::<AccessClaims>(&unsigned),
                Err(TokenError::Rejected(_))
            ),
            "{header}"
        );
    }
}
