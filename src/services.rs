//! The shared state the domain works with: the pool, the settings, the email
//! worker's wake-up, the story generator. A leaf: it imports building blocks
//! only, so every layer may use it and none of them is imported back.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::auth::cookie::CookieSettings;
use crate::auth::device::DeviceSigner;
use crate::config::ServeConfig;
use crate::db::DbPool;
use crate::db::pool::StatementCounter;
use crate::db::replicas::{Lsn, ReadTarget, Replicas};
use crate::stories::generator::StoryGenerator;

/// What the domain needs to do its work. Cheap to clone; the GraphQL schema
/// carries it in its data.
#[derive(Clone)]
pub struct Services {
    /// The database pool.
    pub pool: DbPool,
    /// The server's settings.
    pub config: Arc<ServeConfig>,
    /// How the session cookie is named and flagged.
    pub cookies: CookieSettings,
    /// Issues and checks device cookies, with the key every instance shares.
    pub devices: DeviceSigner,
    /// Wakes the email worker after a transaction queued email.
    pub email_wakeup: Arc<Notify>,
    /// SQL statements run through the pool.
    pub statements: StatementCounter,
    /// Writes AI stories.
    pub story_generator: Arc<dyn StoryGenerator>,
    /// Read replicas, when DATABASE_REPLICA_URLS names any.
    pub replicas: Option<Arc<Replicas>>,
}

impl Services {
    /// Where the reads of a request that only reads go: a replica that has
    /// replayed `read_after` (the reader's last write), else the primary.
    pub fn read_target(&self, read_after: Option<Lsn>) -> ReadTarget {
        let replica = self
            .replicas
            .as_ref()
            .and_then(|replicas| replicas.pick(read_after));
        match replica {
            Some(pool) => ReadTarget {
                pool,
                replica: true,
            },
            None => ReadTarget {
                pool: self.pool.clone(),
                replica: false,
            },
        }
    }

    /// Tells the email worker that email is waiting.
    pub fn email_queued(&self) {
        self.email_wakeup.notify_one();
    }
}
