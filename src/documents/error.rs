//! Why a request's document cannot be run, with the contract's codes.
//!
//! Like `AppError`, it deliberately does not implement `Display`: async-graphql's
//! blanket `From<impl Display>` would otherwise turn it into an error without
//! its `extensions.code`.

use async_graphql::ErrorExtensions;

use crate::error::codes;

/// A request refused before its document is parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentError {
    /// A hash or id this server does not know.
    NotFound,
    /// A document that is not in the manifest, on a trusted-only server.
    TrustedRequired,
    /// A hash sent with a document that is not the document's hash.
    HashMismatch,
    /// A malformed `documentId` or `persistedQuery`, or no document at all.
    Malformed(String),
}

impl DocumentError {
    /// The contract code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => codes::PERSISTED_QUERY_NOT_FOUND,
            Self::TrustedRequired => codes::TRUSTED_DOCUMENT_REQUIRED,
            Self::HashMismatch | Self::Malformed(_) => codes::BAD_USER_INPUT,
        }
    }

    /// The message the client sees.
    pub fn message(&self) -> &str {
        match self {
            // The message Apollo's clients look for before sending the document's text.
            Self::NotFound => "PersistedQueryNotFound",
            Self::TrustedRequired => {
                "only trusted documents run on this server: send the documentId (or extensions.persistedQuery.sha256Hash) of a document in its manifest"
            }
            // Apollo Server's words, which its clients know.
            Self::HashMismatch => "provided sha does not match query",
            Self::Malformed(message) => message,
        }
    }
}

impl From<DocumentError> for async_graphql::Error {
    fn from(err: DocumentError) -> Self {
        async_graphql::Error::new(err.message()).extend_with(|_, ext| ext.set("code", err.code()))
    }
}
