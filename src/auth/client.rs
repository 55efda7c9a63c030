//! Who is on the other end of a request: IP address and user agent.

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, header};

use crate::db::models::audit_event::Origin;

/// Longest user agent kept in the audit trail.
const MAX_USER_AGENT: usize = 512;

/// The client of a request. The IP comes from the socket, or from the last
/// `X-Forwarded-For` hop when `trust_proxy` is set (that hop is the one our
/// own proxy appended; earlier hops are whatever the client claimed).
pub fn origin(headers: &HeaderMap, peer: Option<SocketAddr>, trust_proxy: bool) -> Origin {
    let forwarded = if trust_proxy {
        last_forwarded_hop(headers)
    } else {
        None
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|ua| ua.chars().take(MAX_USER_AGENT).collect());
    Origin {
        ip: forwarded.or(peer.map(|peer| peer.ip())),
        user_agent,
    }
}

/// The address in the last `X-Forwarded-For` hop, or None when that hop is
/// missing or unreadable. Never an earlier hop: those are whatever the client
/// wrote, so skipping a bad last hop would let the client pick its own IP.
fn last_forwarded_hop(headers: &HeaderMap) -> Option<IpAddr> {
    let last_header = headers.get_all("x-forwarded-for").iter().next_back()?;
    let hop = last_header.to_str().ok()?.rsplit(',').next()?;
    parse_hop(hop.trim())
}

/// A hop as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = hop.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    let bracketed = hop.strip_prefix('[')?.strip_suffix(']')?;
    bracketed.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn client_ip(forwarded: &[&'static str]) -> Option<IpAddr> {
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append("x-forwarded-for", HeaderValue::from_static(value));
        }
        origin(&headers, Some(peer()), true).ip
    }

    fn peer() -> SocketAddr {
        "10.0.0.1:5000".parse().unwrap()
    }

    fn ip(raw: &str) -> Option<IpAddr> {
        Some(raw.parse().unwrap())
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.7"),
        );
        assert_eq!(origin(&headers, Some(peer()), false).ip, Some(peer().ip()));
        assert_eq!(origin(&headers, Some(peer()), true).ip, ip("203.0.113.7"));
        assert_eq!(
            origin(&HeaderMap::new(), Some(peer()), true).ip,
            Some(peer().ip())
        );
    }

    #[test]
    fn ports_and_brackets_are_stripped_from_the_last_hop() {
        assert_eq!(client_ip(&["6.6.6.6, 1.2.3.4:5678"]), ip("1.2.3.4"));
        assert_eq!(
            client_ip(&["6.6.6.6, [2001:db8::1]:443"]),
            ip("2001:db8::1")
        );
        assert_eq!(client_ip(&["6.6.6.6,[2001:db8::1]"]), ip("2001:db8::1"));
        assert_eq!(client_ip(&["2001:db8::2"]), ip("2001:db8::2"));
    }

    #[test]
    fn only_the_last_hop_of_the_last_header_counts() {
        assert_eq!(
            client_ip(&["6.6.6.6", "7.7.7.7, 203.0.113.9"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn an_unreadable_last_hop_falls_back_to_the_socket_never_to_an_earlier_hop() {
        for forwarded in [
            "6.6.6.6, unknown",
            "6.6.6.6, ",
            "6.6.6.6,",
            "6.6.6.6, 1.2.3.4:99999",
            "6.6.6.6, [1.2.3.4]",
            "6.6.6.6, [2001:db8::1",
            "6.6.6.6, 1.2.3.4 5.6.7.8",
            "6.6.6.6, _hidden",
        ] {
            assert_eq!(
                client_ip(&[forwarded]),
                Some(peer().ip()),
                "{forwarded:?} falls back to the socket address"
            );
        }
    }
}
