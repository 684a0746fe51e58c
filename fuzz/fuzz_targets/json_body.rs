//! `parse_json` (what `web::Json` and then `JsonBody` do with the bytes of
//! a body) for each JSON body the services take: anything that is not an
//! object is refused, and so is an object with a field given twice.

#![no_main]

use std::collections::HashMap;
use std::fmt;

use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use service_kit::extract::parse_json;
use shared::api::{ProfilePatch, RefreshRequest, SignupRequest};

fuzz_target!(|data: &[u8]| {
    let keys = serde_json::from_slice::<TopLevelKeys>(data).ok();
    let twice = |field: &str| {
        keys.as_ref()
            .is_some_and(|keys| keys.0.get(field) > Some(&1))
    };

    let signup = parse_json::<SignupRequest>(data);
    let refresh = parse_json::<RefreshRequest>(data);
    let patch = parse_json::<ProfilePatch>(data);
    for (accepted, fields) in [
        (signup.is_ok(), &["email", "password"][..]),
        (refresh.is_ok(), &["refresh_token"][..]),
        (patch.is_ok(), &["display_name", "bio"][..]),
    ] {
        if accepted {
            assert!(keys.is_some(), "accepted something that is not an object");
            assert!(
                !fields.iter().any(|f| twice(f)),
                "accepted a field given twice"
            );
        }
    }
    for error in [signup.err(), refresh.err(), patch.err()]
        .into_iter()
        .flatten()
    {
        let (status, body) = error.answer();
        assert_eq!(status.as_u16(), 400, "{body:?}");
    }
});

/// The keys of a JSON object, counted (a duplicate is counted twice);
/// anything else does not deserialize.
struct TopLevelKeys(HashMap<String, usize>);

impl<'de> Deserialize<'de> for TopLevelKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = TopLevelKeys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevelKeys, A::Error> {
                let mut keys = HashMap::new();
                while let Some((key, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                    *keys.entry(key).or_insert(0) += 1;
                }
                Ok(TopLevelKeys(keys))
            }
        }
        deserializer.deserialize_map(Keys)
    }
}
