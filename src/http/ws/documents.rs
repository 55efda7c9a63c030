//! The document of a `subscribe` message: sent, or named by hash in its
//! payload's `extensions.persistedQuery` or `documentId`, resolved as HTTP
//! requests are (trusted documents, APQ).

use crate::documents::{DocumentError, DocumentRequest, DocumentStore, Registration};

/// Puts the document a `subscribe` names by hash (or sends) into `payload`,
/// as HTTP requests get theirs; the APQ registration it asks for is the
/// caller's to make once the subscription runs.
pub fn resolve(
    store: &DocumentStore,
    payload: &mut async_graphql::Request,
    document_id: Option<String>,
) -> Result<Option<Registration>, DocumentError> {
    let query = std::mem::take(&mut payload.query);
    let wanted = DocumentRequest::read(
        (!query.is_empty()).then_some(query),
        document_id.as_deref(),
        &payload.extensions,
    )?;
    let resolved = store.resolve(wanted)?;
    payload.query = resolved.document.to_string();
    Ok(resolved.registration)
}

/// The `documentId` of a `subscribe` message's payload, which async-graphql's
/// message type drops.
pub fn subscribe_document_id(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Payload {
        #[serde(rename = "documentId")]
        document_id: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Subscribe {
        payload: Payload,
    }
    serde_json::from_str::<Subscribe>(text)
        .ok()
        .and_then(|message| message.payload.document_id)
}
