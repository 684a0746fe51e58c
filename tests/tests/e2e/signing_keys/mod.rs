//! Asymmetric signing keys (ES256, EdDSA) in `JWT_KEYS`: tokens minted by
//! PyJWT with a key of the profile service's public set, the auth service
//! signing with a private key that the profile service never sees, what
//! `/.well-known/…` publishes, the algorithm-confusion attacks (table-
//! driven, in `attacks`), the rotation from HS256 to ES256 (`rotation`),
//! and the start-up errors of a bad set.

mod attacks;
mod published;
mod rotation;

use std::process::Command;

use secrecy::ExposeSecret;
use serde_json::{Value, json};
use shared::keys::{GeneratedKeys, SigningKind, generate_signing_set};

use crate::support::tools::{PYJWT, python};

/// A fresh key pair of `kind`, as the auth service's and the profile
/// service's `JWT_KEYS`.
pub fn generated(kind: SigningKind) -> GeneratedKeys {
    generate_signing_set(kind)
}

/// The private set of `keys`, as text.
pub fn private_set(keys: &GeneratedKeys) -> String {
    keys.private_set.expose_secret().to_owned()
}

/// The first key of a JWK Set's JSON.
pub fn first_key(set: &str) -> Value {
    serde_json::from_str::<Value>(set).unwrap()["keys"][0].clone()
}

/// A JWK Set of `keys`.
pub fn set(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

/// `key` with `member` set to `value`.
pub fn with(mut key: Value, member: &str, value: Value) -> Value {
    key[member] = value;
    key
}

/// A key pair made by the `cryptography` package and a token for `claims`
/// signed with it by PyJWT, with header `kid`: (the public JWK with its
/// `kid`, `alg` and `use`, the token). `None` when PyJWT is missing on a
/// developer's machine (the test says SKIPPED).
pub fn pyjwt(alg: &str, kid: &str, claims: &Value) -> Option<(Value, String)> {
    const MINT: &str = r#"
import json, sys
import jwt
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, has_crypto
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
if not has_crypto:
    sys.exit("PyJWT has no cryptography: apt-get install python3-cryptography")
alg, kid, claims = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
if alg == "ES256":
    key = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(ECAlgorithm.to_jwk(key.public_key()))
else:
    key = ed25519.Ed25519PrivateKey.generate()
    public = json.loads(OKPAlgorithm.to_jwk(key.public_key()))
public.update({"kid": kid, "alg": alg, "use": "sig"})
token = jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})
print(json.dumps({"jwk": public, "token": token}))
"#;
    PYJWT.required()?;
    let output = Command::new(python())
        .args(["-c", MINT, alg, kid, &claims.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python: {e}"));
    assert!(
        output.status.success(),
        "PyJWT failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let minted: Value = serde_json::from_slice(&output.stdout).unwrap();
    Some((
        minted["jwk"].clone(),
        minted["token"].as_str().unwrap().to_owned(),
    ))
}

/// The header of `token`, unverified.
pub fn header(token: &str) -> jsonwebtoken::Header {
    jsonwebtoken::decode_header(token).unwrap()
}
