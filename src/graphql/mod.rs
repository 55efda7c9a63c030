//! The GraphQL schema: its root objects, its limits, and the SDL it prints.

pub mod account;
pub mod admission;
pub mod connection;
pub mod context;
pub mod goal;
pub mod ids;
pub mod json;
pub mod limits;
pub mod loaders;
pub mod post;
pub mod reply;
pub mod story;
pub mod user;

use crate::db::enums::{GoalPeriod, GoalStatus, PostStatus};
use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};

/// The root query: one part per domain.
#[derive(MergedObject, Default)]
pub struct Query(
    user::UserQuery,
    account::AccountQuery,
    post::PostQuery,
    story::StoryQuery,
);

/// The root mutation: one part per domain.
#[derive(MergedObject, Default)]
pub struct Mutation(
    account::AccountMutation,
    goal::GoalMutation,
    post::PostMutation,
    reply::ReplyMutation,
    story::StoryMutation,
);

/// The server's schema.
pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema with its limits and no data attached; the server adds the pool.
pub fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    limits::apply(Schema::build(
        Query::default(),
        Mutation::default(),
        EmptySubscription,
    ))
    // The contract's enums, also before any field uses them.
    .register_output_type::<GoalPeriod>()
    .register_output_type::<GoalStatus>()
    .register_output_type::<PostStatus>()
}

/// The schema in SDL, as `growth-diary print-schema` prints it and `schema.graphql` holds it.
pub fn sdl() -> String {
    builder().finish().sdl()
}
