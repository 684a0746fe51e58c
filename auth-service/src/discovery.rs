//! What the auth service publishes about itself, built once at start-up:
//! the public keys that verify its access tokens (a JWK Set) and its RFC
//! 8414 metadata, whose endpoints are absolute URLs under
//! `AUTH_PUBLIC_URL`.

use service_kit::config::EnvReader;
use shared::api::ServerMetadata;
use shared::keys::KeySet;
use url::Url;

/// Where clients reach the auth service unless told otherwise.
const DEFAULT_PUBLIC_URL: &str = "http://localhost:8001";

/// `AUTH_PUBLIC_URL`, or `issuer` (`JWT_ISSUER`) when that is an http(s)
/// URL, or `http://localhost:8001`, without a trailing slash. A bad value
/// is recorded in `env`.
pub fn public_url(env: &mut EnvReader, issuer: &str) -> String {
    let given = env.parse_or::<String>("AUTH_PUBLIC_URL", String::new());
    let url = if given.is_empty() {
        base_url(issuer)
    } else {
        let parsed = base_url(&given);
        if parsed.is_none() {
            env.problem(format!(
                "AUTH_PUBLIC_URL={given:?} is not an http(s) URL without query or fragment"
            ));
        }
        parsed
    };
    url.map_or_else(
        || DEFAULT_PUBLIC_URL.to_owned(),
        |url| url.as_str().trim_end_matches('/').to_owned(),
    )
}

/// `text` as the base URL of the service: http(s), with a host, no query
/// and no fragment.
fn base_url(text: &str) -> Option<Url> {
    Url::parse(text.trim()).ok().filter(|url| {
        matches!(url.scheme(), "http" | "https")
            && url.host().is_some()
            && url.query().is_none()
            && url.fragment().is_none()
    })
}

/// The two documents, serialised once.
pub struct Discovery {
    /// `/.well-known/jwks.json`: the public halves of the access-token
    /// keys (none when they are all `oct`).
    pub jwks: String,
    /// `/.well-known/oauth-authorization-server`.
    pub metadata: ServerMetadata,
}

impl Discovery {
    /// The documents for access tokens signed by `keys`, issued as
    /// `issuer`, with endpoints under `public_url`.
    pub fn new(keys: &KeySet, issuer: &str, public_url: &str) -> Self {
        let base = public_url.trim_end_matches('/');
        let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
        Self {
            jwks: serde_json::to_string(&keys.public_jwks())
                .unwrap_or_else(|_| r#"{"keys":[]}"#.to_owned()),
            metadata: ServerMetadata {
                issuer: issuer.to_owned(),
                token_endpoint: format!("{base}/login"),
                jwks_uri: format!("{base}/.well-known/jwks.json"),
                grant_types_supported: strings(&["password", "refresh_token"]),
                token_endpoint_auth_methods_supported: strings(&["none"]),
                response_types_supported: Vec::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)], issuer: &str) -> (String, Option<String>) {
        let mut env = EnvReader::from_pairs(pairs.iter().copied());
        let url = public_url(&mut env, issuer);
        (url, env.finish().err().map(|e| e.to_string()))
    }

    #[test]
    fn the_public_url_is_the_variable_else_a_url_issuer_else_localhost() {
        let set = [("AUTH_PUBLIC_URL", "https://auth.example.com/")];
        assert_eq!(
            read(&set, "auth-service"),
            ("https://auth.example.com".into(), None)
        );
        assert_eq!(
            read(&[], "https://id.example.com/tenant"),
            ("https://id.example.com/tenant".into(), None)
        );
        assert_eq!(
            read(&[], "auth-service"),
            ("http://localhost:8001".into(), None)
        );
        for bad in [
            "auth.example.com",
            "ftp://x",
            "https://x/?a=1",
            "https://x/#f",
        ] {
            let (_, problem) = read(&[("AUTH_PUBLIC_URL", bad)], "auth-service");
            let problem = problem.unwrap_or_default();
            assert!(problem.contains("AUTH_PUBLIC_URL"), "{bad}: {problem}");
        }
    }

    #[test]
    fn endpoints_are_absolute_under_the_public_url() {
        let secret = secrecy::SecretString::from(shared::keys::random_secret());
        let keys = KeySet::new(None, Some(&secret)).unwrap_or_else(|e| panic!("{e}"));
        for (base, login) in [
            ("https://auth.example.com", "https://auth.example.com/login"),
            (
                "https://example.com/auth/",
                "https://example.com/auth/login",
            ),
        ] {
            let discovery = Discovery::new(&keys, "iss", base);
            assert_eq!(discovery.metadata.token_endpoint, login);
            assert!(
                discovery
                    .metadata
                    .jwks_uri
                    .ends_with(".well-known/jwks.json")
            );
            assert_eq!(discovery.jwks, r#"{"keys":[]}"#, "oct keys are never shown");
        }
    }
}
