//! Read-your-writes with read replicas.
//!
//! The guarantee: once a request that may write (any mutation) has been
//! answered, every later request of the same user, on any instance and any
//! of their sessions, reads data at least as new as what that request wrote.
//! After such a request, each of its users' live sessions (the viewer's, and
//! any it started: sign-up, sign-in, reset) records where the primary's WAL
//! stands then; a later request of theirs reads from a replica only once the
//! replica has replayed that far, else from the primary. Anonymous readers,
//! and users whose last write every replica has replayed, read from
//! replicas. Without replicas nothing is recorded.

use uuid::Uuid;

use crate::db::models::session;
use crate::services::Services;

/// Records the WAL position after a request that may have written, on the
/// sessions of `users` (nothing without replicas). A failure is logged: the
/// write itself succeeded, and the worst outcome is a stale read.
pub async fn stamp(services: &Services, users: &[Uuid]) {
    if services.replicas.is_none() || users.is_empty() {
        return;
    }
    let stamped = async {
        let mut conn = services.pool.get().await?;
        let result = session::stamp_write(&mut conn, users).await;
        conn.finish(result).await?;
        Ok::<_, crate::error::AppError>(())
    };
    if stamped.await.is_err() {
        tracing::warn!(
            "cannot record a write's WAL position; the writer's next reads may be stale"
        );
    }
}
