//! Why a key set was refused: each message follows the variable's name
//! (`JWT_KEYS has ...`) on one line, and names keys by `kid` or position,
//! never by material.

use super::MIN_SECRET_BYTES;

/// Why a key set was refused; names kids and positions, never material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySetError {
    #[error("is not a JWK Set ({{\"keys\": [...]}})")]
    NotAJwkSet,
    #[error("has no keys")]
    NoKeys,
    #[error(
        "key #{0} has kty {1:?}: use \"oct\" (HS256), \"EC\" (ES256, crv P-256) or \"OKP\" (EdDSA, crv Ed25519)"
    )]
    UnsupportedKeyType(usize, String),
    #[error(
        "key #{0} is not a JWK this service reads: oct needs k, EC needs crv, x and y, OKP needs crv and x"
    )]
    NotAKey(usize),
    #[error(
        "key #{0} is on curve {1}: an EC key must be on P-256 (ES256), an OKP key Ed25519 (EdDSA)"
    )]
    UnsupportedCurve(usize, String),
    #[error("key #{0} has a kid with a control character")]
    ControlInKid(usize),
    #[error("key #{0} has an empty kid (leave kid out for the key's thumbprint)")]
    EmptyKid(usize),
    #[error("key {key} has alg {given}, but it is an {expected} key: a key has one algorithm")]
    AlgorithmMismatch {
        key: String,
        given: String,
        expected: &'static str,
    },
    #[error("key {0} has a use other than \"sig\": these keys sign tokens")]
    NotForSignatures(String),
    #[error("key {key} has a {member} that is not base64url")]
    BadBase64 { key: String, member: &'static str },
    #[error("key {0} is shorter than {MIN_SECRET_BYTES} bytes")]
    TooShort(String),
    #[error("key {0} has a public key (x, y) that is not a point of its curve")]
    BadPublicKey(String),
    #[error("key {0} has a d that is not a private key of its curve")]
    BadPrivateKey(String),
    #[error("key {0} has a d that is not the private key of its x (and y)")]
    PrivateKeyMismatch(String),
    #[error("key {0} has key_ops \"sign\" but no private key (d): a public key cannot sign")]
    SignerWithoutPrivateKey(String),
    #[error("key {0} does not sign a token that it then verifies")]
    Unusable(String),
    #[error(
        "key {0} is an asymmetric key: refresh tokens never leave the auth service, so they are signed with oct keys only"
    )]
    AsymmetricRefreshKey(String),
    #[error("kid {0} appears twice")]
    DuplicateKid(String),
    #[error("has {0} keys with key_ops \"sign\": exactly one must sign")]
    SignerCount(usize),
    #[error("neither a key set nor a single secret was given")]
    Empty,
}
