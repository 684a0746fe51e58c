//! `X-Forwarded-For` as `ClientNetwork` reads it. The input is the peer
//! on the first line, the trusted proxies (comma-separated) on the second
//! and a header line per further line. Whatever the header says, the
//! answer is a network (an IPv6 address is cut to its /64), and from an
//! untrusted peer the header is ignored.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use actix_web::http::header::HeaderValue;
use auth_service::testing::{client_behind, forwarded_entries};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&byte| byte == b'\n');
    let ip = |text: &[u8]| {
        std::str::from_utf8(text)
            .ok()?
            .trim()
            .parse::<IpAddr>()
            .ok()
    };
    let peer = lines
        .next()
        .and_then(ip)
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let trusted: Vec<IpAddr> = lines
        .next()
        .unwrap_or_default()
        .split(|&byte| byte == b',')
        .filter_map(ip)
        .map(|ip| ip.to_canonical())
        .collect();
    let header: Vec<HeaderValue> = lines
        .filter_map(|line| HeaderValue::from_bytes(line).ok())
        .collect();
    let forwarded = forwarded_entries(&header);

    let client = client_behind(peer, &forwarded, &trusted);
    if let IpAddr::V6(v6) = client {
        assert!(v6.segments()[4..] == [0; 4], "{client} is not a /64");
    }
    if !trusted.contains(&peer.to_canonical()) {
        assert_eq!(
            client,
            client_behind(peer, &[], &[]),
            "an untrusted peer's header counted"
        );
    }
});
