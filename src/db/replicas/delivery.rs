//! A replica for a subscription delivery: one that has replayed the write
//! its event announces.
//!
//! The background check is up to [`super::CHECK_INTERVAL`] old, and an
//! event is always newer than that: by the check's numbers alone every
//! delivery would read from the primary. So a delivery whose write is past
//! what the check saw asks a healthy replica where its replay stands now.
//! Deliveries share these questions: one at a time per replica, and a
//! question asked after a write was announced answers for that write, so an
//! event costs at most two questions per replica (the second
//! [`ASK_AGAIN_AFTER`] later, when the first found the replica just behind)
//! however many subscriptions it runs; a replica that still did not have the
//! write is not asked again for it (its deliveries read from the primary
//! rather than wait longer).

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Lsn, Replica, Replicas, replayed};
use crate::db::DbPool;

/// When a replica lacked a delivery's write, how long before it is asked
/// once more (then the delivery reads from the primary).
const ASK_AGAIN_AFTER: Duration = Duration::from_millis(5);

/// How long a delivery waits for a replica to say where it stands before
/// reading from the primary (and leaving the replica out until its next
/// check).
const ASK_TIMEOUT: Duration = Duration::from_millis(500);

/// The replica a delivery reads from.
#[derive(Clone)]
pub struct Picked {
    /// Its place in the configured list (see [`Replicas::pools`]).
    pub index: usize,
    /// Its pool.
    pub pool: DbPool,
}

impl Replicas {
    /// A healthy replica, in turn, that has replayed `written` (the WAL
    /// position of the event's committed write); `None`: read from the
    /// primary.
    pub async fn for_delivery(&self, written: Lsn) -> Option<Picked> {
        // Before any question is asked: a question that starts after this
        // counts as asked for this write (see `has_replayed`).
        self.announced.fetch_max(written.0, Ordering::SeqCst);
        let in_turn = self.in_turn();
        let healthy = |index: &usize| self.list[*index].healthy.load(Ordering::Relaxed);
        let mut found = in_turn
            .clone()
            .filter(healthy)
            .find(|index| self.list[*index].replayed.load(Ordering::Relaxed) >= written.0);
        if found.is_none() {
            for index in in_turn.filter(healthy) {
                if self.has_replayed(&self.list[index], written).await {
                    found = Some(index);
                    break;
                }
            }
        }
        let index = found?;
        let replica = &self.list[index];
        replica.deliveries.fetch_add(1, Ordering::Relaxed);
        Some(Picked {
            index,
            pool: replica.pool.clone(),
        })
    }

    /// Whether `replica` has replayed `written`, asking it unless a
    /// question asked since `written` was announced already answered no.
    async fn has_replayed(&self, replica: &Replica, written: Lsn) -> bool {
        let caught_up = || replica.replayed.load(Ordering::Relaxed) >= written.0;
        if caught_up() {
            return true;
        }
        let mut asked = replica.asked.lock().await;
        // Another delivery's question, answered while this one waited.
        if caught_up() {
            return true;
        }
        // The last questions started once `written` was announced, so after
        // its write committed: the replica had not replayed it then, and
        // waiting longer would delay the delivery.
        if *asked >= written.0 {
            return false;
        }
        for attempt in 0..2 {
            if attempt > 0 {
                // A replica that streams well replays a commit within a few
                // milliseconds of the primary, often just after the
                // notification arrived: one more question a moment later
                // keeps most deliveries off the primary.
                tokio::time::sleep(ASK_AGAIN_AFTER).await;
            }
            *asked = self.announced.load(Ordering::SeqCst);
            match tokio::time::timeout(ASK_TIMEOUT, replayed(&replica.pool)).await {
                Ok(Ok(Some(position))) => {
                    replica.replayed.fetch_max(position.0, Ordering::Relaxed);
                    if position.0 >= written.0 {
                        return true;
                    }
                }
                Ok(Ok(None)) => return false,
                Ok(Err(_)) | Err(_) => {
                    replica.leave_out("a replica did not say where its replay stands");
                    return false;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};

    use super::*;
    use crate::config::{DatabaseConfig, DatabaseUrl};
    use crate::db::pool::{self, StatementCounter};

    /// One replica that replayed `replayed`, on an address where nothing
    /// listens: asking it fails, which leaves it out.
    fn replicas(healthy: bool, replayed: u64) -> Replicas {
        let url = DatabaseUrl::parse("postgres://nobody@127.0.0.1:9/none?sslmode=disable")
            .expect("a valid URL");
        let mut config = DatabaseConfig::for_url(url);
        config.database_connect_timeout_secs = 1;
        let pool = pool::build(&config, &StatementCounter::default()).expect("a lazy pool");
        Replicas {
            list: vec![Replica {
                name: "nowhere".into(),
                pool,
                healthy: AtomicBool::new(healthy),
                replayed: AtomicU64::new(replayed),
                reads: AtomicU64::new(0),
                deliveries: AtomicU64::new(0),
                asked: tokio::sync::Mutex::new(0),
            }],
            next: AtomicUsize::new(0),
            max_lag: Duration::from_secs(5),
            announced: AtomicU64::new(0),
        }
    }

    fn healthy(replicas: &Replicas) -> bool {
        replicas.list[0].healthy.load(Ordering::Relaxed)
    }

    #[tokio::test]
    async fn a_replica_the_last_check_saw_past_the_write_takes_it_without_a_question() {
        let replicas = replicas(true, 200);
        let picked = replicas.for_delivery(Lsn(200)).await;
        assert_eq!(picked.map(|picked| picked.index), Some(0));
        assert_eq!(replicas.deliveries(), vec![1]);
        assert!(healthy(&replicas), "it was not asked (asking fails here)");
    }

    #[tokio::test]
    async fn an_unhealthy_replica_takes_no_delivery() {
        let replicas = replicas(false, 200);
        assert!(replicas.for_delivery(Lsn(100)).await.is_none());
        assert_eq!(replicas.deliveries(), vec![0]);
    }

    #[tokio::test]
    async fn a_replica_that_cannot_say_where_it_stands_is_left_out() {
        let replicas = replicas(true, 100);
        assert!(replicas.for_delivery(Lsn(200)).await.is_none());
        assert!(!healthy(&replicas), "left out until its next check");
    }

    #[tokio::test]
    async fn a_write_already_asked_about_is_not_asked_again() {
        let replicas = replicas(true, 100);
        // A question asked once write 300 was announced found the replica
        // behind: a delivery of write 200 reads from the primary at once.
        *replicas.list[0].asked.lock().await = 300;
        assert!(replicas.for_delivery(Lsn(200)).await.is_none());
        assert!(healthy(&replicas), "it was not asked again");
        // A newer write is asked about (and here the question fails).
        assert!(replicas.for_delivery(Lsn(400)).await.is_none());
        assert!(!healthy(&replicas));
    }
}
