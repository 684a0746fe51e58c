//! What an asymmetric key set gives a third service: tokens it can verify
//! with public keys alone, `/.well-known/jwks.json`, the RFC 8414
//! metadata; and a bad set stopping the service with one clear line.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use shared::api::{ErrorCode, ProfileResponse, ServerMetadata, TokenResponse};
use shared::keys::SigningKind;

use super::{first_key, generated, header, private_set, pyjwt, set, with};
use crate::support::client::send;
use crate::support::jwt::access_claims;
use crate::support::stack::{TestStack, random_secret};

#[tokio::test]
async fn tokens_pyjwt_signs_with_keys_of_the_profile_services_public_set_are_accepted() {
    let es_claims = access_claims("pyjwt-es256@example.com");
    let ed_claims = access_claims("pyjwt-eddsa@example.com");
    let Some((es_key, es_token)) = pyjwt("ES256", "pyjwt-es", &es_claims) else {
        return;
    };
    let Some((ed_key, ed_token)) = pyjwt("EdDSA", "pyjwt-ed", &ed_claims) else {
        return;
    };
    // Another PyJWT key under a kid of the set: its tokens are forgeries.
    let Some((_, stranger)) = pyjwt("ES256", "pyjwt-es", &es_claims) else {
        return;
    };
    // The profile service gets public keys only, and no secret at all.
    let stack = TestStack::builder()
        .profile_env("JWT_KEYS", &set(&[es_key, ed_key]))
        .profile_env("JWT_SECRET_KEY", "")
        .start()
        .await;
    for (token, claims) in [(&es_token, &es_claims), (&ed_token, &ed_claims)] {
        let profile: ProfileResponse = stack.me(token).await.expect(200);
        assert_eq!(profile.id.to_string(), claims["sub"].as_str().unwrap());
        assert_eq!(profile.email, claims["email"].as_str().unwrap());
    }
    stack
        .me(&stranger)
        .await
        .expect_error(401, ErrorCode::InvalidToken);
    // The auth service still signs with the HS256 secret the profile
    // service does not hold now.
    let (_, hs) = stack.new_session().await;
    stack
        .me(&hs.access_token)
        .await
        .expect_error(401, ErrorCode::InvalidToken);
}

#[tokio::test]
async fn an_es256_signer_issues_tokens_a_profile_service_without_secrets_verifies() {
    let keys = generated(SigningKind::Es256);
    let stack = TestStack::builder()
        .auth_env("JWT_KEYS", &private_set(&keys))
        .profile_env("JWT_KEYS", &keys.public_set)
        .profile_env("JWT_SECRET_KEY", "")
        .start()
        .await;
    let (email, tokens) = stack.new_session().await;
    let access = header(&tokens.access_token);
    assert_eq!(
        (access.alg, access.kid.as_deref()),
        (Algorithm::ES256, Some(keys.kid.as_str()))
    );
    assert_eq!(
        header(&tokens.refresh_token).alg,
        Algorithm::HS256,
        "refresh tokens stay HS256"
    );
    let profile: ProfileResponse = stack.me(&tokens.access_token).await.expect(200);
    assert_eq!(profile.email, email);
    let refreshed: TokenResponse = stack.refresh(&tokens.refresh_token).await.expect(200);
    stack
        .me(&refreshed.access_token)
        .await
        .expect::<ProfileResponse>(200);

    // A third service: the key from jwks.json, by the token's kid.
    let jwks: JwkSet = send(stack.client.get(stack.auth_url("/.well-known/jwks.json")))
        .await
        .expect(200);
    let jwk = jwks.find(&keys.kid).expect("the signing key is published");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&["profile-service"]);
    validation.set_issuer(&["auth-service"]);
    let claims = jsonwebtoken::decode::<Value>(
        &refreshed.access_token,
        &DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap_or_else(|e| panic!("the published key does not verify: {e}"))
    .claims;
    assert_eq!(claims["email"], email.as_str());
}

#[tokio::test]
async fn jwks_json_shows_the_public_keys_only_and_may_be_cached() {
    let es = generated(SigningKind::Es256);
    let ed = generated(SigningKind::EdDsa);
    let es_private = with(first_key(&private_set(&es)), "key_ops", json!(["verify"]));
    let oct = json!({"kty": "oct", "kid": "hs", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTAwMDE", "key_ops": ["sign"]});
    // An oct key signs; an ES256 key (private, verify-only) and an EdDSA
    // key (public only) verify.
    let stack = TestStack::builder()
        .auth_env(
            "JWT_KEYS",
            &set(&[oct, es_private.clone(), first_key(&ed.public_set)]),
        )
        .start()
        .await;
    let reply = send(stack.client.get(stack.auth_url("/.well-known/jwks.json"))).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
    let shown: Value = reply.json();
    let kids: Vec<&str> = shown["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [es.kid.as_str(), ed.kid.as_str()]);
    for key in shown["keys"].as_array().unwrap() {
        let members = key.as_object().unwrap();
        assert!(
            !members.contains_key("d") && !members.contains_key("k"),
            "{key}"
        );
        assert_eq!(key["use"], "sig");
    }
    assert!(!reply.body.contains(es_private["d"].as_str().unwrap()));
    // The contract's type reads it (it refuses unknown members).
    let _: shared::api::PublicKeySet = reply.json();

    // With the single HS256 secret only: an empty set, not an error.
    let plain = TestStack::start().await;
    let reply = send(plain.client.get(plain.auth_url("/.well-known/jwks.json"))).await;
    assert_eq!(reply.expect::<Value>(200), json!({"keys": []}));
}

#[tokio::test]
async fn the_metadata_names_the_token_endpoint_and_jwks_under_the_public_url() {
    let mut stack = TestStack::start().await;
    let reply = send(
        stack
            .client
            .get(stack.auth_url("/.well-known/oauth-authorization-server")),
    )
    .await;
    let raw: Value = reply.expect(200);
    assert!(raw.get("revocation_endpoint").is_none(), "{raw}");
    let metadata: ServerMetadata = reply.json();
    assert_eq!(
        metadata,
        ServerMetadata {
            issuer: "auth-service".into(),
            token_endpoint: "http://localhost:8001/login".into(),
            jwks_uri: "http://localhost:8001/.well-known/jwks.json".into(),
            grant_types_supported: vec!["password".into(), "refresh_token".into()],
            token_endpoint_auth_methods_supported: vec!["none".into()],
            response_types_supported: vec![],
        }
    );
    stack.restart(
        "auth-service",
        &[("AUTH_PUBLIC_URL", "https://example.com/auth/")],
    );
    let metadata: ServerMetadata = send(
        stack
            .client
            .get(stack.auth_url("/.well-known/oauth-authorization-server")),
    )
    .await
    .expect(200);
    assert_eq!(metadata.token_endpoint, "https://example.com/auth/login");
    assert_eq!(
        metadata.jwks_uri,
        "https://example.com/auth/.well-known/jwks.json"
    );
    assert_eq!(metadata.issuer, "auth-service", "iss stays JWT_ISSUER");
}

#[tokio::test]
async fn a_bad_asymmetric_key_set_stops_the_service_naming_the_variable_and_no_key() {
    let es = generated(SigningKind::Es256);
    let other = generated(SigningKind::Es256);
    let private = first_key(&private_set(&es));
    let d = private["d"].as_str().unwrap().to_owned();
    let foreign_d = with(
        private.clone(),
        "d",
        first_key(&private_set(&other))["d"].clone(),
    );
    let cases = [
        (
            "auth-service",
            es.public_set.clone(),
            "has 0 keys with key_ops",
        ),
        (
            "auth-service",
            set(&[with(private.clone(), "alg", "HS256".into())]),
            "but it is an ES256 key",
        ),
        (
            "auth-service",
            set(&[foreign_d]),
            "is not the private key of its x",
        ),
        (
            "profile-service",
            set(&[with(private.clone(), "crv", "P-384".into())]),
            "is on curve",
        ),
        (
            "profile-service",
            set(&[
                private.clone(),
                with(private.clone(), "kid", "second".into()),
            ]),
            "has 2 keys with key_ops",
        ),
    ];
    // (The lines are JSON: the quotes in a message are escaped there.)
    for (bin, keys, problem) in cases {
        let builder = if bin == "auth-service" {
            TestStack::builder().auth_env("JWT_KEYS", &keys)
        } else {
            TestStack::builder().profile_env("JWT_KEYS", &keys)
        };
        let exit = builder.run_to_exit(bin, &std::env::temp_dir());
        assert_eq!(exit.code, Some(2), "{bin} {problem}: {:?}", exit.lines);
        let output = exit.lines.join("\n");
        assert!(
            output.contains("JWT_KEYS") && output.contains(problem),
            "{bin}, expected {problem:?}: {output}"
        );
        assert!(
            !output.contains(&d),
            "{bin} printed a private key: {output}"
        );
    }
    // Refresh keys stay symmetric.
    let exit = TestStack::builder()
        .auth_env("JWT_REFRESH_KEYS", &private_set(&es))
        .auth_env("JWT_REFRESH_SECRET_KEY", &random_secret())
        .run_to_exit("auth-service", &std::env::temp_dir());
    assert_eq!(exit.code, Some(2));
    assert!(exit.lines.join("\n").contains("JWT_REFRESH_KEYS key"));
}
