//! Who sent a request: the session from `Authorization: Bearer` or the cookie,
//! and the client's address.

use std::net::SocketAddr;

use axum::http::{HeaderMap, header};

use crate::accounts::{Actor, Viewer};
use crate::auth::{client, session};
use crate::db::models::audit_event::Origin;
use crate::db::replicas::Lsn;
use crate::error::AppResult;
use crate::graphql::context::DeviceCookie;
use crate::services::Services;

/// What a request proved about its sender.
#[derive(Debug, Clone)]
pub struct RequestAuth {
    pub viewer: Viewer,
    pub origin: Origin,
    /// The request carries the session cookie (so it may come from a browser
    /// page of any site, and needs CSRF protection).
    pub has_cookie: bool,
    /// Where the primary's WAL stood after the viewer's last write: reads
    /// go to a replica only once it has replayed this far.
    pub read_after: Option<Lsn>,
    /// The device cookie it carries, unchecked (sign-in checks it against the email).
    pub device: DeviceCookie,
}

/// Resolves the request's session. A missing, expired or revoked token is
/// simply anonymous.
pub async fn authenticate(
    services: &Services,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> AppResult<RequestAuth> {
    let cookie = services.cookies.read(headers);
    let token = bearer(headers).or(cookie);
    let mut viewer = Viewer::ANONYMOUS;
    let mut read_after = None;
    if let Some(token) = token {
        let mut conn = services.pool.get().await?;
        if let Some(found) = session::resolve(&mut conn, token).await? {
            viewer = Viewer::signed_in(Actor {
                user_id: found.user_id,
                session_id: found.id,
            });
            read_after = found.write_lsn;
        }
    }
    Ok(RequestAuth {
        viewer,
        origin: client::origin(headers, peer, services.config.trust_proxy),
        has_cookie: cookie.is_some(),
        read_after,
        device: DeviceCookie(services.cookies.read_device(headers).map(str::to_owned)),
    })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}
