//! `KeySet::new` on a `JWT_KEYS` value: any text is refused with a reason
//! or gives a set whose signer signs tokens that the set then verifies.

#![no_main]

use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use shared::claims::AccessClaims;
use shared::keys::KeySet;
use shared::token::TokenCodec;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let set = SecretString::from(text.to_owned());
    let legacy = SecretString::from(auth_fuzz::LEGACY.to_owned());
    let with_legacy = KeySet::new(Some(&set), Some(&legacy));
    let alone = KeySet::new(Some(&set), None);
    assert_eq!(
        with_legacy.as_ref().err(),
        alone.as_ref().err(),
        "the legacy secret changes nothing about the set"
    );
    if let Ok(keys) = alone {
        let kids = format!("{keys:?}");
        let codec = TokenCodec::new(keys, &auth_fuzz::settings());
        let claims = auth_fuzz::access_claims();
        let token = codec.encode(&claims).expect("a set that parses signs");
        let decoded = codec.decode::<AccessClaims>(&token);
        assert_eq!(decoded.ok(), Some(claims), "{kids} refuses its own token");
    }
});
