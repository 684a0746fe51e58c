//! Signing and verifying JWTs the way the contract says: the key picked by
//! the header's `kid` (see [`KeySet`]) and the token's `alg` required to be
//! that key's own (HS256 for `oct`, ES256 for P-256, EdDSA for Ed25519),
//! with `exp`, `iat`, `iss`, `aud` and `typ` checked explicitly. One
//! [`TokenCodec`] per kind of token; the verification rules are built once.

use jsonwebtoken::{Algorithm, Header, Validation};

use crate::claims::{Claims, TokenType};
use crate::keys::KeySet;

/// Why a token was refused. It never carries the token itself.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Malformed, wrongly signed, expired, wrong issuer or audience, a
    /// missing claim, or an `alg` this codec does not know (`none`).
    #[error("token rejected: {0}")]
    Rejected(#[from] jsonwebtoken::errors::Error),
    /// A refresh token where an access token is due, or the reverse.
    #[error("token has the wrong typ")]
    WrongType,
    /// `iat` lies further in the future than the leeway allows.
    #[error("token issued in the future")]
    IssuedInFuture,
    /// `iat` is before 1970.
    #[error("token issued before the epoch")]
    IssuedBeforeEpoch,
    /// The header names a `kid` this service does not have, or has no
    /// `kid` while no single secret is configured.
    #[error("token signed with an unknown key")]
    UnknownKey,
    /// The header's `alg` is not the algorithm of the key its `kid` names
    /// (an HS256 token "signed" with a public key's bytes, say).
    #[error("token alg is not its key's algorithm")]
    AlgorithmMismatch,
    /// The header names or carries a key (`jku`, `x5u`, `jwk`, `x5c`):
    /// keys come from this service's configuration only.
    #[error("token header names or embeds a key")]
    KeyInHeader,
    /// Nothing to sign with (a verify-only configuration).
    #[error("no signing key configured")]
    NoSigningKey,
    /// The header has `crit`: it names extensions the token's meaning
    /// depends on, and this codec understands none (RFC 7515 §4.1.11).
    #[error("token header has crit, naming extensions this verifier does not understand")]
    CriticalExtension,
}

/// Where tokens come from and whom they are for, shared by issuer and
/// verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// `iss`: set by the auth service, required by verifiers.
    pub issuer: String,
    /// `aud`: set by the auth service, required by verifiers.
    pub audience: String,
    /// Clock-skew allowance on `exp` and `iat`, in seconds.
    pub leeway_seconds: u64,
}

/// The algorithms a key of ours can have, one per key.
const ALGORITHMS: [Algorithm; 3] = [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA];

/// Signs and verifies tokens of one kind.
pub struct TokenCodec {
    keys: KeySet,
    /// One set of rules per algorithm in [`ALGORITHMS`], each accepting
    /// that algorithm alone.
    validations: [Validation; 3],
    leeway_seconds: i64,
}

impl TokenCodec {
    /// A codec for `keys` that accepts only tokens matching `settings`.
    pub fn new(keys: KeySet, settings: &TokenSettings) -> Self {
        Self {
            keys,
            validations: ALGORITHMS.map(|algorithm| validation(algorithm, settings)),
            leeway_seconds: i64::try_from(settings.leeway_seconds).unwrap_or(i64::MAX),
        }
    }

    /// Signs `claims` with the signing key, its algorithm and its `kid`.
    pub fn encode<C: Claims>(&self, claims: &C) -> Result<String, TokenError> {
        let signing = self.keys.signing().ok_or(TokenError::NoSigningKey)?;
        let mut header = Header::new(signing.algorithm);
        header.kid = signing.kid.map(str::to_owned);
        Ok(jsonwebtoken::encode(&header, claims, signing.key)?)
    }

    /// Verifies signature, algorithm, `exp`, `iat`, `iss`, `aud` and `typ`,
    /// and returns the claims. The key is the one the header's `kid` names,
    /// and the header's `alg` must be that key's. A header with `crit` is
    /// refused whatever it lists (even `[]`, which RFC 7515 forbids): we
    /// implement no JWS extension, so none can be critical to us. A header
    /// that points to a key (`jku`, `x5u`) or carries one (`jwk`, `x5c`) is
    /// refused too: such a token asks to be checked with a key of the
    /// sender's choosing.
    pub fn decode<C: Claims>(&self, token: &str) -> Result<C, TokenError> {
        let header = jsonwebtoken::decode_header(token)?;
        if header.crit.is_some() {
            return Err(TokenError::CriticalExtension);
        }
        if header.jku.is_some()
            || header.x5u.is_some()
            || header.jwk.is_some()
            || header.x5c.is_some()
        {
            return Err(TokenError::KeyInHeader);
        }
        let (algorithm, key) = self
            .keys
            .verifying(header.kid.as_deref())
            .ok_or(TokenError::UnknownKey)?;
        if header.alg != algorithm {
            return Err(TokenError::AlgorithmMismatch);
        }
        let validation = ALGORITHMS
            .iter()
            .position(|known| *known == algorithm)
            .and_then(|index| self.validations.get(index))
            .ok_or(TokenError::AlgorithmMismatch)?;
        let claims = jsonwebtoken::decode::<C>(token, key, validation)?.claims;
        if claims.typ() != C::TYPE {
            return Err(TokenError::WrongType);
        }
        let now = chrono::Utc::now().timestamp();
        if claims.iat() > now.saturating_add(self.leeway_seconds) {
            return Err(TokenError::IssuedInFuture);
        }
        // Before 1970 no token of ours was issued, and PostgreSQL could not
        // even store some of those instants.
        if claims.iat() < 0 {
            return Err(TokenError::IssuedBeforeEpoch);
        }
        Ok(claims)
    }
}

/// The rules for tokens of `algorithm` alone.
fn validation(algorithm: Algorithm, settings: &TokenSettings) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.leeway = settings.leeway_seconds;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.audience]);
    validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
    validation
}

/// The `typ` a token says it has, read without verifying anything. Anyone
/// holding a token can read its payload, so an answer may name this ("a
/// refresh token was sent where an access token is due") without telling
/// the sender anything new; nothing else may be trusted from it.
pub fn claimed_type(token: &str) -> Option<TokenType> {
    use base64::Engine;
    #[derive(serde::Deserialize)]
    struct Typ {
        typ: TokenType,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Typ>(&bytes).ok().map(|t| t.typ)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::claims::{AccessClaims, RefreshClaims};
    use uuid::Uuid;

    fn settings() -> TokenSettings {
        TokenSettings {
            issuer: "auth-service".into(),
            audience: "profile-service".into(),
            leeway_seconds: 30,
        }
    }

    fn codec(secret: &str) -> TokenCodec {
        let secret = secrecy::SecretString::from(secret.to_owned());
        TokenCodec::new(KeySet::new(None, Some(&secret)).unwrap(), &settings())
    }

    fn access(iat: i64, exp: i64) -> AccessClaims {
        AccessClaims {
            sub: Uuid::new_v4(),
            email: "a@example.com".into(),
            email_verified: false,
            iat,
            exp,
            iss: "auth-service".into(),
            aud: "profile-service".into(),
            jti: Uuid::new_v4(),
            sid: Uuid::new_v4(),
            typ: TokenType::Access,
            amr: Vec::new(),
            mfa: false,
        }
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trip_keeps_every_claim() {
        let now = chrono::Utc::now().timestamp();
        let claims = access(now, now + 60);
        let token = codec(SECRET).encode(&claims).unwrap();
        assert_eq!(
            codec(SECRET).decode::<AccessClaims>(&token).unwrap(),
            claims
        );
    }

    #[test]
    fn access_token_is_not_a_refresh_token() {
        let now = chrono::Utc::now().timestamp();
        let token = codec(SECRET).encode(&access(now, now + 60)).unwrap();
        assert!(matches!(
            codec(SECRET).decode::<RefreshClaims>(&token),
            Err(TokenError::WrongType)
        ));
    }

    #[test]
    fn expired_beyond_leeway_is_refused_within_leeway_accepted() {
        let now = chrono::Utc::now().timestamp();
        let stale = codec(SECRET).encode(&access(now - 600, now - 31)).unwrap();
        assert!(codec(SECRET).decode::<AccessClaims>(&stale).is_err());
        let fresh = codec(SECRET).encode(&access(now - 600, now - 5)).unwrap();
        assert!(codec(SECRET).decode::<AccessClaims>(&fresh).is_ok());
    }

    #[test]
    fn iat_in_the_future_is_refused() {
        let now = chrono::Utc::now().timestamp();
        let token = codec(SECRET).encode(&access(now + 120, now + 600)).unwrap();
        assert!(matches!(
            codec(SECRET).decode::<AccessClaims>(&token),
            Err(TokenError::IssuedInFuture)
        ));
    }

    #[test]
    fn the_kid_picks_the_key_and_an_unknown_kid_is_refused() {
        use base64::Engine;
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let set = |signer: &str| {
            let json = serde_json::json!({"keys": [
                {"kty": "oct", "kid": "old", "k": b64(&[1; 32]), "key_ops": if signer == "old" { vec!["sign"] } else { vec!["verify"] }},
                {"kty": "oct", "kid": "new", "k": b64(&[2; 32]), "key_ops": if signer == "new" { vec!["sign"] } else { vec!["verify"] }},
            ]});
            let json = secrecy::SecretString::from(json.to_string());
            TokenCodec::new(KeySet::new(Some(&json), None).unwrap(), &settings())
        };
        let now = chrono::Utc::now().timestamp();
        let by_old = set("old").encode(&access(now, now + 60)).unwrap();
        let header = jsonwebtoken::decode_header(&by_old).unwrap();
        assert_eq!(header.kid.as_deref(), Some("old"));
        assert!(set("new").decode::<AccessClaims>(&by_old).is_ok());
        let legacy = codec(SECRET).encode(&access(now, now + 60)).unwrap();
        assert!(matches!(
            set("new").decode::<AccessClaims>(&legacy),
            Err(TokenError::UnknownKey)
        ));
    }

    #[test]
    fn a_header_naming_critical_extensions_is_refused_even_when_signed_right() {
        let now = chrono::Utc::now().timestamp();
        let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
        for crit in [vec!["exp".to_owned()], vec!["b64".to_owned()], Vec::new()] {
            let mut header = Header::new(Algorithm::HS256);
            header.crit = Some(crit.clone());
            let token = jsonwebtoken::encode(&header, &access(now, now + 60), &key).unwrap();
            assert!(
                matches!(
                    codec(SECRET).decode::<AccessClaims>(&token),
                    Err(TokenError::CriticalExtension)
                ),
                "crit {crit:?} was accepted"
            );
        }
    }

    #[test]
    fn other_secret_is_refused() {
        let now = chrono::Utc::now().timestamp();
        let token = codec(SECRET).encode(&access(now, now + 60)).unwrap();
        let other = codec("fedcba9876543210fedcba9876543210");
        assert!(other.decode::<AccessClaims>(&token).is_err());
    }

    #[test]
    fn the_claimed_type_is_read_without_a_key() {
        let now = chrono::Utc::now().timestamp();
        let token = codec(SECRET).encode(&access(now, now + 60)).unwrap();
        assert_eq!(claimed_type(&token), Some(TokenType::Access));
        for garbage in ["", "a.b.c", "only-one-part", "x.eyJ0eXAiOiJvdGhlciJ9.y"] {
            assert_eq!(claimed_type(garbage), None, "{garbage}");
        }
    }
}
