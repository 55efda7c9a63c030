//! Data portability: everything the actor owns, as one JSON document.

use crate::app::Services;
use crate::db::models::export;
use crate::error::AppResult;

/// The actor's data (no password hash, token or token hash).
pub async fn document(services: &Services, user_id: uuid::Uuid) -> AppResult<serde_json::Value> {
    let mut conn = services.pool.get().await?;
    Ok(export::document(&mut conn, user_id).await?)
}
