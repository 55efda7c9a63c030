//! Documents registered by automatic persisted queries (APQ), kept per
//! instance in a cache bounded by bytes, least recently used out first.
//!
//! Why not PostgreSQL: APQ only saves bandwidth, and its protocol already
//! handles a miss (the client sends the text again with the hash), so an
//! instance that does not know a hash costs one extra round trip, once. A
//! table would let anonymous clients write to the database at will, need a
//! cleanup of its own, and add a statement to every hashed request.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use super::hash::DocumentHash;

/// A bounded LRU cache of registered documents. Shared by all requests.
#[derive(Debug)]
pub struct ApqCache {
    max_bytes: usize,
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    /// Document and the tick of its last use, by hash.
    by_hash: HashMap<DocumentHash, (Arc<str>, u64)>,
    /// Hash by tick of last use: the first entry is the least recently used.
    by_use: BTreeMap<u64, DocumentHash>,
    bytes: usize,
    tick: u64,
}

impl ApqCache {
    /// A cache of at most `max_bytes` of document text (0 keeps nothing).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            inner: Mutex::new(Entries::default()),
        }
    }

    /// The document registered under `hash`, marking it used.
    pub fn get(&self, hash: &DocumentHash) -> Option<Arc<str>> {
        let mut entries = self.lock();
        let entries = &mut *entries;
        entries.tick += 1;
        let tick = entries.tick;
        let (document, used) = entries.by_hash.get_mut(hash)?;
        entries.by_use.remove(used);
        *used = tick;
        entries.by_use.insert(tick, hash.clone());
        Some(document.clone())
    }

    /// Registers `document` under `hash` (the caller checked that it is its
    /// hash), evicting the least recently used documents to make room. A
    /// document larger than the whole cache is not kept.
    pub fn insert(&self, hash: DocumentHash, document: &str) {
        if document.len() > self.max_bytes {
            return;
        }
        let mut entries = self.lock();
        let entries = &mut *entries;
        entries.tick += 1;
        let tick = entries.tick;
        if let Some((_, used)) = entries.by_hash.get_mut(&hash) {
            entries.by_use.remove(used);
            *used = tick;
            entries.by_use.insert(tick, hash);
            return;
        }
        while entries.bytes + document.len() > self.max_bytes {
            let Some((_, oldest)) = entries.by_use.pop_first() else {
                break;
            };
            if let Some((evicted, _)) = entries.by_hash.remove(&oldest) {
                entries.bytes -= evicted.len();
            }
        }
        entries.bytes += document.len();
        entries.by_use.insert(tick, hash.clone());
        entries.by_hash.insert(hash, (Arc::from(document), tick));
    }

    /// Documents held now.
    pub fn len(&self) -> usize {
        self.lock().by_hash.len()
    }

    /// True when it holds no document.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // The map stays consistent even if a holder panicked: every update
        // above completes before anything that could panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(cache: &ApqCache, doc: &str) -> DocumentHash {
        let hash = DocumentHash::of(doc);
        cache.insert(hash.clone(), doc);
        hash
    }

    #[test]
    fn the_least_recently_used_goes_first() {
        let cache = ApqCache::new(30);
        let a = put(&cache, "{ aaaaaaaa }"); // 12 bytes
        let b = put(&cache, "{ bbbbbbbb }");
        assert!(cache.get(&a).is_some()); // a is now newer than b
        let c = put(&cache, "{ cccccccc }"); // 36 > 30: b goes
        assert!(cache.get(&b).is_none());
        assert!(cache.get(&a).is_some());
        assert!(cache.get(&c).is_some());
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn oversized_documents_and_a_zero_budget_keep_nothing() {
        let cache = ApqCache::new(4);
        put(&cache, "{ too_long }");
        assert!(cache.is_empty());
        let none = ApqCache::new(0);
        put(&none, "{ a }");
        assert!(none.is_empty());
    }

    #[test]
    fn registering_twice_counts_once() {
        let cache = ApqCache::new(100);
        put(&cache, "{ a }");
        put(&cache, "{ a }");
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.lock().bytes, 5);
    }
}
