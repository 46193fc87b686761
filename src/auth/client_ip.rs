//! Who the client is, for rate limiting: the TCP peer, unless the peer is one of
//! the configured trusted proxies (`rate_limit.trusted_proxies`), in which case the
//! right-most address in `X-Forwarded-For` (else `Forwarded: for=`) that is not a
//! trusted proxy. Addresses further left were written by the client and prove
//! nothing; headers from an untrusted peer are ignored altogether, so nobody can
//! pick their own key by sending the header.
//!
//! IPv6 clients are keyed by their /64: one subscriber usually holds a whole /64
//! and could otherwise rotate through it.

use std::net::IpAddr;

use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses addresses (`10.0.0.1`) and networks (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{entry:?} is not an IP address or CIDR network"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        let ip = canonical(*ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address as described in the module doc; `None` without a peer.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = canonical(peer?);
        if !self.contains(&peer) {
            return Some(peer);
        }
        let mut hops = forwarded_for(headers, "x-forwarded-for", parse_xff_hop);
        if hops.is_empty() {
            hops = forwarded_for(headers, "forwarded", parse_forwarded_element);
        }
        for hop in hops.into_iter().rev() {
            match hop {
                Some(ip) if self.contains(&ip) => continue,
                Some(ip) => return Some(ip),
                // An unreadable hop written by a trusted proxy: stop believing.
                None => break,
            }
        }
        Some(peer)
    }
}

/// The rate-limit key of an address: the address itself, or an IPv6 /64.
pub fn key_of(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`, from dual-stack sockets) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn forwarded_for(headers: &HeaderMap, name: &str, parse: fn(&str) -> Option<IpAddr>) -> Vec<Option<IpAddr>> {
    headers
        .get_all(name)
        .flat_map(|value| {
            let text = value.to_str().unwrap_or("");
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(parse)
                .collect::<Vec<_>>()
        })
        .map(|ip| ip.map(canonical))
        .collect()
}

fn parse_xff_hop(hop: &str) -> Option<IpAddr> {
    parse_node(hop)
}

/// One `Forwarded` element (`for=1.2.3.4;proto=https`): its `for` node.
fn parse_forwarded_element(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_node(value.trim().trim_matches('"')))?
    })
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:5678`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    node.rsplit_once(':')
        .and_then(|(ip, _)| ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4))
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        map
    }

    fn proxies() -> TrustedProxies {
        TrustedProxies::parse(&["10.0.0.0/8".to_owned(), "192.168.1.1".to_owned()]).expect("parses")
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("ip"))
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let h = headers(&[("x-forwarded-for", "1.1.1.1")]);
        assert_eq!(proxies().client_ip(ip("8.8.8.8"), &h), ip("8.8.8.8"));
        assert_eq!(TrustedProxies::default().client_ip(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 1.2.3.4, 10.1.1.1")]);
        assert_eq!(proxies().client_ip(ip("192.168.1.1"), &h), ip("1.2.3.4"));
        let h = headers(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "1.2.3.4:555")]);
        assert_eq!(proxies().client_ip(ip("10.0.0.2"), &h), ip("1.2.3.4"));
        let h = headers(&[("forwarded", "for=6.6.6.6, for=\"[2001:db8::1]:80\";proto=https")]);
        assert_eq!(proxies().client_ip(ip("10.0.0.2"), &h), ip("2001:db8::1"));
    }

    #[test]
    fn without_a_readable_client_hop_the_peer_is_the_key() {
        let h = headers(&[("x-forwarded-for", "10.2.2.2, garbage, 10.1.1.1")]);
        assert_eq!(proxies().client_ip(ip("10.0.0.2"), &h), ip("10.0.0.2"));
        assert_eq!(proxies().client_ip(ip("10.0.0.2"), &HeaderMap::new()), ip("10.0.0.2"));
    }

    #[test]
    fn bad_entries_are_refused_and_ipv6_is_keyed_by_its_64() {
        assert!(TrustedProxies::parse(&["10.0.0.0/33".to_owned()]).is_err());
        assert!(TrustedProxies::parse(&["proxy.local".to_owned()]).is_err());
        assert_eq!(key_of("2001:db8:1:2:3:4:5:6".parse().expect("ip")), "2001:db8:1:2::/64");
        assert_eq!(key_of("::ffff:1.2.3.4".parse().expect("ip")), "1.2.3.4");
    }
}
