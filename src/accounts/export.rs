//! Data portability: everything the actor owns, as one JSON document.

use crate::auth::rate_limit::EXPORT_PER_USER;
use crate::db::models::export;
use crate::error::AppResult;
use crate::services::Services;

/// The actor's data as JSON text (no password hash, token or token hash).
/// Building it reads every row the user owns, so it is limited per user.
pub async fn document(services: &Services, user_id: uuid::Uuid) -> AppResult<String> {
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        EXPORT_PER_USER.hit(&mut conn, &user_id.to_string()).await?;
        Ok(export::document(&mut conn, user_id).await?)
    }
    .await;
    conn.finish(result).await
}
