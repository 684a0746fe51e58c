//! EC P-256 (ES256) and Ed25519 (EdDSA) keys of a JWK Set: the public key
//! checked to be a point of its curve, the private key (`d`) checked to
//! belong to it and turned into the PKCS#8 form jsonwebtoken signs with.
//! The arithmetic is the RustCrypto crates' that jsonwebtoken's own
//! backend uses (`p256`, `ed25519-dalek`); nothing here is hand-made.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType,
    PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p256::elliptic_curve::zeroize::Zeroizing;
// One trait (pkcs8 0.10) for both curves' private keys.
use p256::pkcs8::EncodePrivateKey as _;

use super::KeySetError;

/// An asymmetric key, checked.
pub(super) struct Asymmetric {
    /// Its public half, in canonical form (unpadded base64url), no `kid`.
    pub(super) public: Jwk,
    pub(super) decoding: DecodingKey,
    /// With the private key only.
    pub(super) encoding: Option<EncodingKey>,
}

/// The key of `parameters` (an EC or OKP key whose curve is checked) and
/// its private part `d`, if any; `kid` names it in errors.
pub(super) fn parse(
    kid: &str,
    parameters: &AlgorithmParameters,
    d: Option<&str>,
) -> Result<Asymmetric, KeySetError> {
    let d = d
        .map(|d| decode(kid, "d", d).map(Zeroizing::new))
        .transpose()?;
    let (public, encoding) = match parameters {
        AlgorithmParameters::EllipticCurve(ec) => {
            let x = decode(kid, "x", &ec.x)?;
            let y = decode(kid, "y", &ec.y)?;
            let public = p256_public(&x, &y).ok_or_else(|| bad_public(kid))?;
            let encoding = d.map(|d| p256_private(kid, &d, &public)).transpose()?;
            (p256_jwk(&public), encoding)
        }
        AlgorithmParameters::OctetKeyPair(okp) => {
            let x = decode(kid, "x", &okp.x)?;
            let public = ed25519_public(&x).ok_or_else(|| bad_public(kid))?;
            let encoding = d.map(|d| ed25519_private(kid, &d, &public)).transpose()?;
            (ed25519_jwk(&public), encoding)
        }
        AlgorithmParameters::OctetKey(_) | AlgorithmParameters::RSA(_) => {
            return Err(bad_public(kid));
        }
    };
    let decoding = DecodingKey::from_jwk(&public).map_err(|_| bad_public(kid))?;
    Ok(Asymmetric {
        public,
        decoding,
        encoding,
    })
}

/// Signs a token with `encoding` and verifies it with `decoding`, so a key
/// jsonwebtoken cannot use stops the service at start, not at the first
/// login.
pub(super) fn probe(
    kid: &str,
    algorithm: Algorithm,
    encoding: &EncodingKey,
    decoding: &DecodingKey,
) -> Result<(), KeySetError> {
    let claims = serde_json::json!({"probe": kid});
    let mut validation = Validation::new(algorithm);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    jsonwebtoken::encode(&Header::new(algorithm), &claims, encoding)
        .and_then(|token| jsonwebtoken::decode::<serde_json::Value>(&token, decoding, &validation))
        .map(|_| ())
        .map_err(|_| KeySetError::Unusable(kid.to_owned()))
}

/// `public` as a third service should see it: `kid`, `alg` and
/// `"use": "sig"`.
pub(super) fn with_kid(mut public: Jwk, kid: &str, algorithm: Algorithm) -> Jwk {
    public.common = CommonParameters {
        public_key_use: Some(PublicKeyUse::Signature),
        key_algorithm: Some(match algorithm {
            Algorithm::EdDSA => KeyAlgorithm::EdDSA,
            _ => KeyAlgorithm::ES256,
        }),
        key_id: Some(kid.to_owned()),
        ..CommonParameters::default()
    };
    public
}

fn decode(kid: &str, member: &'static str, value: &str) -> Result<Vec<u8>, KeySetError> {
    URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map_err(|_| KeySetError::BadBase64 {
            key: kid.to_owned(),
            member,
        })
}

fn bad_public(kid: &str) -> KeySetError {
    KeySetError::BadPublicKey(kid.to_owned())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The P-256 point (x, y); `None` when it is not one (or not 32 bytes each).
fn p256_public(x: &[u8], y: &[u8]) -> Option<p256::PublicKey> {
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    let point = p256::EncodedPoint::from_affine_coordinates(
        p256::FieldBytes::from_slice(x),
        p256::FieldBytes::from_slice(y),
        false,
    );
    Option::from(p256::PublicKey::from_encoded_point(&point))
}

fn p256_private(kid: &str, d: &[u8], public: &p256::PublicKey) -> Result<EncodingKey, KeySetError> {
    let bad = || KeySetError::BadPrivateKey(kid.to_owned());
    if d.len() != 32 {
        return Err(bad());
    }
    let secret = p256::SecretKey::from_slice(d).map_err(|_| bad())?;
    if secret.public_key() != *public {
        return Err(KeySetError::PrivateKeyMismatch(kid.to_owned()));
    }
    let der = secret.to_pkcs8_der().map_err(|_| bad())?;
    Ok(EncodingKey::from_ec_der(der.as_bytes()))
}

/// The public JWK of a P-256 key, without `kid`.
pub(super) fn p256_jwk(public: &p256::PublicKey) -> Jwk {
    let point = public.to_encoded_point(false);
    let coordinate = |c: Option<&p256::FieldBytes>| c.map(|c| b64(c)).unwrap_or_default();
    Jwk {
        common: CommonParameters::default(),
        algorithm: AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
            key_type: EllipticCurveKeyType::EC,
            curve: EllipticCurve::P256,
            x: coordinate(point.x()),
            y: coordinate(point.y()),
        }),
    }
}

/// The Ed25519 public key `x`; `None` when it is not one, or a weak
/// (small-order) point that any signature could match.
fn ed25519_public(x: &[u8]) -> Option<ed25519_dalek::VerifyingKey> {
    let bytes: &[u8; 32] = x.try_into().ok()?;
    ed25519_dalek::VerifyingKey::from_bytes(bytes)
        .ok()
        .filter(|key| !key.is_weak())
}

fn ed25519_private(
    kid: &str,
    d: &[u8],
    public: &ed25519_dalek::VerifyingKey,
) -> Result<EncodingKey, KeySetError> {
    let bad = || KeySetError::BadPrivateKey(kid.to_owned());
    let seed: &[u8; 32] = d.try_into().map_err(|_| bad())?;
    let secret = ed25519_dalek::SigningKey::from_bytes(seed);
    if secret.verifying_key() != *public {
        return Err(KeySetError::PrivateKeyMismatch(kid.to_owned()));
    }
    let der = secret.to_pkcs8_der().map_err(|_| bad())?;
    Ok(EncodingKey::from_ed_der(der.as_bytes()))
}

/// The public JWK of an Ed25519 key, without `kid`.
pub(super) fn ed25519_jwk(public: &ed25519_dalek::VerifyingKey) -> Jwk {
    Jwk {
        common: CommonParameters::default(),
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: b64(public.as_bytes()),
        }),
    }
}

#[cfg(test)]
mod tests;
