//! The auth service's discovery documents, for third services and OAuth
//! 2.0 clients: its RFC 8414 metadata and the JWK Set of its public
//! signing keys (`/.well-known/…`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /.well-known/oauth-authorization-server` (RFC 8414 §2). There is
/// no `revocation_endpoint`: logout is this service's own, not RFC 7009.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "issuer": "https://auth.example.com",
    "token_endpoint": "https://auth.example.com/login",
    "jwks_uri": "https://auth.example.com/.well-known/jwks.json",
    "grant_types_supported": ["password", "refresh_token"],
    "token_endpoint_auth_methods_supported": ["none"],
    "response_types_supported": []
}))]
pub struct ServerMetadata {
    /// `JWT_ISSUER`: the `iss` of every token (RFC 8414 wants the URL
    /// this document is served under; set `JWT_ISSUER` to it).
    pub issuer: String,
    /// `POST /login`, absolute, under `AUTH_PUBLIC_URL`.
    pub token_endpoint: String,
    /// `GET /.well-known/jwks.json`, absolute, under `AUTH_PUBLIC_URL`.
    pub jwks_uri: String,
    /// `password` and `refresh_token`.
    pub grant_types_supported: Vec<String>,
    /// `none`: clients are public and do not authenticate.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Empty: there is no authorization endpoint, so no response type
    /// (RFC 8414 requires the member).
    pub response_types_supported: Vec<String>,
}

/// `GET /.well-known/jwks.json`: the public keys that verify access
/// tokens (RFC 7517 §5). Never an `oct` key, never a private part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"keys": [{
    "kty": "EC", "crv": "P-256", "kid": "Q8m1rJk0…", "alg": "ES256", "use": "sig",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
}]}))]
pub struct PublicKeySet {
    pub keys: Vec<PublicKey>,
}

/// A public key of [`PublicKeySet`] (RFC 7518 §6.2 for EC, RFC 8037 for
/// OKP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicKey {
    /// `EC` (ES256) or `OKP` (EdDSA).
    pub kty: String,
    /// `P-256` or `Ed25519`.
    pub crv: String,
    /// base64url: the x coordinate (EC) or the public key (OKP).
    pub x: String,
    /// base64url: the y coordinate (EC only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The `kid` of the tokens this key verifies.
    pub kid: String,
    /// `ES256` or `EdDSA`: the only algorithm this key verifies.
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub usage: String,
}
