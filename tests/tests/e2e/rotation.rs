//! Signing-key rotation with JWK Sets, walked the way the README's runbook
//! says: tokens issued before each step keep working, the session survives
//! every step, and a token signed by a removed key is refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use shared::api::{ErrorCode, ProfileResponse, TokenResponse};

use crate::support::stack::{TestStack, random_secret};

/// An `oct` JWK for `secret`, signing or verify-only.
fn jwk(kid: &str, secret: &str, sign: bool) -> Value {
    let ops = if sign {
        json!(["sign", "verify"])
    } else {
        json!(["verify"])
    };
    json!({"kty": "oct", "kid": kid, "k": URL_SAFE_NO_PAD.encode(secret), "key_ops": ops})
}

fn set(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

/// The `kid` in a token's header, if any.
fn kid(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).unwrap().kid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_both_key_sets_logs_nobody_out_and_retires_the_old_keys() {
    let mut stack = TestStack::start().await;
    let (old_access, old_refresh) = (stack.access_secret.clone(), stack.refresh_secret.clone());
    let (new_access, new_refresh) = (random_secret(), random_secret());
    let (_, before) = stack.new_session().await;
    assert_eq!(
        kid(&before.access_token),
        None,
        "single secrets sign without kid"
    );

    // 1. The new keys join as verify-only; the old ones sign, now with a kid.
    let access = set(&[
        jwk("a-old", &old_access, true),
        jwk("a-new", &new_access, false),
    ]);
    let refresh = set(&[
        jwk("r-old", &old_refresh, true),
        jwk("r-new", &new_refresh, false),
    ]);
    stack.restart("profile-service", &[("JWT_KEYS", &access)]);
    stack.restart(
        "auth-service",
        &[("JWT_KEYS", &access), ("JWT_REFRESH_KEYS", &refresh)],
    );
    stack
        .me(&before.access_token)
        .await
        .expect::<ProfileResponse>(200);
    let step1: TokenResponse = stack.refresh(&before.refresh_token).await.expect(200);
    assert_eq!(kid(&step1.access_token).as_deref(), Some("a-old"));
    assert_eq!(kid(&step1.refresh_token).as_deref(), Some("r-old"));

    // 2. The new keys sign; the old ones only verify.
    let access = set(&[
        jwk("a-old", &old_access, false),
        jwk("a-new", &new_access, true),
    ]);
    let refresh = set(&[
        jwk("r-old", &old_refresh, false),
        jwk("r-new", &new_refresh, true),
    ]);
    stack.restart("profile-service", &[("JWT_KEYS", &access)]);
    stack.restart(
        "auth-service",
        &[("JWT_KEYS", &access), ("JWT_REFRESH_KEYS", &refresh)],
    );
    for token in [&before.access_token, &step1.access_token] {
        stack.me(token).await.expect::<ProfileResponse>(200);
    }
    let step2: TokenResponse = stack.refresh(&step1.refresh_token).await.expect(200);
    assert_eq!(kid(&step2.access_token).as_deref(), Some("a-new"));
    assert_eq!(kid(&step2.refresh_token).as_deref(), Some("r-new"));

    // 3. After the longest token lifetime, the old keys and secrets go.
    let access = set(&[jwk("a-new", &new_access, true)]);
    let refresh = set(&[jwk("r-new", &new_refresh, true)]);
    stack.restart(
        "profile-service",
        &[("JWT_KEYS", &access), ("JWT_SECRET_KEY", "")],
    );
    stack.restart(
        "auth-service",
        &[
            ("JWT_KEYS", &access),
            ("JWT_REFRESH_KEYS", &refresh),
            ("JWT_SECRET_KEY", ""),
            ("JWT_REFRESH_SECRET_KEY", ""),
        ],
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
    // A refresh token signed by a removed key is refused, not "tried".
    let dead = stack.refresh(&step1.refresh_token).await;
    dead.expect_error(400, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn a_key_set_that_breaks_the_rules_stops_the_service_naming_the_variable() {
    let secret = random_secret();
    // The auth service signs, so its set needs a signer; the profile
    // service's need not have one (it only verifies).
    let cases = [
        (
            "auth-service",
            set(&[jwk("a", &secret, false)]),
            "exactly one must sign",
        ),
        (
            "profile-service",
            set(&[jwk("a", "short", true)]),
            "shorter than 32 bytes",
        ),
        ("profile-service", "not json".to_owned(), "is not a JWK Set"),
    ];
    for (bin, keys, problem) in cases {
        let builder = if bin == "auth-service" {
            TestStack::builder().auth_env("JWT_KEYS", &keys)
        } else {
            TestStack::builder().profile_env("JWT_KEYS", &keys)
        };
        let exit = builder.run_to_exit(bin, &std::env::temp_dir());
        assert_eq!(exit.code, Some(2), "{keys}: {:?}", exit.lines);
        let line = exit.lines.join("\n");
        assert!(
            line.contains("JWT_KEYS") && line.contains(problem),
            "{line}"
        );
        assert!(!line.contains(&secret), "a key was printed");
    }
    // The same kid in both sets is refused: a key signs one kind of token.
    let shared = set(&[jwk("same", &secret, true)]);
    let exit = TestStack::builder()
        .auth_env("JWT_KEYS", &shared)
        .auth_env(
            "JWT_REFRESH_KEYS",
            &set(&[jwk("same", &random_secret(), true)]),
        )
        .run_to_exit("auth-service", &std::env::temp_dir());
    assert_eq!(exit.code, Some(2));
    assert!(exit.lines.join("\n").contains("share kid same"));
}
