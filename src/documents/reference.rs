//! How a request names its document instead of (or besides) sending it:
//! Apollo's `extensions.persistedQuery` (`{"version": 1, "sha256Hash": "…"}`)
//! or the GraphQL-over-HTTP persisted-documents `documentId`
//! (`sha256:<hex>`, or bare hex as many clients send it).

use async_graphql::{Extensions, Value};

use super::error::DocumentError;
use super::hash::DocumentHash;

/// The name of the APQ extension.
pub const PERSISTED_QUERY: &str = "persistedQuery";

/// A document named by its hash, and how it was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// `extensions.persistedQuery.sha256Hash`.
    Apq(DocumentHash),
    /// Top-level `documentId`.
    DocumentId(DocumentHash),
}

impl Named {
    /// The hash it names.
    pub fn hash(&self) -> &DocumentHash {
        match self {
            Self::Apq(hash) | Self::DocumentId(hash) => hash,
        }
    }
}

/// What one operation of a request says about its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRequest {
    /// The document's text, when sent.
    pub query: Option<String>,
    /// The hash it is named by, when named.
    pub named: Option<Named>,
}

impl DocumentRequest {
    /// Reads a request's `query`, `documentId` and `extensions`. An empty
    /// `query` next to a hash counts as absent (some clients send `""`).
    pub fn read(
        query: Option<String>,
        document_id: Option<&str>,
        extensions: &Extensions,
    ) -> Result<Self, DocumentError> {
        let apq = extensions
            .get(PERSISTED_QUERY)
            .filter(|value| **value != Value::Null)
            .map(read_persisted_query)
            .transpose()?;
        let id = document_id.map(read_document_id).transpose()?;
        let named = match (apq, id) {
            (Some(_), Some(_)) => {
                return Err(DocumentError::Malformed(
                    "send either documentId or extensions.persistedQuery, not both".into(),
                ));
            }
            (Some(hash), None) => Some(Named::Apq(hash)),
            (None, Some(hash)) => Some(Named::DocumentId(hash)),
            (None, None) => None,
        };
        let query = query.filter(|query| !(query.is_empty() && named.is_some()));
        Ok(Self { query, named })
    }
}

fn read_persisted_query(value: &Value) -> Result<DocumentHash, DocumentError> {
    let malformed =
        |what: &str| DocumentError::Malformed(format!("extensions.persistedQuery: {what}"));
    let Value::Object(fields) = value else {
        return Err(malformed("must be an object"));
    };
    match fields.get("version") {
        Some(Value::Number(version)) if version.as_u64() == Some(1) => {}
        _ => return Err(malformed("only version 1 is supported")),
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash)) => {
            DocumentHash::parse(hash).ok_or_else(|| malformed("sha256Hash must be 64 hex digits"))
        }
        _ => Err(malformed("sha256Hash is missing")),
    }
}

fn read_document_id(id: &str) -> Result<DocumentHash, DocumentError> {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    DocumentHash::parse(hex)
        .ok_or_else(|| DocumentError::Malformed("documentId must be sha256:<64 hex digits>".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extensions(json: serde_json::Value) -> Extensions {
        serde_json::from_value(json).expect("extensions")
    }

    #[test]
    fn both_shapes_are_read() {
        let hash = DocumentHash::of("{ a }");
        let apq = extensions(serde_json::json!({
            "persistedQuery": { "version": 1, "sha256Hash": hash.to_string() }
        }));
        let read = DocumentRequest::read(Some(String::new()), None, &apq).expect("valid");
        assert_eq!(read.named, Some(Named::Apq(hash)));
        assert_eq!(read.query, None);

        let none = Extensions::default();
        for id in [format!("sha256:{hash}"), hash.to_string()] {
            let read = DocumentRequest::read(None, Some(&id), &none).expect("valid");
            assert_eq!(read.named, Some(Named::DocumentId(hash)));
        }
    }

    #[test]
    fn malformed_references_are_refused() {
        let none = Extensions::default();
        assert!(DocumentRequest::read(None, Some("md5:abc"), &none).is_err());
        for bad in [
            serde_json::json!({ "persistedQuery": "abc" }),
            serde_json::json!({ "persistedQuery": { "version": 2, "sha256Hash": "a".repeat(64) } }),
            serde_json::json!({ "persistedQuery": { "version": 1, "sha256Hash": "xyz" } }),
        ] {
            assert!(DocumentRequest::read(None, None, &extensions(bad)).is_err());
        }
        let apq = extensions(serde_json::json!({
            "persistedQuery": { "version": 1, "sha256Hash": "a".repeat(64) }
        }));
        let id = "a".repeat(64);
        assert!(DocumentRequest::read(None, Some(&id), &apq).is_err());
    }

    #[test]
    fn plain_requests_name_nothing() {
        let read = DocumentRequest::read(Some("{ a }".into()), None, &Extensions::default())
            .expect("valid");
        assert_eq!(read.named, None);
        assert_eq!(read.query.as_deref(), Some("{ a }"));
    }
}
