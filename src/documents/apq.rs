//! Documents registered by automatic persisted queries (APQ), kept per
//! instance in a cache bounded by the memory its entries take, least recently
//! used out first.
//!
//! Why not PostgreSQL: APQ only saves bandwidth, and its protocol already
//! handles a miss (the client sends the text again with the hash), so an
//! instance that does not know a hash costs one extra round trip, once. A
//! table would let anonymous clients write to the database at will, need a
//! cleanup of its own, and add a statement to every hashed request.
//!
//! The bound counts what an entry really takes, not its text alone: with the
//! text as the only charge, 40,000 five-byte documents in a 200 kB budget took
//! 11.7 MB. Each entry is charged [`ENTRY_OVERHEAD`] plus its document's
//! allocation as the allocator rounds it ([`allocation`]);
//! `benches/apq_memory.rs` measures both against the allocator itself.

use std::sync::{Arc, Mutex, PoisonError};

use lru::LruCache;

use super::hash::DocumentHash;

/// Bytes an entry takes besides its document: the LRU's node (hash, document
/// pointer and two links, 64 bytes, allocated on its own) and the hash table's
/// slot (a 16-byte pointer pair and a control byte), at the table's lowest
/// load (7/16, just after it doubles): 17 × 16 / 7 ≈ 39 bytes.
pub const ENTRY_OVERHEAD: usize = 64 + 40;

/// Bytes the document's `Arc<str>` takes before its text: the two counts.
const ARC_HEADER: usize = 2 * std::mem::size_of::<usize>();

/// A bounded LRU cache of registered documents. Shared by all requests.
#[derive(Debug)]
pub struct ApqCache {
    max_bytes: usize,
    inner: Mutex<Entries>,
}

struct Entries {
    documents: LruCache<DocumentHash, Arc<str>>,
    /// The charge of every entry held, in bytes.
    bytes: usize,
}

impl std::fmt::Debug for Entries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entries")
            .field("documents", &self.documents.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl ApqCache {
    /// A cache whose entries take at most `max_bytes` (0 keeps nothing).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            inner: Mutex::new(Entries {
                documents: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    /// The document registered under `hash`, marking it used.
    pub fn get(&self, hash: &DocumentHash) -> Option<Arc<str>> {
        self.lock().documents.get(hash).cloned()
    }

    /// Registers `document` under `hash` (the caller checked that it is its
    /// hash, and that it parses and validates), evicting the least recently
    /// used documents to make room. A document whose charge exceeds the
    /// whole cache is not kept.
    pub fn insert(&self, hash: DocumentHash, document: Arc<str>) {
        let cost = charge(&document);
        if cost > self.max_bytes {
            return;
        }
        let mut entries = self.lock();
        if entries.documents.get(&hash).is_some() {
            return;
        }
        while entries.bytes + cost > self.max_bytes {
            let Some((_, evicted)) = entries.documents.pop_lru() else {
                break;
            };
            entries.bytes -= charge(&evicted);
        }
        entries.bytes += cost;
        entries.documents.put(hash, document);
    }

    /// Documents held now.
    pub fn len(&self) -> usize {
        self.lock().documents.len()
    }

    /// True when it holds no document.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The charge of the entries held now, in bytes (at most the cache's size).
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // The map stays consistent even if a holder panicked: every update
        // above completes before anything that could panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What holding `document` costs, in bytes.
pub fn charge(document: &str) -> usize {
    ENTRY_OVERHEAD + allocation(ARC_HEADER + document.len())
}

/// The bytes the server's allocator (mimalloc) sets aside for a request of
/// `size` bytes: whole words up to 8 words, then four size classes per power
/// of two (at most a quarter more than asked).
pub fn allocation(size: usize) -> usize {
    const WORD: usize = std::mem::size_of::<usize>();
    let words = size.div_ceil(WORD).max(1);
    if words <= 8 {
        return words * WORD;
    }
    let top_bit = usize::BITS - 1 - (words - 1).leading_zeros();
    let step = 1usize << (top_bit - 2);
    words.div_ceil(step) * step * WORD
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(cache: &ApqCache, doc: &str) -> DocumentHash {
        let hash = DocumentHash::of(doc);
        cache.insert(hash, Arc::from(doc));
        hash
    }

    #[test]
    fn the_least_recently_used_goes_first() {
        // Room for two entries of a 12-byte document, not three.
        let cache = ApqCache::new(3 * charge("{ aaaaaaaa }") - 1);
        let a = put(&cache, "{ aaaaaaaa }");
        let b = put(&cache, "{ bbbbbbbb }");
        assert!(cache.get(&a).is_some()); // a is now newer than b
        let c = put(&cache, "{ cccccccc }");
        assert!(cache.get(&b).is_none());
        assert!(cache.get(&a).is_some());
        assert!(cache.get(&c).is_some());
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn every_entry_pays_its_overhead() {
        let cache = ApqCache::new(100 * charge("{ a }"));
        for i in 0..1_000 {
            put(&cache, &format!("{{ a{i} }}"));
        }
        // Counting the text alone, all 1,000 would fit.
        assert_eq!(cache.len(), 100);
        assert!(cache.bytes() <= 100 * charge("{ a }"));
    }

    #[test]
    fn oversized_documents_and_a_zero_budget_keep_nothing() {
        let cache = ApqCache::new(charge("{ a }"));
        put(&cache, "{ too_long }");
        assert!(cache.is_empty());
        let none = ApqCache::new(0);
        put(&none, "{ a }");
        assert!(none.is_empty());
    }

    #[test]
    fn registering_twice_counts_once() {
        let cache = ApqCache::new(10_000);
        put(&cache, "{ a }");
        put(&cache, "{ a }");
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.bytes(), charge("{ a }"));
    }

    #[test]
    fn allocations_round_up_like_mimalloc() {
        assert_eq!(allocation(0), 8);
        assert_eq!(allocation(21), 24);
        assert_eq!(allocation(64), 64);
        assert_eq!(allocation(65), 80);
        assert_eq!(allocation(81), 96);
        assert_eq!(allocation(129), 160);
        assert_eq!(allocation(1_000), 1_024);
        assert_eq!(allocation(1_025), 1_280);
        for size in 1..100_000 {
            let allocated = allocation(size);
            assert!(
                allocated >= size && allocated <= size + size / 4 + 8,
                "{size}"
            );
        }
    }
}
