//! Who a request comes from: the peer address, or behind a trusted proxy
//! the right-most `X-Forwarded-For` entry that is not itself a trusted
//! proxy, as a client *network* (an IPv4 address, an IPv6 /64). Resolved
//! once per request and kept in its extensions.

use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::header::HeaderValue;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use service_kit::error::InfraError;

use crate::error::AuthError;

/// `TRUSTED_PROXIES`, as app data.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpAddr>);

/// The network a request comes from: the key of the per-client limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientNetwork(pub IpAddr);

impl ClientNetwork {
    /// The network as text: `203.0.113.7`, or `2001:db8:1:2::/64`.
    pub fn label(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("{v6}/64"),
        }
    }

    /// The request's client network, resolved on first use and then kept
    /// in the request's extensions. `None` only without a peer address.
    pub fn of(req: &HttpRequest) -> Option<Self> {
        if let Some(known) = req.extensions().get::<Self>() {
            return Some(*known);
        }
        let trusted = req.app_data::<web::Data<TrustedProxies>>()?;
        let peer = req.peer_addr()?.ip();
        let forwarded = forwarded_entries(req.headers().get_all("x-forwarded-for"));
        let network = Self(client_behind(peer, &forwarded, &trusted.0));
        req.extensions_mut().insert(network);
        Some(network)
    }
}

impl FromRequest for ClientNetwork {
    type Error = AuthError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Self::of(req).ok_or_else(|| {
            InfraError::internal("no peer address, or TrustedProxies not registered").into()
        }))
    }
}

/// The request's `User-Agent`, as a session remembers it: at most
/// [`UserAgent::MAX_CHARS`] characters, control characters dropped; `None`
/// when absent, empty or not text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAgent(pub Option<String>);

impl UserAgent {
    pub const MAX_CHARS: usize = 256;

    fn of(req: &HttpRequest) -> Self {
        let text = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|value| std::str::from_utf8(value.as_bytes()).ok())
            .map(|text| {
                text.chars()
                    .filter(|c| !c.is_control())
                    .take(Self::MAX_CHARS)
                    .collect::<String>()
            })
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty());
        Self(text)
    }
}

impl FromRequest for UserAgent {
    type Error = AuthError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self::of(req)))
    }
}

/// The entries of a request's `X-Forwarded-For` header lines, oldest
/// first: each line split at its commas. A line that is not visible ASCII
/// is left out, as if it had not been sent.
pub fn forwarded_entries<'a>(lines: impl IntoIterator<Item = &'a HeaderValue>) -> Vec<&'a str> {
    lines
        .into_iter()
        .filter_map(|line| line.to_str().ok())
        .flat_map(|line| line.split(','))
        .collect()
}

/// Who sent a request that reached us from `peer` with `forwarded` (the
/// `X-Forwarded-For` entries, oldest first): walking from the nearest hop
/// outwards, the first address that is not a trusted proxy. An entry that
/// does not parse ends the walk at the last trusted hop, since a client
/// can write anything at the left of the header.
pub fn client_behind(peer: IpAddr, forwarded: &[&str], trusted: &[IpAddr]) -> IpAddr {
    let mut client = peer.to_canonical();
    for entry in std::iter::once(None).chain(forwarded.iter().rev().map(Some)) {
        if !trusted.contains(&client) {
            break;
        }
        match entry.map(|entry| parse_forwarded(entry)) {
            None => {}
            Some(Some(hop)) => client = hop,
            Some(None) => break,
        }
    }
    bucket(client)
}

/// One `X-Forwarded-For` entry: `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port`.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip = entry
        .parse()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))?
                .parse()
                .ok()
        })?;
    Some(IpAddr::to_canonical(&ip))
}

/// The limiter's key for `ip`: IPv6 clients are counted per /64, the block
/// one subscriber usually holds, so rotating addresses inside it is no way
/// around the limit.
fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::V6(segments.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn without_a_trusted_peer_the_header_is_ignored() {
        assert_eq!(
            client_behind(ip("192.0.2.1"), &["203.0.113.5"], &[]),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client() {
        let trusted = [ip("127.0.0.1"), ip("10.0.0.2")];
        let forwarded = ["198.51.100.1", "203.0.113.5", "10.0.0.2"];
        assert_eq!(
            client_behind(ip("127.0.0.1"), &forwarded, &trusted),
            ip("203.0.113.5")
        );
    }

    #[test]
    fn garbage_written_by_the_client_does_not_hide_the_real_hop() {
        let trusted = [ip("127.0.0.1")];
        let spoofed = ["10.0.0.7", "x", "203.0.113.5"];
        assert_eq!(
            client_behind(ip("127.0.0.1"), &spoofed, &trusted),
            ip("203.0.113.5")
        );
        let only_garbage = ["not-an-ip"];
        assert_eq!(
            client_behind(ip("127.0.0.1"), &only_garbage, &trusted),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_understood() {
        let trusted = [ip("127.0.0.1")];
        assert_eq!(
            client_behind(ip("::ffff:127.0.0.1"), &["203.0.113.5:4711"], &trusted),
            ip("203.0.113.5")
        );
        assert_eq!(
            client_behind(ip("127.0.0.1"), &["[2001:db8::1]:443"], &trusted),
            ip("2001:db8::")
        );
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64() {
        assert_eq!(
            client_behind(ip("2001:db8:1:2:3:4:5:6"), &[], &[]),
            ip("2001:db8:1:2::")
        );
    }

    mod properties {
        use std::net::SocketAddr;

        use proptest::prelude::*;

        use super::*;

        /// An `X-Forwarded-For` entry: an address, with a port or in
        /// brackets, or anything a client may write.
        fn entry() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<IpAddr>().prop_map(|ip| ip.to_string()),
                any::<SocketAddr>().prop_map(|addr| format!(" {addr} ")),
                any::<std::net::Ipv6Addr>().prop_map(|ip| format!("[{ip}]")),
                "[0-9a-f:.\\[\\] %]{0,20}",
                any::<String>(),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn the_client_is_a_network_and_an_untrusted_peer_is_it(
                peer in any::<IpAddr>(),
                trust_peer in any::<bool>(),
                mut trusted in prop::collection::vec(any::<IpAddr>(), 0..3),
                entries in prop::collection::vec(entry(), 0..6),
            ) {
                if trust_peer {
                    trusted.push(peer.to_canonical());
                }
                let line = entries.join(",");
                let lines = HeaderValue::from_str(&line).into_iter().collect::<Vec<_>>();
                let forwarded = forwarded_entries(&lines);
                let client = client_behind(peer, &forwarded, &trusted);
                if let IpAddr::V6(v6) = client {
                    prop_assert!(v6.segments()[4..] == [0; 4], "{client} is not a /64");
                }
                if !trusted.contains(&peer.to_canonical()) {
                    prop_assert_eq!(client, bucket(peer.to_canonical()));
                }
            }
        }
    }
}
