//! Parsed documents, kept for the requests that send the same text again.
//!
//! Clients send a handful of documents over and over (the feed's, a post's),
//! and async-graphql's parser (pest) cost about 3.5% of the server's CPU per
//! feed page (issue 23's profile); copying a parsed document costs a fraction
//! of parsing it. Parsing depends on the text alone, not on the schema or the
//! variables, so one cache serves every schema and request. Validation does
//! depend on the variables (prices read `first`), and async-graphql runs it on
//! every request whatever the cache holds.
//!
//! A document is kept only once it has run ([`Fresh::keep`]): one that
//! admission or validation refused never displaces the documents real clients
//! send, and what is kept passed the depth, alias and price limits, so its
//! tree stays small. Bounded twice besides: at most [`ENTRIES`] documents,
//! each at most [`MAX_TEXT`] bytes long; the least recently used goes first.

use std::num::NonZeroUsize;
use std::sync::{Mutex, OnceLock, PoisonError};

use async_graphql::Request;
use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

/// Documents kept.
pub const ENTRIES: usize = 128;

/// Longer documents are parsed every time: they are rare, and big to keep.
pub const MAX_TEXT: usize = 8 * 1024;

type Cache = Mutex<LruCache<String, ExecutableDocument>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| {
        let entries = NonZeroUsize::new(ENTRIES).unwrap_or(NonZeroUsize::MIN);
        Mutex::new(LruCache::new(entries))
    })
}

/// A document parsed for the first time, to be kept once its request ran.
pub struct Fresh {
    text: String,
    document: ExecutableDocument,
}

impl Fresh {
    /// Keeps the document for the requests that send the same text again.
    pub fn keep(self) {
        cache()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .put(self.text, self.document);
    }
}

/// Calls `read` with the document of `text`: the kept one when the text was
/// parsed before (read in place, not copied), else one parsed now and not
/// kept (only a request that runs keeps its document). `None` when the text
/// does not parse.
pub fn inspect<R>(text: &str, read: impl FnOnce(&ExecutableDocument) -> R) -> Option<R> {
    if text.len() <= MAX_TEXT {
        let mut cache = cache().lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(document) = cache.get(text) {
            return Some(read(document));
        }
    }
    let document = async_graphql::parser::parse_query(text).ok()?;
    Some(read(&document))
}

/// Gives `request` its parsed document, from the cache when its text was
/// parsed before; a document parsed now comes back as [`Fresh`], for the
/// caller to keep if the request runs. A document that does not parse is
/// left unparsed: async-graphql then reports its syntax error as it always
/// does.
pub fn parse(request: &mut Request) -> Option<Fresh> {
    let text = request.query.as_str();
    if text.len() > MAX_TEXT {
        let _ = request.parsed_query();
        return None;
    }
    let cached = cache()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(text)
        .cloned();
    if let Some(document) = cached {
        request.set_parsed_query(document);
        return None;
    }
    let document = request.parsed_query().ok()?.clone();
    Some(Fresh {
        text: request.query.clone(),
        document,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_gets_the_same_document() {
        let text = "query CacheTest($n: Int) { feed(first: $n) { edges { cursor } } }";
        let mut first = Request::new(text);
        parse(&mut first).expect("parsed for the first time").keep();
        let mut second = Request::new(text);
        assert!(parse(&mut second).is_none(), "taken from the cache");
        let a = format!("{:?}", first.parsed_query().expect("parsed"));
        let b = format!("{:?}", second.parsed_query().expect("parsed"));
        assert_eq!(a, b);
        assert!(cache().lock().expect("not poisoned").contains(text));
    }

    #[test]
    fn syntax_errors_are_left_to_execution_and_not_kept() {
        let text = "query Broken { feed(";
        let mut request = Request::new(text);
        assert!(parse(&mut request).is_none());
        assert!(request.parsed_query().is_err());
        assert!(!cache().lock().expect("not poisoned").contains(text));
    }

    #[test]
    fn long_documents_are_not_kept() {
        let text = format!("{{ {} }}", "__typename ".repeat(MAX_TEXT / 10));
        let mut request = Request::new(text.as_str());
        assert!(parse(&mut request).is_none());
        assert!(request.parsed_query().is_ok());
        assert!(!cache().lock().expect("not poisoned").contains(&text));
    }

    #[test]
    fn a_document_is_kept_only_when_its_request_ran() {
        let text = "query NotRunYet { feed(first: 1) { edges { cursor } } }";
        let mut refused = Request::new(text);
        let fresh = parse(&mut refused);
        assert!(fresh.is_some());
        // Refused by admission or validation: the caller drops it.
        drop(fresh);
        assert!(!cache().lock().expect("not poisoned").contains(text));
        let mut again = Request::new(text);
        assert!(parse(&mut again).is_some(), "parsed afresh, not cached");
    }

    #[test]
    fn inspect_reads_kept_and_fresh_documents_alike_and_keeps_nothing() {
        let text = "query Inspected { feed(first: 1) { edges { cursor } } }";
        let operations = |document: &ExecutableDocument| document.operations.iter().count();
        assert_eq!(inspect(text, operations), Some(1));
        assert!(!cache().lock().expect("not poisoned").contains(text));
        parse(&mut Request::new(text))
            .expect("parsed for the first time")
            .keep();
        assert_eq!(inspect(text, operations), Some(1));
        assert_eq!(inspect("query Broken {", operations), None);
    }
}
