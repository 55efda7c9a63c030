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
//! The bound counts what the cache really allocates, not its text alone:
//! with the text as the only charge, 40,000 five-byte documents in a 200 kB
//! budget took 11.7 MB, and a fixed per-entry estimate was still about 12%
//! under what an entry took. So the cache keeps its entries in structures
//! whose allocations it can see (`slots`): a hash index and a slab of slots,
//! both charged at their real capacity, and each document charged as the
//! allocator rounds it ([`allocation`]). Growing either structure is charged
//! before it happens, so the charged total never exceeds the setting.
//! `benches/apq_memory.rs` measures the process's memory against it.

mod slots;

use std::sync::{Arc, Mutex, PoisonError};

use super::hash::DocumentHash;
use slots::Lru;

/// Bytes the document's `Arc<str>` takes before its text: the two counts.
const ARC_HEADER: usize = 2 * std::mem::size_of::<usize>();

/// A bounded LRU cache of registered documents. Shared by all requests.
#[derive(Debug)]
pub struct ApqCache {
    max_bytes: usize,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    lru: Lru,
    /// The allocations of the documents held, in bytes.
    documents: usize,
}

impl std::fmt::Debug for Entries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entries")
            .field("documents", &self.lru.len())
            .field("bytes", &self.charge())
            .finish()
    }
}

impl Entries {
    /// What the cache holds now: its structures at their capacity and its
    /// documents.
    fn charge(&self) -> usize {
        self.lru.structure_bytes(false) + self.documents
    }

    /// What it would hold with one more document of `cost` bytes.
    fn charge_with(&self, cost: usize) -> usize {
        self.lru.structure_bytes(true) + self.documents + cost
    }

    /// Drops the least recently used document; false when there is none.
    fn evict(&mut self) -> bool {
        match self.lru.pop_oldest() {
            Some(evicted) => {
                self.documents -= document_bytes(&evicted);
                true
            }
            None => false,
        }
    }
}

impl ApqCache {
    /// A cache whose allocations take at most `max_bytes` (0 keeps nothing).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            inner: Mutex::new(Entries::default()),
        }
    }

    /// The document registered under `hash`, marking it used.
    pub fn get(&self, hash: &DocumentHash) -> Option<Arc<str>> {
        self.lock().lru.get(hash)
    }

    /// Registers `document` under `hash` (the caller checked that it is its
    /// hash, and that it parses and validates), evicting the least recently
    /// used documents to make room. A document that does not fit in an
    /// otherwise empty cache is not kept.
    pub fn insert(&self, hash: DocumentHash, document: Arc<str>) {
        let cost = document_bytes(&document);
        if cost > self.max_bytes {
            return;
        }
        let mut entries = self.lock();
        if entries.lru.get(&hash).is_some() {
            return;
        }
        // Evicting frees a slot and an index place, so the structures may
        // not need to grow once some documents are out.
        while entries.charge_with(cost) > self.max_bytes {
            if !entries.evict() {
                return;
            }
        }
        if entries.lru.push(hash, document) {
            entries.documents += cost;
        }
        // The growth was charged before it happened (see `slots`); this only
        // guards the invariant should a collection ever grow otherwise.
        while entries.charge() > self.max_bytes && entries.evict() {}
    }

    /// Documents held now.
    pub fn len(&self) -> usize {
        self.lock().lru.len()
    }

    /// True when it holds no document.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes the cache's allocations take now (at most the cache's size).
    pub fn bytes(&self) -> usize {
        self.lock().charge()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // The entries stay consistent even if a holder panicked: every update
        // above completes before anything that could panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What holding `document`'s text costs, in bytes (its `Arc<str>`).
pub fn document_bytes(document: &str) -> usize {
    allocation(ARC_HEADER + document.len())
}

/// The bytes the server's allocator (mimalloc, see `main.rs`) sets aside for
/// a request of `size` bytes: whole words up to 8 words, then four size
/// classes per power of two (at most a quarter more than asked). Zero for
/// nothing asked (an empty collection allocates nothing).
pub fn allocation(size: usize) -> usize {
    const WORD: usize = std::mem::size_of::<usize>();
    if size == 0 {
        return 0;
    }
    let words = size.div_ceil(WORD);
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
        let probe = ApqCache::new(usize::MAX);
        put(&probe, "{ aaaaaaaa }");
        put(&probe, "{ bbbbbbbb }");
        // Room for two entries of a 12-byte document (the structures are
        // sized for three already), not three.
        let cache = ApqCache::new(probe.bytes());
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
    fn the_charged_total_never_exceeds_the_setting() {
        for max in [300, 1_000, 4_096, 65_536, 1 << 20] {
            let cache = ApqCache::new(max);
            for i in 0..20_000 {
                // Sizes that cross several of the allocator's classes.
                let doc = format!("{{ a{i} {} }}", "b".repeat(i % 97));
                let hash = put(&cache, &doc);
                assert!(cache.bytes() <= max, "{} > {max} at {i}", cache.bytes());
                if i % 3 == 0 {
                    cache.get(&hash);
                }
            }
            assert!(!cache.is_empty() || max < 400, "{max} keeps something");
        }
    }

    #[test]
    fn every_entry_pays_for_its_slot_and_index_place() {
        let max = 64 * 1024;
        let cache = ApqCache::new(max);
        for i in 0..10_000 {
            put(&cache, &format!("{{ a{i} }}"));
        }
        let texts = cache.len() * document_bytes("{ a1234 }");
        // Counting the documents alone, about 2,700 would fit.
        assert!(
            texts < max / 2,
            "{} documents take {texts} bytes",
            cache.len()
        );
        assert!(cache.bytes() <= max);
        assert!(cache.bytes() > max * 3 / 4, "the budget is used");
    }

    #[test]
    fn oversized_documents_and_a_zero_budget_keep_nothing() {
        let cache = ApqCache::new(document_bytes("{ a }"));
        put(&cache, "{ a }");
        assert!(cache.is_empty(), "no room for the slot and index");
        let none = ApqCache::new(0);
        put(&none, "{ a }");
        assert!(none.is_empty());
        assert_eq!(none.bytes(), 0);
    }

    #[test]
    fn registering_twice_counts_once() {
        let cache = ApqCache::new(10_000);
        put(&cache, "{ a }");
        let once = cache.bytes();
        put(&cache, "{ a }");
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.bytes(), once);
    }

    #[test]
    fn allocations_round_up_like_mimalloc() {
        assert_eq!(allocation(0), 0);
        assert_eq!(allocation(1), 8);
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
