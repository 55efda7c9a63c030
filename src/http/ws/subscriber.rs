//! Who runs a socket's subscriptions, and how: each run of a selection with
//! fresh loaders and under a statement budget, and the runs for an event
//! shared with identical subscriptions of other sockets (`shared`).

use std::sync::Arc;

use async_graphql::{Request, Response};
use futures_util::StreamExt;

use crate::accounts::Viewer;
use crate::db::DbPool;
use crate::db::models::audit_event::Origin;
use crate::db::statement_budget::StatementBudget;
use crate::graphql::AppSchema;
use crate::graphql::limits::MAX_DELIVERY_STATEMENTS;
use crate::graphql::loaders::Loaders;
use crate::graphql::subscription::{Report, Turn};
use crate::http::ws::message;
use crate::http::ws::shared::{Digest, Outcome, RunKey, SharedRuns};

/// Who runs a socket's subscriptions, and with what.
pub struct Subscriber {
    pub schema: AppSchema,
    pub pool: DbPool,
    pub viewer: Viewer,
    pub origin: Origin,
    /// The instance's runs for events, shared between sockets.
    pub shared: Arc<SharedRuns>,
}

impl Subscriber {
    /// Runs `request` for one turn; its responses and what its fields reported.
    pub async fn run(
        &self,
        request: Request,
        turn: Turn,
        report: Report,
    ) -> (Vec<Response>, Arc<Report>) {
        let report = Arc::new(report);
        // Fresh loaders each turn: nothing cached from an earlier event shows.
        let budget = StatementBudget::new(MAX_DELIVERY_STATEMENTS);
        let loaders = Loaders::new(&self.pool, self.viewer.user_id(), &budget);
        let request = request
            .data(turn)
            .data(report.clone())
            .data(self.viewer)
            .data(self.origin.clone())
            .data(Arc::new(loaders));
        let responses = budget
            .scope(self.schema.execute_stream(request).collect())
            .await;
        (responses, report)
    }

    /// What a subscription whose text has digest `text` answers to `turn`.
    /// An event's run is shared with every identical subscription of this
    /// viewer class (`dispatch` tells the events apart); other turns (missed
    /// events) run no statement and are run here.
    pub async fn outcome(
        &self,
        text: Digest,
        request: impl FnOnce() -> Request,
        turn: Turn,
        dispatch: Option<u64>,
    ) -> Arc<Outcome> {
        let execute = || async {
            let (responses, report) = self.run(request(), turn, Report::default()).await;
            Outcome {
                payloads: responses.iter().filter_map(message::payload).collect(),
                ended: report.ended(),
            }
        };
        match (turn, dispatch) {
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
