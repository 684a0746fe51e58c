//! New asymmetric signing keys, as JWK Sets: the private set the auth
//! service signs with (`JWT_KEYS`) and the public set a verifier needs
//! (the profile service's `JWT_KEYS`, or what `/.well-known/jwks.json`
//! serves). The randomness is the operating system's (`OsRng`).

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{Jwk, JwkSet, ThumbprintHash};
use p256::elliptic_curve::zeroize::Zeroizing;
use rand_core::{OsRng, RngCore};
use secrecy::SecretString;
use serde_json::{Value, json};

use super::asymmetric::{ed25519_jwk, p256_jwk, with_kid};

/// Which kind of asymmetric key to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningKind {
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl FromStr for SigningKind {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "es256" => Ok(Self::Es256),
            "eddsa" | "ed25519" => Ok(Self::EdDsa),
            _ => Err(format!("{value:?} is not a key kind: use es256 or eddsa")),
        }
    }
}

/// A new key pair as JWK Sets.
pub struct GeneratedKeys {
    /// The key's `kid`: its RFC 7638 thumbprint.
    pub kid: String,
    /// `{"keys": [the private key, "key_ops": ["sign", "verify"]]}`.
    pub private_set: SecretString,
    /// `{"keys": [the public key, "use": "sig"]}`.
    pub public_set: String,
}

/// A fresh key of `kind`, as the set that signs and the set that verifies.
pub fn generate_signing_set(kind: SigningKind) -> GeneratedKeys {
    let (public, algorithm, d) = match kind {
        SigningKind::Es256 => {
            let secret = p256::SecretKey::random(&mut OsRng);
            let d = Zeroizing::new(secret.to_bytes().to_vec());
            (p256_jwk(&secret.public_key()), Algorithm::ES256, d)
        }
        SigningKind::EdDsa => {
            let mut seed = Zeroizing::new([0u8; 32]);
            OsRng.fill_bytes(seed.as_mut());
            let secret = ed25519_dalek::SigningKey::from_bytes(&seed);
            let d = Zeroizing::new(seed.to_vec());
            (ed25519_jwk(&secret.verifying_key()), Algorithm::EdDSA, d)
        }
    };
    let kid = public.thumbprint(ThumbprintHash::SHA256);
    let public = with_kid(public, &kid, algorithm);
    let public_value = jwk_value(&public);
    let mut private = public_value.clone();
    if let Value::Object(members) = &mut private {
        members.remove("use");
        members.insert("key_ops".into(), json!(["sign", "verify"]));
        members.insert("d".into(), Value::String(URL_SAFE_NO_PAD.encode(&*d)));
    }
    let private_set = SecretString::from(json!({ "keys": [private] }).to_string());
    GeneratedKeys {
        kid,
        private_set,
        // Exactly what `/.well-known/jwks.json` serves for this key.
        public_set: serde_json::to_string(&JwkSet { keys: vec![public] }).unwrap_or_default(),
    }
}

fn jwk_value(jwk: &Jwk) -> Value {
    serde_json::to_value(jwk).unwrap_or(Value::Null)
}
