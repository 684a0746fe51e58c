//! `TokenCodec::decode`, as the profile service runs it on a bearer token
//! and the auth service on a refresh token: any text must be refused or
//! give claims that pass every rule. Input with a newline is also read as
//! `header\nclaims` and signed with our key first, so the fuzzer reaches
//! the claim and header checks behind the signature.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::claims::{AccessClaims, RefreshClaims, TokenType};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    both_kinds(text);
    if let Some((header, claims)) = text.split_once('\n') {
        both_kinds(&auth_fuzz::sign_raw(header.as_bytes(), claims.as_bytes()));
    }
});

fn both_kinds(token: &str) {
    let codec = &*auth_fuzz::CODEC;
    if let Ok(claims) = codec.decode::<AccessClaims>(token) {
        assert_eq!(claims.typ, TokenType::Access);
        assert_eq!(claims.iss, auth_fuzz::settings().issuer);
        assert_rules(claims.iat, claims.exp);
    }
    if let Ok(claims) = codec.decode::<RefreshClaims>(token) {
        assert_eq!(claims.typ, TokenType::Refresh);
        assert_eq!(claims.iss, auth_fuzz::settings().issuer);
        assert_eq!(claims.aud, auth_fuzz::settings().audience);
        assert_rules(claims.iat, claims.exp);
    }
}

/// `iat` not before the epoch nor beyond the leeway; `exp` not further in
/// the past than the leeway.
fn assert_rules(iat: i64, exp: i64) {
    let now = chrono::Utc::now().timestamp();
    let leeway = 30;
    assert!(iat >= 0, "iat {iat} before the epoch");
    assert!(iat <= now + leeway, "iat {iat} in the future");
    assert!(exp >= now - leeway - 1, "exp {exp} long past");
}
