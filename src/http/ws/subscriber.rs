//! Who runs a socket's subscriptions, and how: each run of a selection with
//! fresh loaders and under a statement budget, and the runs for an event
//! shared with identical subscriptions of other sockets (`shared`).
//!
//! An event's run reads from a replica that has replayed the event's write
//! (`db::replicas`), else from the primary: what a delivery shows is at
//! least as new as its event. Subscribe turns read from the primary: they
//! check the viewer's right to what they name, which the viewer may have
//! just created.

use std::sync::Arc;

use async_graphql::{Request, Response};
use futures_util::StreamExt;

use crate::accounts::Viewer;
use crate::db::DbPool;
use crate::db::models::audit_event::Origin;
use crate::db::replicas::{Lsn, Picked, Replicas};
use crate::db::statement_budget::StatementBudget;
use crate::graphql::AppSchema;
use crate::graphql::context::ReadPool;
use crate::graphql::limits::MAX_DELIVERY_STATEMENTS;
use crate::graphql::loaders::Loaders;
use crate::graphql::subscription::{DeliveryReplica, Report, Turn};
use crate::http::graphql::failed_for_database;
use crate::http::ws::message;
use crate::http::ws::shared::{Digest, Outcome, RunKey, SharedRuns};
use crate::http::ws::subscriptions::Due;
use crate::metrics;

/// Who runs a socket's subscriptions, and with what.
pub struct Subscriber {
    pub schema: AppSchema,
    pub pool: DbPool,
    /// Where deliveries may read instead, when the instance has replicas.
    pub replicas: Option<Arc<Replicas>>,
    pub viewer: Viewer,
    pub origin: Origin,
    /// The instance's runs for events, shared between sockets.
    pub shared: Arc<SharedRuns>,
}

impl Subscriber {
    /// Runs `request` for one turn on the primary; its responses and what
    /// its fields reported.
    pub async fn run(
        &self,
        request: Request,
        turn: Turn,
        report: Report,
    ) -> (Vec<Response>, Arc<Report>) {
        self.run_on(request, turn, report, None).await
    }

    /// Runs `request` for one turn with its reads on `replica` (none: the primary).
    async fn run_on(
        &self,
        request: Request,
        turn: Turn,
        report: Report,
        replica: Option<&Picked>,
    ) -> (Vec<Response>, Arc<Report>) {
        let report = Arc::new(report);
        // Fresh loaders each turn: nothing cached from an earlier event shows.
        let budget = StatementBudget::new(MAX_DELIVERY_STATEMENTS);
        let pool = replica.map_or(&self.pool, |picked| &picked.pool);
        let loaders = Loaders::new(pool, self.viewer.user_id(), &budget);
        let mut request = request
            .data(turn)
            .data(report.clone())
            .data(self.viewer)
            .data(self.origin.clone())
            .data(Arc::new(loaders));
        if let Some(picked) = replica {
            request = request
                .data(ReadPool(picked.pool.clone()))
                .data(DeliveryReplica(picked.index));
        }
        let responses = budget
            .scope(self.schema.execute_stream(request).collect())
            .await;
        (responses, report)
    }

    /// Runs an event's turn: on a replica that has replayed the event's
    /// write when there is one, else on the primary. A run that the
    /// replica failed (it went away) runs again on the primary: a replica
    /// going down is never a subscriber's error.
    async fn deliver(
        &self,
        request: impl Fn() -> Request,
        turn: Turn,
        written: Option<Lsn>,
    ) -> (Vec<Response>, Arc<Report>) {
        let Some(replicas) = &self.replicas else {
            return self.run(request(), turn, Report::default()).await;
        };
        let picked = match written {
            Some(written) => replicas.for_delivery(written).await,
            None => None,
        };
        if let Some(picked) = &picked {
            let ran = self
                .run_on(request(), turn, Report::default(), Some(picked))
                .await;
            if !failed_for_database(&ran.0) {
                metrics::delivery_reads(true);
                return ran;
            }
            replicas.report_failure(&picked.pool);
        }
        metrics::delivery_reads(false);
        self.run(request(), turn, Report::default()).await
    }

    /// What a subscription whose text has digest `text` answers to `due`.
    /// An event's run is shared with every identical subscription of this
    /// viewer class (the dispatch number tells the events apart); other
    /// turns (missed events) run no statement and are run here.
    pub async fn outcome(
        &self,
        text: Digest,
        request: impl Fn() -> Request,
        due: Due,
    ) -> Arc<Outcome> {
        let execute = || async {
            let (responses, report) = match due.turn {
                Turn::Event(_) => self.deliver(&request, due.turn, due.written).await,
                _ => self.run(request(), due.turn, Report::default()).await,
            };
            Outcome {
                payloads: responses.iter().filter_map(message::payload).collect(),
                ended: report.ended(),
            }
        };
        match (due.turn, due.dispatch) {
            (Turn::Event(_), Some(dispatch)) => {
                let key = RunKey {
                    dispatch,
                    text,
                    viewer: self.viewer.user_id(),
                };
                self.shared.run(key, execute).await
            }
            _ => Arc::new(execute().await),
        }
    }
}
