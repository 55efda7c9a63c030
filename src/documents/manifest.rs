//! The manifest of trusted documents: a JSON object of
//! `"<sha256 hex>": "<document>"` entries, or `"sha256:<hex>"` keys as GraphQL
//! Codegen's client preset writes them (`persistedDocuments: { hashAlgorithm:
//! 'sha256' }`): the same prefix its documents send as `documentId`.
//!
//! Reading one checks every entry's key against its document's hash and
//! parses every document; validation against the schema is the GraphQL
//! layer's part (`graphql::trusted`). Any failure names its entry.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use async_graphql::parser::parse_query;
use async_graphql::parser::types::DocumentOperations;

use super::hash::DocumentHash;

/// The algorithm prefix the client preset puts before every key.
const SHA256_PREFIX: &str = "sha256:";

/// Why a manifest cannot be used. Each message is one line.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a JSON object of strings.
    #[error("{} is not a JSON object of \"<sha256 hex>\": \"<document>\" entries: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A key that is not a SHA-256 in hex.
    #[error("entry {key:?}: the key is not a SHA-256 in hex (64 digits, optionally after sha256:)")]
    Key { key: String },
    /// A key that is not its document's hash.
    #[error("entry {key}: the key is not the document's SHA-256 ({actual})")]
    HashMismatch { key: String, actual: DocumentHash },
    /// A document that does not parse.
    #[error("entry {key}: the document does not parse: {message}")]
    Parse { key: String, message: String },
    /// A document that the schema refuses.
    #[error("entry {key}: the document does not validate: {message}")]
    Invalid { key: String, message: String },
    /// TRUSTED_DOCUMENTS_ONLY without a manifest would refuse everything.
    #[error("TRUSTED_DOCUMENTS_ONLY needs a manifest: set TRUSTED_DOCUMENTS")]
    OnlyWithoutManifest,
}

impl ManifestError {
    /// A validation failure of entry `key`, on one line.
    pub fn invalid(key: &DocumentHash, message: &str) -> Self {
        Self::Invalid {
            key: key.to_string(),
            message: one_line(message),
        }
    }
}

/// The checked entries of a manifest.
#[derive(Debug, Default)]
pub struct Manifest {
    documents: HashMap<DocumentHash, String>,
    operation_names: HashSet<String>,
}

impl Manifest {
    /// Reads and checks the manifest at `path` (hashes and syntax, not the schema).
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let bytes = std::fs::read(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        // Sorted, so the first bad entry reported is always the same one.
        let entries: BTreeMap<String, String> =
            serde_json::from_slice(&bytes).map_err(|source| ManifestError::Json {
                path: path.to_owned(),
                source,
            })?;
        Self::from_entries(entries)
    }

    /// Checks `entries` (key: the hash a client sends, value: the document).
    pub fn from_entries(entries: BTreeMap<String, String>) -> Result<Self, ManifestError> {
        let mut manifest = Self::default();
        for (key, document) in entries {
            let hex = key.strip_prefix(SHA256_PREFIX).unwrap_or(&key);
            let Some(hash) = DocumentHash::parse(hex) else {
                return Err(ManifestError::Key { key });
            };
            let actual = DocumentHash::of(&document);
            if actual != hash {
                return Err(ManifestError::HashMismatch { key, actual });
            }
            let parsed = parse_query(&document).map_err(|err| ManifestError::Parse {
                key: key.clone(),
                message: one_line(&err.to_string()),
            })?;
            if let DocumentOperations::Multiple(operations) = &parsed.operations {
                manifest
                    .operation_names
                    .extend(operations.keys().map(ToString::to_string));
            }
            manifest.documents.insert(hash, document);
        }
        Ok(manifest)
    }

    /// The document whose hash is `hash`.
    pub fn get(&self, hash: &DocumentHash) -> Option<&str> {
        self.documents.get(hash).map(String::as_str)
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&DocumentHash, &str)> {
        self.documents
            .iter()
            .map(|(hash, document)| (hash, document.as_str()))
    }

    /// The names of its operations: the bounded label set of the operation metrics.
    pub fn operation_names(&self) -> impl Iterator<Item = &str> {
        self.operation_names.iter().map(String::as_str)
    }

    /// How many documents it holds.
    pub fn len(&self) -> usize {
        self.documents.len()
    }

    /// True when it holds no document.
    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }

    /// True when one of its documents defines an operation named `name`.
    pub fn has_operation_name(&self, name: &str) -> bool {
        self.operation_names.contains(name)
    }

    /// How many distinct operation names its documents define.
    pub fn operation_name_count(&self) -> usize {
        self.operation_names.len()
    }
}

/// `message` with its line breaks folded, for one-line start-up errors.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, doc)| ((*key).to_owned(), (*doc).to_owned()))
            .collect()
    }

    #[test]
    fn good_entries_are_kept_with_their_operation_names() {
        let doc = "query Me { me { id } }";
        let key = DocumentHash::of(doc).to_string();
        let manifest = Manifest::from_entries(entries(&[(&key, doc)])).expect("a good manifest");
        assert_eq!(manifest.get(&DocumentHash::of(doc)), Some(doc));
        assert!(manifest.has_operation_name("Me"));
        assert!(!manifest.has_operation_name("Other"));
    }

    #[test]
    fn a_wrong_hash_names_the_entry() {
        let key = DocumentHash::of("{ a }").to_string();
        let err = Manifest::from_entries(entries(&[(&key, "{ b }")])).unwrap_err();
        assert!(matches!(&err, ManifestError::HashMismatch { key: k, .. } if *k == key));
        assert!(err.to_string().starts_with(&format!("entry {key}:")));
    }

    #[test]
    fn keys_may_carry_the_client_presets_prefix() {
        let doc = "query Me { me { id } }";
        let key = format!("sha256:{}", DocumentHash::of(doc));
        let manifest = Manifest::from_entries(entries(&[(&key, doc)])).expect("a good manifest");
        assert_eq!(manifest.get(&DocumentHash::of(doc)), Some(doc));
        let other = format!("md5:{}", DocumentHash::of(doc));
        let err = Manifest::from_entries(entries(&[(&other, doc)])).unwrap_err();
        assert!(matches!(err, ManifestError::Key { .. }));
    }

    #[test]
    fn bad_keys_and_syntax_are_refused() {
        let err = Manifest::from_entries(entries(&[("md5ish", "{ a }")])).unwrap_err();
        assert!(matches!(err, ManifestError::Key { .. }));
        let doc = "query {";
        let key = DocumentHash::of(doc).to_string();
        let err = Manifest::from_entries(entries(&[(&key, doc)])).unwrap_err();
        assert!(matches!(err, ManifestError::Parse { .. }));
        assert!(!err.to_string().contains('\n'));
    }
}
