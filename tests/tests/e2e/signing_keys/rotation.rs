//! From HS256 to ES256 through restarts, the way docs/operations.md's
//! runbook says: the ES256 key joins (public half at the profile service,
//! private, verify-only, at the auth service), then signs, then the HS256
//! keys go. Nobody is logged out at any step; at the end the profile
//! service holds no secret at all.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use shared::api::{ErrorCode, ProfileResponse, TokenResponse};
use shared::keys::SigningKind;

use super::{first_key, generated, header, private_set, set, with};
use crate::support::client::send;
use crate::support::stack::TestStack;

fn oct(kid: &str, secret: &str, sign: bool) -> Value {
    let ops = if sign {
        json!(["sign", "verify"])
    } else {
        json!(["verify"])
    };
    json!({"kty": "oct", "kid": kid, "k": URL_SAFE_NO_PAD.encode(secret), "key_ops": ops})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_from_hs256_to_es256_logs_nobody_out() {
    let mut stack = TestStack::start().await;
    let secret = stack.access_secret.clone();
    let es = generated(SigningKind::Es256);
    let es_private = first_key(&private_set(&es));
    let es_public = first_key(&es.public_set);
    let (_, before) = stack.new_session().await;
    assert_eq!(header(&before.access_token).alg, Algorithm::HS256);

    // 1. The ES256 key joins: its public half at the profile service, its
    //    private half (verify-only) at the auth service; HS256 still signs.
    stack.restart(
        "profile-service",
        &[(
            "JWT_KEYS",
            &set(&[oct("hs-1", &secret, false), es_public.clone()]),
        )],
    );
    let verify_only = with(es_private.clone(), "key_ops", json!(["verify"]));
    stack.restart(
        "auth-service",
        &[("JWT_KEYS", &set(&[oct("hs-1", &secret, true), verify_only]))],
    );
    stack
        .me(&before.access_token)
        .await
        .expect::<ProfileResponse>(200);
    let step1: TokenResponse = stack.refresh(&before.refresh_token).await.expect(200);
    let h = header(&step1.access_token);
    assert_eq!((h.alg, h.kid.as_deref()), (Algorithm::HS256, Some("hs-1")));

    // 2. ES256 signs. The profile service already has its public key: it
    //    is not even restarted.
    stack.restart(
        "auth-service",
        &[(
            "JWT_KEYS",
            &set(&[oct("hs-1", &secret, false), es_private.clone()]),
        )],
    );
    let step2: TokenResponse = stack.refresh(&step1.refresh_token).await.expect(200);
    let h = header(&step2.access_token);
    assert_eq!(
        (h.alg, h.kid.as_deref()),
        (Algorithm::ES256, Some(es.kid.as_str()))
    );
    for token in [
        &before.access_token,
        &step1.access_token,
        &step2.access_token,
    ] {
        stack.me(token).await.expect::<ProfileResponse>(200);
    }

    // 3. After the longest access-token lifetime the HS256 key and secret
    //    go: the profile service keeps a public key and nothing else.
    stack.restart(
        "profile-service",
        &[("JWT_KEYS", &set(&[es_public])), ("JWT_SECRET_KEY", "")],
    );
    stack.restart(
        "auth-service",
        &[("JWT_KEYS", &set(&[es_private])), ("JWT_SECRET_KEY", "")],
    );
    stack
        .me(&step2.access_token)
        .await
        .expect::<ProfileResponse>(200);
    for retired in [&before.access_token, &step1.access_token] {
        stack
            .me(retired)
            .await
            .expect_error(401, ErrorCode::InvalidToken);
    }
    // The session lived through every step.
    let step3: TokenResponse = stack.refresh(&step2.refresh_token).await.expect(200);
    stack
        .me(&step3.access_token)
        .await
        .expect::<ProfileResponse>(200);
    let published: Value = send(stack.client.get(stack.auth_url("/.well-known/jwks.json")))
        .await
        .expect(200);
    assert_eq!(published, json!({"keys": [first_key(&es.public_set)]}));
}
