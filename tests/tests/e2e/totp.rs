//! A second factor: TOTP enrolment, confirmation, login with `otp`,
//! recovery codes and removal. Codes are computed by Debian's `oathtool`,
//! an implementation independent of the service's crate; without it the
//! tests skip (and fail under CI).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use shared::api::{ErrorCode, RecoveryCodes, TokenResponse, TotpEnrolment};

use crate::support::client::{PASSWORD, Reply, new_email, send};
use crate::support::db;
use crate::support::jwt::unverified_claims;
use crate::support::stack::{StackBuilder, TestStack};
use crate::support::tools::OATHTOOL;

const KEY: &str = "an mfa encryption key for the e2e tests, 32+ bytes";

fn with_key() -> StackBuilder {
    TestStack::builder().auth_env("MFA_ENCRYPTION_KEY", KEY)
}

/// `secret`'s code at `offset` seconds from now, by `oathtool`.
fn code(oathtool: &Path, secret: &str, offset: i64) -> String {
    let at = chrono::Utc::now().timestamp() + offset;
    let output = std::process::Command::new(oathtool)
        .args(["--totp", "-b", "-N", &format!("@{at}"), secret])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A six-digit code that is not `code`.
fn other_than(code: &str) -> String {
    let first = (code.as_bytes()[0] - b'0' + 1) % 10;
    format!("{first}{}", &code[1..])
}

async fn bearer(
    stack: &TestStack,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    let request = stack
        .client
        .request(method, stack.auth_url(path))
        .bearer_auth(token);
    send(match body {
        Some(body) => request.json(&body),
        None => request,
    })
    .await
}

async fn enrol(stack: &TestStack, token: &str) -> Reply {
    bearer(stack, reqwest::Method::POST, "/mfa/totp", token, None).await
}

async fn confirm(stack: &TestStack, token: &str, code: &str) -> Reply {
    let body = json!({"code": code});
    bearer(
        stack,
        reqwest::Method::POST,
        "/mfa/totp/confirm",
        token,
        Some(body),
    )
    .await
}

async fn disable(stack: &TestStack, token: &str, code: &str) -> Reply {
    let body = json!({"code": code});
    bearer(
        stack,
        reqwest::Method::DELETE,
        "/mfa/totp",
        token,
        Some(body),
    )
    .await
}

async fn login_otp(stack: &TestStack, email: &str, otp: &str) -> Reply {
    let form = [("username", email), ("password", PASSWORD), ("otp", otp)];
    send(stack.client.post(stack.auth_url("/login")).form(&form)).await
}

fn amr(tokens: &TokenResponse) -> Value {
    unverified_claims(&tokens.access_token)["amr"].clone()
}

/// A user with TOTP on, and its secret.
struct Enrolled {
    email: String,
    secret: String,
}

async fn enrolled(stack: &TestStack, oathtool: &Path) -> Enrolled {
    let (email, tokens) = stack.new_session().await;
    let enrolment: TotpEnrolment = enrol(stack, &tokens.access_token).await.expect(200);
    let confirmed_with = code(oathtool, &enrolment.secret, 0);
    confirm(stack, &tokens.access_token, &confirmed_with)
        .await
        .expect::<RecoveryCodes>(200);
    Enrolled {
        email,
        secret: enrolment.secret,
    }
}

fn oathtool() -> Option<PathBuf> {
    OATHTOOL.required()
}

#[tokio::test]
async fn totp_walk_enrol_confirm_log_in_refresh_and_turn_off() {
    let Some(oathtool) = oathtool() else { return };
    // Back-off off: this walk makes more refused attempts than its limit.
    let stack = with_key()
        .auth_env("LOGIN_FAILURE_LIMIT", "0")
        .start()
        .await;
    let (email, first) = stack.new_session().await;
    let other = stack
        .login(&email, PASSWORD)
        .await
        .expect::<TokenResponse>(200);
    assert_eq!(amr(&first), json!(["pwd"]));
    let me: Value = stack.me(&first.access_token).await.expect(200);
    assert_eq!(me["mfa"], json!(false));

    // Enrolment: a second one replaces the first.
    let replaced: TotpEnrolment = enrol(&stack, &first.access_token).await.expect(200);
    let reply = enrol(&stack, &first.access_token).await;
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let enrolment: TotpEnrolment = reply.expect(200);
    assert_ne!(replaced.secret, enrolment.secret);
    assert!(enrolment.otpauth_uri.starts_with("otpauth://totp/"));
    assert!(
        enrolment
            .otpauth_uri
            .contains(&format!("secret={}", enrolment.secret))
    );

    // Confirmation: bad shapes are 422, wrong codes 400, nothing changes.
    for bad in ["12345", "1234567", "abcdef", "", "12 345", "abcde23456"] {
        confirm(&stack, &first.access_token, bad)
            .await
            .expect_error(422, ErrorCode::ValidationError);
    }
    let now = code(&oathtool, &enrolment.secret, 0);
    confirm(&stack, &first.access_token, &other_than(&now))
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    confirm(
        &stack,
        &first.access_token,
        &code(&oathtool, &replaced.secret, 0),
    )
    .await
    .expect_error(400, ErrorCode::InvalidGrant);
    confirm(
        &stack,
        &first.access_token,
        &code(&oathtool, &enrolment.secret, -120),
    )
    .await
    .expect_error(400, ErrorCode::InvalidGrant);
    let confirmed_with = code(&oathtool, &enrolment.secret, 0);
    let codes: RecoveryCodes = confirm(&stack, &first.access_token, &confirmed_with)
        .await
        .expect(200);
    assert_eq!(codes.recovery_codes.len(), 10);
    assert!(codes.recovery_codes.iter().all(|c| c.len() == 10));

    // Every other session is revoked; the caller's stays.
    stack
        .refresh(&other.refresh_token)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    let kept: TokenResponse = stack.refresh(&first.refresh_token).await.expect(200);
    assert_eq!(amr(&kept), json!(["pwd"]));
    assert_eq!(unverified_claims(&kept.access_token)["mfa"], json!(true));

    // TOTP on: a second enrolment or confirmation is 409.
    enrol(&stack, &kept.access_token)
        .await
        .expect_error(409, ErrorCode::Conflict);
    confirm(
        &stack,
        &kept.access_token,
        &code(&oathtool, &enrolment.secret, 30),
    )
    .await
    .expect_error(409, ErrorCode::Conflict);

    // Login: no otp is mfa_required (and no token); a wrong one or the
    // confirming code again is invalid_grant.
    let reply = stack.login(&email, PASSWORD).await;
    let body = reply.expect_error(400, ErrorCode::MfaRequired);
    assert_eq!(
        body.error_description.as_deref(),
        Some(body.detail.as_str())
    );
    assert!(!reply.body.contains("access_token"));
    for bad in [
        other_than(&confirmed_with),
        confirmed_with.clone(),
        "12345".into(),
        "x".into(),
    ] {
        login_otp(&stack, &email, &bad)
            .await
            .expect_error(400, ErrorCode::InvalidGrant);
    }
    // The next step's code works once.
    let next = code(&oathtool, &enrolment.secret, 30);
    let second: TokenResponse = login_otp(&stack, &email, &next).await.expect(200);
    assert_eq!(amr(&second), json!(["pwd", "otp"]));
    login_otp(&stack, &email, &next)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    let me: Value = stack.me(&second.access_token).await.expect(200);
    assert_eq!(me["mfa"], json!(true));
    // A refresh keeps the session's amr.
    let refreshed: TokenResponse = stack.refresh(&second.refresh_token).await.expect(200);
    assert_eq!(amr(&refreshed), json!(["pwd", "otp"]));

    // A recovery code works once, in any case.
    let recovered: TokenResponse =
        login_otp(&stack, &email, &codes.recovery_codes[0].to_uppercase())
            .await
            .expect(200);
    assert_eq!(amr(&recovered), json!(["pwd", "otp"]));
    login_otp(&stack, &email, &codes.recovery_codes[0])
        .await
        .expect_error(400, ErrorCode::InvalidGrant);

    // What is stored: no secret or code in clear.
    let mut conn = stack.auth.db();
    let clear = format!(
        "SELECT count(*) FROM totp_factors t WHERE t::text ILIKE '%{}%'",
        enrolment.secret
    );
    assert_eq!(db::count(&mut conn, &clear), 0);
    assert_eq!(
        db::count(
            &mut conn,
            "SELECT count(*) FROM totp_factors WHERE length(secret_ciphertext) = 36 \
             AND length(secret_nonce) = 12 AND confirmed_at IS NOT NULL"
        ),
        1
    );
    assert_eq!(
        db::count(&mut conn, "SELECT count(*) FROM recovery_codes"),
        9
    );
    let clear_code = format!(
        "SELECT count(*) FROM recovery_codes r WHERE r::text ILIKE '%{}%'",
        codes.recovery_codes[1]
    );
    assert_eq!(db::count(&mut conn, &clear_code), 0);

    // Turning it off: bad shapes 422, a wrong or used code 400, then 204.
    for bad in ["12345", "abcdefghi", "abcdefghijk", "abcde2345!"] {
        disable(&stack, &recovered.access_token, bad)
            .await
            .expect_error(422, ErrorCode::ValidationError);
    }
    for wrong in [
        other_than(&code(&oathtool, &enrolment.secret, 0)),
        codes.recovery_codes[0].clone(),
    ] {
        disable(&stack, &recovered.access_token, &wrong)
            .await
            .expect_error(400, ErrorCode::InvalidGrant);
    }
    disable(&stack, &recovered.access_token, &codes.recovery_codes[1])
        .await
        .expect_status(204);
    disable(&stack, &recovered.access_token, &codes.recovery_codes[2])
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    assert_eq!(
        db::count(&mut conn, "SELECT count(*) FROM recovery_codes"),
        0
    );
    assert_eq!(db::count(&mut conn, "SELECT count(*) FROM totp_factors"), 0);
    let plain: TokenResponse = stack.login(&email, PASSWORD).await.expect(200);
    assert_eq!(amr(&plain), json!(["pwd"]));
    assert_eq!(unverified_claims(&plain.access_token)["mfa"], json!(false));
}

#[tokio::test]
async fn wrong_otps_count_in_the_login_backoff() {
    let Some(oathtool) = oathtool() else { return };
    let stack = with_key()
        .auth_env("LOGIN_FAILURE_LIMIT", "2")
        .start()
        .await;
    let user = enrolled(&stack, &oathtool).await;
    let wrong = other_than(&code(&oathtool, &user.secret, 30));
    // Wrong codes after a right password: each is counted, and from the
    // limit on they back off (1 s, doubling), as wrong passwords do.
    let mut statuses = Vec::new();
    while statuses.last() != Some(&429) && statuses.len() < 8 {
        let reply = login_otp(&stack, &user.email, &wrong).await;
        statuses.push(reply.status.as_u16());
    }
    assert_eq!(statuses[..2], [400, 400], "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // While it backs off, even the right code is refused unchecked.
    login_otp(&stack, &user.email, &code(&oathtool, &user.secret, 30))
        .await
        .expect_error(429, ErrorCode::RateLimited);
}

#[tokio::test]
async fn a_secret_copied_to_another_account_does_not_decrypt() {
    let Some(oathtool) = oathtool() else { return };
    let stack = with_key()
        .auth_env("LOGIN_FAILURE_LIMIT", "0")
        .start()
        .await;
    let (victim, thief) = (
        enrolled(&stack, &oathtool).await,
        enrolled(&stack, &oathtool).await,
    );
    let mut conn = stack.auth.db();
    db::execute(
        &mut conn,
        &format!(
            "UPDATE totp_factors t SET secret_ciphertext = v.secret_ciphertext, \
             secret_nonce = v.secret_nonce FROM totp_factors v, users vu, users tu \
             WHERE v.user_id = vu.id AND vu.email = '{}' \
             AND t.user_id = tu.id AND tu.email = '{}'",
            victim.email, thief.email
        ),
    );
    for secret in [&victim.secret, &thief.secret] {
        login_otp(&stack, &thief.email, &code(&oathtool, secret, 30))
            .await
            .expect_error(400, ErrorCode::InvalidGrant);
    }
    // The victim's own factor is untouched.
    let tokens: TokenResponse =
        login_otp(&stack, &victim.email, &code(&oathtool, &victim.secret, 30))
            .await
            .expect(200);
    assert_eq!(amr(&tokens), json!(["pwd", "otp"]));
}

#[tokio::test]
async fn without_a_key_totp_is_403_feature_disabled() {
    let stack = TestStack::start().await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let tokens: TokenResponse = stack.login(&email, PASSWORD).await.expect(200);
    enrol(&stack, &tokens.access_token)
        .await
        .expect_error(403, ErrorCode::FeatureDisabled);
    confirm(&stack, &tokens.access_token, "123456")
        .await
        .expect_error(403, ErrorCode::FeatureDisabled);
    // Without a token, the Bearer check comes first.
    send(stack.client.post(stack.auth_url("/mfa/totp")))
        .await
        .expect_error(401, ErrorCode::InvalidToken);
}

#[tokio::test]
async fn confirm_without_a_pending_enrolment_changes_nothing() {
    let stack = with_key().start().await;
    let (email, tokens) = stack.new_session().await;
    confirm(&stack, &tokens.access_token, "123456")
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    disable(&stack, &tokens.access_token, "123456")
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    let plain: TokenResponse = stack.login(&email, PASSWORD).await.expect(200);
    assert_eq!(amr(&plain), json!(["pwd"]));
}

#[tokio::test]
async fn turning_totp_on_revokes_the_other_sessions_at_the_profile_service_too() {
    let Some(oathtool) = oathtool() else { return };
    let stack = with_key().events().start().await;
    let (email, first) = stack.new_session().await;
    let other: TokenResponse = stack.login(&email, PASSWORD).await.expect(200);
    stack.me(&other.access_token).await.expect::<Value>(200);
    let enrolment: TotpEnrolment = enrol(&stack, &first.access_token).await.expect(200);
    confirm(
        &stack,
        &first.access_token,
        &code(&oathtool, &enrolment.secret, 0),
    )
    .await
    .expect::<RecoveryCodes>(200);
    // The contract's bound for revocations: 401 within 2 s of the answer.
    let started = std::time::Instant::now();
    while stack.me(&other.access_token).await.status != 401 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "the other session's access token still works"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stack.me(&first.access_token).await.expect::<Value>(200);
}
