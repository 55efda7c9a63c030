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
//! Bounded twice: at most [`ENTRIES`] documents, each at most [`MAX_TEXT`]
//! bytes long, so the cache stays a few MiB whatever clients send; the least
//! recently used document goes first.

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

/// Gives `request` its parsed document, from the cache when its text was
/// parsed before. A document that does not parse is left unparsed (and not
/// kept): async-graphql then reports its syntax error as it always does.
pub fn parse(request: &mut Request) {
    let text = request.query.as_str();
    if text.len() > MAX_TEXT {
        let _ = request.parsed_query();
        return;
    }
    let cached = cache()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(text)
        .cloned();
    if let Some(document) = cached {
        request.set_parsed_query(document);
        return;
    }
    let Ok(document) = request.parsed_query() else {
        return;
    };
    let copy = document.clone();
    cache()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .put(request.query.clone(), copy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_gets_the_same_document() {
        let text = "query CacheTest($n: Int) { feed(first: $n) { edges { cursor } } }";
        let mut first = Request::new(text);
        parse(&mut first);
        let mut second = Request::new(text);
        parse(&mut second);
        let a = format!("{:?}", first.parsed_query().expect("parsed"));
        let b = format!("{:?}", second.parsed_query().expect("parsed"));
        assert_eq!(a, b);
        assert!(cache().lock().expect("not poisoned").contains(text));
    }

    #[test]
    fn syntax_errors_are_left_to_execution_and_not_kept() {
        let text = "query Broken { feed(";
        let mut request = Request::new(text);
        parse(&mut request);
        assert!(request.parsed_query().is_err());
        assert!(!cache().lock().expect("not poisoned").contains(text));
    }

    #[test]
    fn long_documents_are_not_kept() {
        let text = format!("{{ {} }}", "__typename ".repeat(MAX_TEXT / 10));
        let mut request = Request::new(text.as_str());
        parse(&mut request);
        assert!(request.parsed_query().is_ok());
        assert!(!cache().lock().expect("not poisoned").contains(&text));
    }
}
