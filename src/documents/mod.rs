//! Trusted documents and automatic persisted queries: which document a
//! request runs when it names one by its SHA-256 instead of sending it.
//!
//! A manifest (`TRUSTED_DOCUMENTS`) holds the documents of the server's own
//! frontends. With `TRUSTED_DOCUMENTS_ONLY` nothing else runs: a request
//! must name a manifest entry or send a document whose hash is one, and is
//! refused before its document is parsed. Otherwise any document runs, and
//! clients may register theirs by hash (APQ) in a bounded per-instance cache.

pub mod apq;
pub mod error;
pub mod hash;
pub mod manifest;
pub mod reference;

use std::sync::Arc;

pub use apq::ApqCache;
pub use error::DocumentError;
pub use hash::DocumentHash;
pub use manifest::{Manifest, ManifestError};
pub use reference::{DocumentRequest, Named};

/// The documents an instance can run by hash, and whether it runs any other.
#[derive(Debug)]
pub struct DocumentStore {
    manifest: Manifest,
    only: bool,
    apq: ApqCache,
}

/// The document a request runs, and the registration it asks for.
#[derive(Debug)]
pub struct Resolved {
    /// The document's text.
    pub document: Arc<str>,
    /// An APQ registration, to be made only once the document has parsed
    /// and validated ([`DocumentStore::register`]).
    pub registration: Option<Registration>,
}

/// A document to keep under its hash (APQ), once it has proved valid.
#[derive(Debug, Clone)]
pub struct Registration {
    hash: DocumentHash,
    document: Arc<str>,
}

impl Resolved {
    fn run(document: Arc<str>) -> Self {
        Self {
            document,
            registration: None,
        }
    }
}

impl DocumentStore {
    /// A store of `manifest` (checked by the caller), refusing other
    /// documents when `only`, with an APQ cache of `apq_bytes`.
    pub fn new(manifest: Manifest, only: bool, apq_bytes: usize) -> Self {
        Self {
            manifest,
            only,
            // A trusted-only server never registers anything.
            apq: ApqCache::new(if only { 0 } else { apq_bytes }),
        }
    }

    /// The document `request` runs, or why it may not run.
    pub fn resolve(&self, request: DocumentRequest) -> Result<Resolved, DocumentError> {
        match (request.query, request.named) {
            (None, None) => Err(DocumentError::Malformed(
                "send a query, a documentId or extensions.persistedQuery".into(),
            )),
            (Some(query), None) => {
                if self.only && self.manifest.get(&DocumentHash::of(&query)).is_none() {
                    return Err(DocumentError::TrustedRequired);
                }
                Ok(Resolved::run(Arc::from(query)))
            }
            (None, Some(named)) => {
                let hash = named.hash();
                if let Some(document) = self.manifest.get(hash) {
                    return Ok(Resolved::run(Arc::from(document)));
                }
                let document = self.apq.get(hash).ok_or(DocumentError::NotFound)?;
                Ok(Resolved::run(document))
            }
            (Some(_), Some(Named::DocumentId(_))) => Err(DocumentError::Malformed(
                "send either documentId or query, not both".into(),
            )),
            (Some(query), Some(Named::Apq(hash))) => {
                if DocumentHash::of(&query) != hash {
                    return Err(DocumentError::HashMismatch);
                }
                let document = Arc::from(query);
                if self.manifest.get(&hash).is_some() {
                    return Ok(Resolved::run(document));
                }
                if self.only {
                    return Err(DocumentError::TrustedRequired);
                }
                Ok(Resolved {
                    registration: Some(Registration {
                        hash,
                        document: Arc::clone(&document),
                    }),
                    document,
                })
            }
        }
    }

    /// Keeps a registered document in the APQ cache. Call it only for a
    /// document that parsed and validated (it ran): a cache open to
    /// anonymous clients must not fill with text no request can run.
    pub fn register(&self, registration: Registration) {
        self.apq.insert(registration.hash, registration.document);
    }

    /// True when a manifest document defines an operation named `name`: the
    /// bounded set of operation names that metrics may use as labels.
    pub fn is_trusted_operation_name(&self, name: &str) -> bool {
        self.manifest.has_operation_name(name)
    }

    /// True when only the manifest's documents run.
    pub fn trusted_only(&self) -> bool {
        self.only
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const KNOWN: &str = "query Known { __typename }";

    fn store(only: bool) -> DocumentStore {
        let entries = BTreeMap::from([(DocumentHash::of(KNOWN).to_string(), KNOWN.to_owned())]);
        let manifest = Manifest::from_entries(entries).expect("a good manifest");
        DocumentStore::new(manifest, only, 1024)
    }

    fn by_hash(doc: &str) -> DocumentRequest {
        DocumentRequest {
            query: None,
            named: Some(Named::Apq(DocumentHash::of(doc))),
        }
    }

    fn plain(doc: &str) -> DocumentRequest {
        DocumentRequest {
            query: Some(doc.to_owned()),
            named: None,
        }
    }

    fn text(resolved: Result<Resolved, DocumentError>) -> Result<String, DocumentError> {
        resolved.map(|resolved| resolved.document.to_string())
    }

    #[test]
    fn trusted_only_runs_the_manifest_alone() {
        let store = store(true);
        assert_eq!(text(store.resolve(by_hash(KNOWN))).as_deref(), Ok(KNOWN));
        assert_eq!(text(store.resolve(plain(KNOWN))).as_deref(), Ok(KNOWN));
        assert_eq!(
            text(store.resolve(plain("{ other }"))),
            Err(DocumentError::TrustedRequired)
        );
        assert_eq!(
            text(store.resolve(by_hash("{ other }"))),
            Err(DocumentError::NotFound)
        );
        let register = DocumentRequest {
            query: Some("{ other }".into()),
            named: Some(Named::Apq(DocumentHash::of("{ other }"))),
        };
        assert_eq!(
            text(store.resolve(register)),
            Err(DocumentError::TrustedRequired)
        );
        assert!(store.is_trusted_operation_name("Known"));
    }

    #[test]
    fn apq_registers_after_checking_the_hash_once_told_to() {
        let store = store(false);
        let doc = "{ __typename }";
        assert_eq!(
            text(store.resolve(by_hash(doc))),
            Err(DocumentError::NotFound)
        );
        let wrong = DocumentRequest {
            query: Some(doc.into()),
            named: Some(Named::Apq(DocumentHash::of("{ something_else }"))),
        };
        assert_eq!(text(store.resolve(wrong)), Err(DocumentError::HashMismatch));
        let register = || DocumentRequest {
            query: Some(doc.into()),
            named: Some(Named::Apq(DocumentHash::of(doc))),
        };
        // Resolving runs the document; it is kept only when registered.
        let resolved = store.resolve(register()).expect("runs");
        assert_eq!(&*resolved.document, doc);
        assert_eq!(
            text(store.resolve(by_hash(doc))),
            Err(DocumentError::NotFound)
        );
        let registration = store.resolve(register()).expect("runs").registration;
        store.register(registration.expect("a registration"));
        assert_eq!(text(store.resolve(by_hash(doc))).as_deref(), Ok(doc));
        assert_eq!(
            text(store.resolve(plain("{ any }"))).as_deref(),
            Ok("{ any }")
        );
        // A manifest document needs no registration.
        let known = DocumentRequest {
            query: Some(KNOWN.into()),
            named: Some(Named::Apq(DocumentHash::of(KNOWN))),
        };
        assert!(store.resolve(known).expect("runs").registration.is_none());
    }
}
