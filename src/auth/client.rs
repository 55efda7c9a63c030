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
    let forwarded = trust_proxy
        .then(|| {
            headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
                .next_back()
        })
        .flatten();
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|ua| ua.chars().take(MAX_USER_AGENT).collect());
    Origin {
        ip: forwarded.or(peer.map(|peer| peer.ip())),
        user_agent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.7"),
        );
        let peer: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        assert_eq!(origin(&headers, Some(peer), false).ip, Some(peer.ip()));
        assert_eq!(
            origin(&headers, Some(peer), true).ip,
            Some("203.0.113.7".parse().unwrap())
        );
        assert_eq!(
            origin(&HeaderMap::new(), Some(peer), true).ip,
            Some(peer.ip())
        );
    }
}
