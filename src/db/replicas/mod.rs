//! Streaming replicas that take the reads of GraphQL queries off the primary.
//!
//! Each replica has a pool of its own and a background check
//! ([`CHECK_INTERVAL`]): how far it has replayed the primary's WAL and how
//! far behind it is. A read goes to a healthy replica, in turn, that has
//! replayed at least the position its reader needs (see
//! `accounts::read_your_writes`); when none has, or none is healthy, it goes
//! to the primary. A replica that stops answering or falls more than
//! `REPLICA_MAX_LAG_MS` behind is left out until a check finds it well again.
//!
//! Subscription deliveries pick their replica with
//! [`Replicas::for_delivery`]: by the WAL position of their event's own
//! write, asking a replica afresh when the last check is older than it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::pg::data_types::PgLsn;

/// A position in the primary's write-ahead log.
pub use diesel::pg::data_types::PgLsn as Lsn;
use diesel::sql_types::{Bool, Nullable, PgLsn as PgLsnType};
use diesel_async::pooled_connection::deadpool::BuildError;

mod delivery;

pub use delivery::Picked;

use crate::config::{DatabaseConfig, PoolerMode};
use crate::db::pool::{self, DbPool, StatementCounter};

/// How often each replica is checked.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// A replica and what the last check found.
struct Replica {
    /// `host:port/database`, for the log (no password).
    name: String,
    pool: DbPool,
    healthy: AtomicBool,
    /// The WAL position it had replayed at the last check.
    replayed: AtomicU64,
    /// Reads it served (for metrics and the benchmark).
    reads: AtomicU64,
    /// Subscription deliveries it served.
    deliveries: AtomicU64,
    /// Held while the replica is asked for its position on behalf of a
    /// delivery; holds the highest write position announced when the last
    /// such question was asked (see [`delivery`]).
    asked: tokio::sync::Mutex<u64>,
}

/// The instance's replicas.
pub struct Replicas {
    list: Vec<Replica>,
    next: AtomicUsize,
    max_lag: Duration,
    /// The highest WAL position of an event a delivery has asked for.
    announced: AtomicU64,
}

/// Where one request's reads go.
#[derive(Clone)]
pub struct ReadTarget {
    /// The pool to read from.
    pub pool: DbPool,
    /// Whether that is a replica.
    pub replica: bool,
}

impl Replicas {
    /// Pools for `DATABASE_REPLICA_URLS` (none: `Ok(None)`), checked in the
    /// background from now on against `primary`.
    pub fn start(
        config: &DatabaseConfig,
        counter: &StatementCounter,
        primary: DbPool,
    ) -> Result<Option<Arc<Self>>, BuildError> {
        if config.database_replica_urls.is_empty() {
            return Ok(None);
        }
        let mut list = Vec::with_capacity(config.database_replica_urls.len());
        for url in &config.database_replica_urls {
            let mut replica_config = config.clone();
            replica_config.database_url = url.clone();
            // Replicas are reached directly: a pooler in front of the
            // primary does not stand in front of them.
            replica_config.database_pooler = PoolerMode::None;
            list.push(Replica {
                name: url.to_string(),
                pool: pool::build(&replica_config, counter)?,
                healthy: AtomicBool::new(false),
                replayed: AtomicU64::new(0),
                reads: AtomicU64::new(0),
                deliveries: AtomicU64::new(0),
                asked: tokio::sync::Mutex::new(0),
            });
        }
        let replicas = Arc::new(Self {
            list,
            next: AtomicUsize::new(0),
            max_lag: Duration::from_millis(config.replica_max_lag_ms),
            announced: AtomicU64::new(0),
        });
        tokio::spawn(check_forever(Arc::downgrade(&replicas), primary));
        Ok(Some(replicas))
    }

    /// A healthy replica that has replayed `needed` (the reader's last
    /// write; `None`: nothing), in turn; `None` when there is none.
    pub fn pick(&self, needed: Option<PgLsn>) -> Option<DbPool> {
        let needed = needed.map_or(0, |lsn| lsn.0);
        self.in_turn()
            .map(|index| &self.list[index])
            .find(|replica| {
                replica.healthy.load(Ordering::Relaxed)
                    && replica.replayed.load(Ordering::Relaxed) >= needed
            })
            .map(|replica| {
                replica.reads.fetch_add(1, Ordering::Relaxed);
                replica.pool.clone()
            })
    }

    /// Every replica's place in [`Self::pools`] once, starting with the one
    /// whose turn it is (each call moves the turn on by one).
    fn in_turn(&self) -> impl Iterator<Item = usize> + Clone + use<'_> {
        let count = self.list.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..count).map(move |offset| (start + offset) % count)
    }

    /// Requests whose reads went to a replica, per replica (in the configured order).
    pub fn reads(&self) -> Vec<u64> {
        self.list
            .iter()
            .map(|replica| replica.reads.load(Ordering::Relaxed))
            .collect()
    }

    /// Subscription deliveries that read from a replica, per replica (in the configured order).
    pub fn deliveries(&self) -> Vec<u64> {
        self.list
            .iter()
            .map(|replica| replica.deliveries.load(Ordering::Relaxed))
            .collect()
    }

    /// The replicas' pools, in the configured order (a [`Picked`]
    /// names its replica by its place here).
    pub fn pools(&self) -> Vec<DbPool> {
        self.list
            .iter()
            .map(|replica| replica.pool.clone())
            .collect()
    }

    /// How many replicas the last checks found healthy.
    pub fn healthy(&self) -> usize {
        self.list
            .iter()
            .filter(|replica| replica.healthy.load(Ordering::Relaxed))
            .count()
    }

    /// Leaves a replica out until the next check (a read on it failed).
    pub fn report_failure(&self, pool: &DbPool) {
        if let Some(replica) = self.list.iter().find(|replica| replica.pool.same(pool)) {
            replica.leave_out("a read on a replica failed");
        }
    }
}

impl Replica {
    /// Leaves it out until the next check finds it well.
    fn leave_out(&self, why: &str) {
        if self.healthy.swap(false, Ordering::Relaxed) {
            tracing::warn!(replica = %self.name, why, "reading from the primary until the replica checks well");
        }
    }
}

/// Checks every replica each [`CHECK_INTERVAL`] until the set is dropped.
async fn check_forever(replicas: std::sync::Weak<Replicas>, primary: DbPool) {
    let mut ticks = tokio::time::interval(CHECK_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut history = PrimaryHistory::default();
    loop {
        ticks.tick().await;
        let Some(replicas) = replicas.upgrade() else {
            return;
        };
        let now = Instant::now();
        if let Some(at) = primary_position(&primary).await {
            history.record(now, at, replicas.max_lag + 2 * CHECK_INTERVAL);
        }
        for replica in &replicas.list {
            let verdict = match tokio::time::timeout(CHECK_INTERVAL, check(replica)).await {
                Ok(Ok(state)) => state.verdict(&history, now, replicas.max_lag),
                Ok(Err(err)) => Err(format!("does not answer: {err}")),
                Err(_) => Err("does not answer in time".to_string()),
            };
            let was = replica.healthy.load(Ordering::Relaxed);
            match verdict {
                Ok(replayed) => {
                    replica.replayed.store(replayed.0, Ordering::Relaxed);
                    replica.healthy.store(true, Ordering::Relaxed);
                    if !was {
                        tracing::info!(replica = %replica.name, "replica takes reads");
                    }
                }
                Err(reason) => {
                    replica.healthy.store(false, Ordering::Relaxed);
                    if was {
                        tracing::warn!(replica = %replica.name, %reason, "replica left out; its reads go to the primary");
                    }
                }
            }
        }
        crate::metrics::replicas_healthy(replicas.healthy());
    }
}

/// Where the primary's WAL ended at each recent check, oldest first: a
/// replica's lag is how long ago the primary first wrote past what the
/// replica has replayed. (The age of the last replayed transaction would
/// count the primary's idle time as lag.)
#[derive(Debug, Default)]
struct PrimaryHistory(VecDeque<(Instant, u64)>);

impl PrimaryHistory {
    /// Records a check, forgetting checks older than `keep`.
    fn record(&mut self, at: Instant, position: Lsn, keep: Duration) {
        self.0.push_back((at, position.0));
        while self
            .0
            .front()
            .is_some_and(|(then, _)| at.duration_since(*then) > keep)
        {
            self.0.pop_front();
        }
    }

    /// How far behind a replica that replayed `replayed` is at `now`:
    /// `None` when nothing recorded says (the primary did not answer).
    fn lag(&self, replayed: Lsn, now: Instant) -> Option<Duration> {
        let latest = self.0.back()?;
        if replayed.0 >= latest.1 {
            return Some(Duration::ZERO);
        }
        let first_missing = self
            .0
            .iter()
            .find(|(_, position)| *position > replayed.0)
            .map_or(latest.0, |(then, _)| *then);
        Some(now.duration_since(first_missing))
    }
}

/// What a replica says of itself.
#[derive(diesel::QueryableByName)]
struct ReplicaState {
    #[diesel(sql_type = Bool)]
    in_recovery: bool,
    #[diesel(sql_type = Nullable<PgLsnType>)]
    replayed: Option<PgLsn>,
}

impl ReplicaState {
    /// The position it replayed, or why it must not take reads.
    fn verdict(
        &self,
        history: &PrimaryHistory,
        now: Instant,
        max_lag: Duration,
    ) -> Result<PgLsn, String> {
        if !self.in_recovery {
            return Err("is not a standby (promoted?)".into());
        }
        let replayed = self.replayed.ok_or("has replayed nothing yet")?;
        match history.lag(replayed, now) {
            Some(lag) if lag > max_lag => Err(format!(
                "is {} ms behind (REPLICA_MAX_LAG_MS={})",
                lag.as_millis(),
                max_lag.as_millis()
            )),
            _ => Ok(replayed),
        }
    }
}

/// Where a replica's replay stands now.
async fn replayed(pool: &DbPool) -> Result<Option<PgLsn>, String> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Replayed {
        #[diesel(sql_type = Nullable<PgLsnType>)]
        at: Option<PgLsn>,
    }
    let mut conn = pool.get().await.map_err(|err| err.to_string())?;
    diesel::sql_query("SELECT pg_last_wal_replay_lsn() AS at")
        .get_result::<Replayed>(&mut *conn)
        .await
        .map(|replayed| replayed.at)
        .map_err(|err| err.to_string())
}

async fn check(replica: &Replica) -> Result<ReplicaState, String> {
    // Scoped: its `load` would shadow the atomics' above.
    use diesel_async::RunQueryDsl;
    let mut conn = replica.pool.get().await.map_err(|err| err.to_string())?;
    diesel::sql_query(
        "SELECT pg_is_in_recovery() AS in_recovery, pg_last_wal_replay_lsn() AS replayed",
    )
    .get_result(&mut *conn)
    .await
    .map_err(|err| err.to_string())
}

/// Where the primary's WAL ends now (`None` when it does not answer).
async fn primary_position(primary: &DbPool) -> Option<PgLsn> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Position {
        #[diesel(sql_type = PgLsnType)]
        at: PgLsn,
    }
    let mut conn = primary.get().await.ok()?;
    diesel::sql_query("SELECT pg_current_wal_insert_lsn() AS at")
        .get_result::<Position>(&mut *conn)
        .await
        .ok()
        .map(|position| position.at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(replayed: u64) -> ReplicaState {
        ReplicaState {
            in_recovery: true,
            replayed: Some(PgLsn(replayed)),
        }
    }

    fn history(start: Instant, positions: &[u64]) -> PrimaryHistory {
        let mut history = PrimaryHistory::default();
        for (second, position) in positions.iter().enumerate() {
            let at = start + Duration::from_secs(second as u64);
            history.record(at, PgLsn(*position), Duration::from_secs(60));
        }
        history
    }

    const MAX: Duration = Duration::from_secs(5);

    #[test]
    fn a_replica_that_caught_up_is_fresh_however_long_the_primary_was_idle() {
        let start = Instant::now();
        let idle = history(start, &[100; 30]);
        let now = start + Duration::from_secs(29);
        assert_eq!(state(100).verdict(&idle, now, MAX), Ok(PgLsn(100)));
    }

    #[test]
    fn lag_counts_from_the_first_write_the_replica_lacks() {
        let start = Instant::now();
        // Idle for 20 s, then a write at second 20 that the replica lacks.
        let mut positions = vec![100; 20];
        positions.extend([200, 200, 200]);
        let history = history(start, &positions);
        let at = |second| start + Duration::from_secs(second);
        assert_eq!(state(100).verdict(&history, at(22), MAX), Ok(PgLsn(100)));
        assert!(state(100).verdict(&history, at(26), MAX).is_err());
        assert_eq!(state(200).verdict(&history, at(26), MAX), Ok(PgLsn(200)));
    }

    #[test]
    fn a_promoted_replica_takes_no_reads() {
        let mut promoted = state(100);
        promoted.in_recovery = false;
        let start = Instant::now();
        assert!(
            promoted
                .verdict(&history(start, &[100]), start, MAX)
                .is_err()
        );
    }
}
