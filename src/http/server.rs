//! Accepting connections: HTTP/1.1 with a header read timeout, a cap on open
//! connections, and graceful shutdown.
//!
//! `axum::serve` sets none of hyper's timeouts, so a client that sent half a
//! request held its connection forever. Here every connection is served by
//! hyper's HTTP/1 builder with a timer and `header_read_timeout`, which also
//! closes keep-alive connections that stay idle that long.
//!
//! Past `MAX_CONNECTIONS` the server stops accepting: further connections wait
//! in the kernel's listen backlog and are served as slots free up (the header
//! and request timeouts bound how long any connection holds one), rather than
//! being refused outright during a burst.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

use crate::config::HttpLimitConfig;
use crate::http::SHUTDOWN_GRACE;

/// Serves `router` on `listener` until `shutdown` completes, then lets
/// requests in flight finish (for at most [`SHUTDOWN_GRACE`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &HttpLimitConfig,
    shutdown: impl Future<Output = ()> + Send,
) {
    let slots = Arc::new(Semaphore::new(
        usize::try_from(limits.max_connections).unwrap_or(usize::MAX),
    ));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout());
    // Connections are told to finish through this channel (hyper-util's
    // `GracefulShutdown` cannot watch connections that may be upgraded to
    // WebSockets); their slots coming back tells when they have.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer, slot) = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener, &slots) => accepted,
        };
        // Handlers read the peer address through `ConnectInfo`, as with `axum::serve`.
        let service =
            router
                .clone()
                .map_request(move |mut request: axum::http::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                });
        let connection = http
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = result {
                tracing::debug!(%peer, error = %err, "connection closed with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let all_slots = limits.max_connections;
    if tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all_slots))
        .await
        .is_err()
    {
        tracing::warn!(
            grace_secs = SHUTDOWN_GRACE.as_secs(),
            "connections still open after the shutdown grace period; closing them"
        );
    }
}

/// Waits for a free slot, then for a connection.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> (TcpStream, SocketAddr, OwnedSemaphorePermit) {
    let slot = slots
        .clone()
        .acquire_owned()
        .await
        .expect("the connection semaphore is never closed");
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => return (stream, peer, slot),
            Err(err) => {
                // Out of file descriptors or a connection reset before accept:
                // keep serving; pause briefly so a persistent error cannot spin.
                tracing::warn!(error = %err, "accepting a connection failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}
