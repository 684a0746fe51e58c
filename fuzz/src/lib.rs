//! The keys and settings the token targets verify with, and a signer for
//! tokens whose header and claims are whatever the fuzzer wrote, so the
//! checks behind the signature are reached too. The seeds in
//! `corpus/token_verify` are signed with these keys.

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use secrecy::SecretString;
use shared::claims::{AccessClaims, TokenType};
use shared::keys::KeySet;
use shared::token::{TokenCodec, TokenSettings};

/// The signing key of the access set, `kid` `access-2`.
pub const SIGNER: [u8; 32] = [0x42; 32];
/// A verify-only key of the access set, `kid` `access-1`.
pub const RETIRED: [u8; 32] = [0x41; 32];
/// The legacy secret: verifies tokens without `kid`.
pub const LEGACY: &str = "fuzz-legacy-secret-0123456789abcdef";

/// What the verifier requires of `iss`, `aud` and the clock.
pub fn settings() -> TokenSettings {
    TokenSettings {
        issuer: "auth-service".into(),
        audience: "profile-service".into(),
        leeway_seconds: 30,
    }
}

/// The access set (`access-2` signs, `access-1` verifies) and the legacy
/// secret, as `JWT_KEYS` and `JWT_SECRET_KEY` would give them.
pub fn keys() -> KeySet {
    let set = serde_json::json!({"keys": [
        {"kty": "oct", "kid": "access-2", "k": URL_SAFE_NO_PAD.encode(SIGNER), "key_ops": ["sign", "verify"]},
        {"kty": "oct", "kid": "access-1", "k": URL_SAFE_NO_PAD.encode(RETIRED), "key_ops": ["verify"]},
    ]});
    let set = SecretString::from(set.to_string());
    let legacy = SecretString::from(LEGACY.to_owned());
    KeySet::new(Some(&set), Some(&legacy)).expect("the fixture set is valid")
}

/// One codec for every run: building it parses JSON and derives keys.
pub static CODEC: LazyLock<TokenCodec> = LazyLock::new(|| TokenCodec::new(keys(), &settings()));

/// A token of `header` and `claims` exactly as written (any bytes),
/// signed with HS256 by the key the header's `kid` names (the legacy
/// secret when it names none or one we do not have).
pub fn sign_raw(header: &[u8], claims: &[u8]) -> String {
    let kid = serde_json::from_slice::<serde_json::Value>(header)
        .ok()
        .and_then(|header| header.get("kid")?.as_str().map(str::to_owned));
    let key = match kid.as_deref() {
        Some("access-2") => EncodingKey::from_secret(&SIGNER),
        Some("access-1") => EncodingKey::from_secret(&RETIRED),
        _ => EncodingKey::from_secret(LEGACY.as_bytes()),
    };
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256)
        .expect("HS256 signs");
    format!("{message}.{signature}")
}

/// Valid access claims, issued now, for a minute.
pub fn access_claims() -> AccessClaims {
    let now = chrono::Utc::now().timestamp();
    AccessClaims {
        sub: uuid::Uuid::nil(),
        email: "ada@example.com".into(),
        email_verified: false,
        iat: now,
        exp: now + 60,
        iss: settings().issuer,
        aud: settings().audience,
        jti: uuid::Uuid::nil(),
        sid: uuid::Uuid::nil(),
        typ: TokenType::Access,
        amr: Vec::new(),
        mfa: false,
    }
}
