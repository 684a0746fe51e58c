//! Tokens the tests make and read themselves, the way any standard JWT
//! library would (PyJWT, jsonwebtoken for Node), given the secret.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

/// Seconds since the epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims a valid access token of this stack carries.
pub fn access_claims(email: &str) -> Value {
    json!({
        "sub": uuid::Uuid::new_v4(),
        "email": email,
        "iat": now(),
        "exp": now() + 600,
        "iss": "auth-service",
        "aud": "profile-service",
        "jti": uuid::Uuid::new_v4(),
        "sid": uuid::Uuid::new_v4(),
        "typ": "access",
    })
}

/// `claims` signed with `secret` using `alg`.
pub fn sign(alg: Algorithm, secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// An unsigned token with `{"alg": "none"}`.
pub fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

/// The claims of `token`, verified with `secret` (signature only).
pub fn claims_of(token: &str, secret: &str) -> Value {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .unwrap_or_else(|e| panic!("token does not verify: {e}"))
    .claims
}

/// `claims` with `key` set to `value` (or removed when `value` is null).
pub fn with(mut claims: Value, key: &str, value: Value) -> Value {
    if let Some(map) = claims.as_object_mut() {
        if value.is_null() {
            map.remove(key);
        } else {
            map.insert(key.to_owned(), value);
        }
    }
    claims
}

/// The claims of `token`, read without checking its signature (for a
/// token the test got from the service itself).
pub fn unverified_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_else(|e| panic!("not a JWT payload: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("not JSON claims: {e}"))
}
