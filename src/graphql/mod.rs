//! The GraphQL schema: its root objects, its limits, and the SDL it prints.

pub mod account;
pub mod admission;
pub mod connection;
pub mod context;
pub mod direct;
pub mod fast;
pub mod goal;
pub mod ids;
pub mod json;
pub mod limits;
pub mod loaders;
pub mod notification;
pub mod parsed;
pub mod post;
pub mod post_page;
pub mod pricing;
pub mod reply;
pub mod story;
pub mod subscription;
pub mod trusted;
pub mod user;

use crate::db::enums::{GoalPeriod, GoalStatus, PostStatus};
use async_graphql::{MergedObject, Schema, SchemaBuilder};
use subscription::Subscription;

/// The root query: one part per domain.
#[derive(MergedObject, Default)]
pub struct Query(
    user::UserQuery,
    account::AccountQuery,
    post::PostQuery,
    story::StoryQuery,
    notification::NotificationQuery,
);

/// The root mutation: one part per domain.
#[derive(MergedObject, Default)]
pub struct Mutation(
    account::AccountMutation,
    goal::GoalMutation,
    post::PostMutation,
    reply::ReplyMutation,
    story::StoryMutation,
    notification::NotificationMutation,
);

/// The server's schema.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The schema with its limits and no data attached; the server adds the pool.
pub fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    limits::apply(Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription,
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
