//! Algorithm confusion against the profile service, table-driven: every
//! token here is refused with 401 `invalid_token`, though most are signed
//! by a real key of the stack; two controls beside them are accepted, so
//! each attack differs from a good token only by what it attacks.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde_json::json;
use shared::api::{ErrorCode, ProfileResponse};
use shared::keys::{KeySet, SigningKind};

use super::{first_key, generated, private_set, set};
use crate::support::client::send;
use crate::support::jwt::access_claims;
use crate::support::stack::{TestStack, random_secret};

/// The signing key of a private set.
fn signing_key(private: &str) -> EncodingKey {
    let keys = KeySet::new(Some(&SecretString::from(private.to_owned())), None).unwrap();
    keys.signing().unwrap().key.clone()
}

fn header(alg: Algorithm, kid: Option<&str>) -> Header {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    header
}

fn sign(header: &Header, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, &access_claims("attack@example.com"), key).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn algorithm_confusion_and_foreign_keys_are_401() {
    let es = generated(SigningKind::Es256);
    let ed = generated(SigningKind::EdDsa);
    let attacker = generated(SigningKind::Es256);
    let oct_secret = random_secret();
    let oct =
        json!({"kty": "oct", "kid": "hs", "k": b64(oct_secret.as_bytes()), "key_ops": ["verify"]});
    let es_public = first_key(&es.public_set);
    let stack = TestStack::builder()
        .auth_env("JWT_KEYS", &private_set(&es))
        .profile_env("JWT_KEYS", &set(&[es_public.clone(), oct]))
        .start()
        .await;
    let published = send(stack.client.get(stack.auth_url("/.well-known/jwks.json")))
        .await
        .body;
    let (real, stranger) = (
        signing_key(&private_set(&es)),
        signing_key(&private_set(&attacker)),
    );
    let eddsa = signing_key(&private_set(&ed));
    let kid = es.kid.as_str();
    let x = URL_SAFE_NO_PAD
        .decode(es_public["x"].as_str().unwrap())
        .unwrap();
    let y = URL_SAFE_NO_PAD
        .decode(es_public["y"].as_str().unwrap())
        .unwrap();

    // The controls: a token of the auth service, and one the test signs
    // with the same key and a plain header.
    let (_, issued) = stack.new_session().await;
    let control = sign(&header(Algorithm::ES256, Some(kid)), &real);
    for token in [&issued.access_token, &control] {
        stack.me(token).await.expect::<ProfileResponse>(200);
    }

    let hmac_with = |bytes: &[u8]| {
        sign(
            &header(Algorithm::HS256, Some(kid)),
            &EncodingKey::from_secret(bytes),
        )
    };
    let with_header = |edit: &dyn Fn(&mut Header), key: &EncodingKey| {
        let mut h = header(Algorithm::ES256, Some(kid));
        edit(&mut h);
        sign(&h, key)
    };
    let attacker_jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(first_key(&attacker.public_set)).unwrap();
    let reheaded = {
        // A real ES256 token whose header now says ES384.
        let parts: Vec<&str> = control.split('.').collect();
        let h = json!({"alg": "ES384", "typ": "JWT", "kid": kid}).to_string();
        format!("{}.{}.{}", b64(h.as_bytes()), parts[1], parts[2])
    };
    let unsigned = {
        let h = json!({"alg": "none", "kid": kid}).to_string();
        let claims = access_claims("attack@example.com").to_string();
        format!("{}.{}.", b64(h.as_bytes()), b64(claims.as_bytes()))
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "HS256 keyed with the public key's SEC1 point, kid of the ES256 key",
            hmac_with(&[&[4u8][..], &x, &y].concat()),
        ),
        (
            "HS256 keyed with x and y",
            hmac_with(&[x.clone(), y.clone()].concat()),
        ),
        (
            "HS256 keyed with the public JWK's JSON",
            hmac_with(es_public.to_string().as_bytes()),
        ),
        (
            "HS256 keyed with the body of /.well-known/jwks.json",
            hmac_with(published.as_bytes()),
        ),
        (
            "HS256 keyed with the oct key's secret, kid of the ES256 key",
            hmac_with(oct_secret.as_bytes()),
        ),
        (
            "ES256 header, kid of the oct key, signed by the real key",
            sign(&header(Algorithm::ES256, Some("hs")), &real),
        ),
        (
            "ES256 header without kid (the single secret is HS256)",
            sign(&header(Algorithm::ES256, None), &real),
        ),
        (
            "EdDSA header, kid of the ES256 key",
            sign(&header(Algorithm::EdDSA, Some(kid)), &eddsa),
        ),
        ("ES384 header over a real ES256 signature", reheaded),
        ("alg none, kid of the ES256 key", unsigned),
        (
            "another P-256 key under the kid",
            sign(&header(Algorithm::ES256, Some(kid)), &stranger),
        ),
        (
            "an unknown kid",
            sign(&header(Algorithm::ES256, Some("nobody")), &stranger),
        ),
        ("jku to the attacker's set, attacker's key and kid", {
            let mut h = header(Algorithm::ES256, Some(&attacker.kid));
            h.jku = Some("http://127.0.0.1:9/jwks.json".into());
            sign(&h, &stranger)
        }),
        (
            "jku, signed by the real key",
            with_header(
                &|h| h.jku = Some("http://127.0.0.1:9/jwks.json".into()),
                &real,
            ),
        ),
        (
            "the attacker's key embedded as jwk, under the kid",
            with_header(&|h| h.jwk = Some(attacker_jwk.clone()), &stranger),
        ),
        (
            "an embedded jwk, signed by the real key",
            with_header(&|h| h.jwk = Some(attacker_jwk.clone()), &real),
        ),
        (
            "x5u, signed by the real key",
            with_header(
                &|h| h.x5u = Some("http://127.0.0.1:9/cert.pem".into()),
                &real,
            ),
        ),
        (
            "x5c, signed by the real key",
            with_header(
                &|h| h.x5c = Some(vec!["MIIBszCCAVmgAwIBAgIU".into()]),
                &real,
            ),
        ),
    ];
    let mut accepted = Vec::new();
    for (attack, token) in &cases {
        let reply = stack.me(token).await;
        if reply.status.as_u16() != 401 {
            accepted.push(format!("{attack}: {} {}", reply.status, reply.body));
            continue;
        }
        reply.expect_error(401, ErrorCode::InvalidToken);
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{attack}: {challenge}"
        );
    }
    assert!(accepted.is_empty(), "not refused: {accepted:#?}");
    // The auth service's own Bearer check is the same codec.
    let reply = stack
        .post(
            "/password",
            json!({"current_password": "x", "new_password": "y"}),
            Some(&cases[0].1),
        )
        .await;
    reply.expect_error(401, ErrorCode::InvalidToken);
}
