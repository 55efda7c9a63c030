//! The APQ cache's entries in structures whose allocations are known: a slab
//! of slots linked from newest to oldest, and a hash index from a document's
//! hash to its slot.
//!
//! The index is a std `HashMap` (hashbrown), which would grow or rehash
//! itself, out of sight, when an insert finds no room left (tombstones of
//! removed keys take room too). Here it is rebuilt before that happens, by
//! the same rule hashbrown follows (the same size while at most half full,
//! else twice the buckets), so its number of buckets, and so its
//! allocation, is always known, and known before an insert makes it grow:
//! the cache charges growth before it happens.

use std::collections::HashMap;
use std::sync::Arc;

use super::allocation;
use crate::documents::hash::DocumentHash;

/// No slot (ends of the list, end of the free list).
const NIL: u32 = u32::MAX;

/// One place of the slab: a document and its neighbours in recency, or a
/// vacant place on the free list (`older` links it).
struct Slot {
    hash: DocumentHash,
    document: Option<Arc<str>>,
    newer: u32,
    older: u32,
}

/// Documents by hash, least recently used first out.
pub struct Lru {
    index: HashMap<DocumentHash, u32>,
    /// The index's buckets (0 before the first insert).
    buckets: usize,
    slots: Vec<Slot>,
    free: u32,
    newest: u32,
    oldest: u32,
}

impl Default for Lru {
    fn default() -> Self {
        Self {
            index: HashMap::new(),
            buckets: 0,
            slots: Vec::new(),
            free: NIL,
            newest: NIL,
            oldest: NIL,
        }
    }
}

impl Lru {
    /// Documents held.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// The document under `hash`, now the most recently used.
    pub fn get(&mut self, hash: &DocumentHash) -> Option<Arc<str>> {
        let at = *self.index.get(hash)?;
        self.unlink(at);
        self.link_newest(at);
        self.slot(at).document.clone()
    }

    /// Adds `document` under `hash` (not held yet) as the most recently
    /// used; false when the slab cannot address another slot.
    pub fn push(&mut self, hash: DocumentHash, document: Arc<str>) -> bool {
        if self.index_is_full() {
            self.rebuild_index(self.index_buckets(true));
        }
        let at = if self.free != NIL {
            let at = self.free;
            self.free = self.slot(at).older;
            *self.slot_mut(at) = vacant(hash);
            at
        } else {
            let Ok(at) = u32::try_from(self.slots.len()) else {
                return false;
            };
            if at == NIL {
                return false;
            }
            if self.slots.len() == self.slots.capacity() {
                let grow = slab_capacity(self.slots.capacity(), true) - self.slots.capacity();
                self.slots.reserve_exact(grow);
            }
            self.slots.push(vacant(hash));
            at
        };
        self.slot_mut(at).document = Some(document);
        self.index.insert(hash, at);
        self.link_newest(at);
        true
    }

    /// Removes the least recently used document and returns it.
    pub fn pop_oldest(&mut self) -> Option<Arc<str>> {
        let at = self.oldest;
        if at == NIL {
            return None;
        }
        self.unlink(at);
        let free = self.free;
        let slot = self.slot_mut(at);
        let document = slot.document.take();
        let hash = slot.hash;
        slot.older = free;
        self.free = at;
        self.index.remove(&hash);
        document
    }

    /// The bytes the index and the slab allocate now, or (`one_more`) once
    /// they hold one more document.
    pub fn structure_bytes(&self, one_more: bool) -> usize {
        let slab = slab_capacity(self.slots.capacity(), one_more && self.slab_is_full());
        index_bytes(self.index_buckets(one_more)) + allocation(slab * std::mem::size_of::<Slot>())
    }

    /// The index's buckets now, or (`one_more`) after one more insert.
    fn index_buckets(&self, one_more: bool) -> usize {
        if !one_more || !self.index_is_full() {
            return self.buckets;
        }
        if self.buckets == 0 {
            4
        } else if self.len() < full_capacity(self.buckets) / 2 {
            // Mostly tombstones: rebuilt at the same size.
            self.buckets
        } else {
            self.buckets * 2
        }
    }

    /// True when the next insert of a new key would make the map grow or
    /// rehash (no room left, counting tombstones).
    fn index_is_full(&self) -> bool {
        self.index.len() >= self.index.capacity()
    }

    fn slab_is_full(&self) -> bool {
        self.free == NIL && self.slots.len() == self.slots.capacity()
    }

    fn rebuild_index(&mut self, buckets: usize) {
        let mut index = HashMap::with_capacity(full_capacity(buckets));
        index.extend(self.index.drain());
        self.index = index;
        self.buckets = buckets;
    }

    fn slot(&self, at: u32) -> &Slot {
        &self.slots[at as usize]
    }

    fn slot_mut(&mut self, at: u32) -> &mut Slot {
        &mut self.slots[at as usize]
    }

    fn unlink(&mut self, at: u32) {
        let (newer, older) = (self.slot(at).newer, self.slot(at).older);
        match newer {
            NIL => self.newest = older,
            newer => self.slot_mut(newer).older = older,
        }
        match older {
            NIL => self.oldest = newer,
            older => self.slot_mut(older).newer = newer,
        }
    }

    fn link_newest(&mut self, at: u32) {
        let newest = self.newest;
        let slot = self.slot_mut(at);
        slot.newer = NIL;
        slot.older = newest;
        match newest {
            NIL => self.oldest = at,
            newest => self.slot_mut(newest).newer = at,
        }
        self.newest = at;
    }
}

fn vacant(hash: DocumentHash) -> Slot {
    Slot {
        hash,
        document: None,
        newer: NIL,
        older: NIL,
    }
}

/// The slab's capacity, or (`grow`) after it grows: it doubles, from 4.
fn slab_capacity(capacity: usize, grow: bool) -> usize {
    if grow {
        (capacity * 2).max(4)
    } else {
        capacity
    }
}

/// Keys a hashbrown table of `buckets` (a power of two, at least 4) holds
/// before it must grow: one less than its buckets when small, else 7/8.
fn full_capacity(buckets: usize) -> usize {
    if buckets < 8 {
        buckets - 1
    } else {
        buckets / 8 * 7
    }
}

/// The single allocation of a hashbrown table of `buckets`: the entries,
/// aligned for the control bytes, then one control byte per bucket and a
/// group's worth (16) more for unaligned probing.
fn index_bytes(buckets: usize) -> usize {
    const GROUP: usize = 16;
    if buckets == 0 {
        return 0;
    }
    let entries = (buckets * std::mem::size_of::<(DocumentHash, u32)>()).next_multiple_of(GROUP);
    allocation(entries + buckets + GROUP)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: usize) -> DocumentHash {
        DocumentHash::of(&n.to_string())
    }

    #[test]
    fn the_index_has_the_buckets_counted() {
        // std's map, asked for a table's full capacity, makes that table.
        let mut buckets = 4;
        while buckets <= 1 << 20 {
            let map: HashMap<DocumentHash, u32> = HashMap::with_capacity(full_capacity(buckets));
            assert_eq!(map.capacity(), full_capacity(buckets), "{buckets}");
            buckets *= 2;
        }
    }

    #[test]
    fn growth_is_known_before_it_happens() {
        let mut lru = Lru::default();
        for n in 0..50_000 {
            let predicted = lru.structure_bytes(true);
            assert!(lru.push(hash(n), Arc::from("{ a }")));
            assert_eq!(lru.structure_bytes(false), predicted, "at {n}");
            if n % 3 == 0 {
                // Removals leave tombstones in the index.
                lru.pop_oldest();
            }
        }
    }

    #[test]
    fn least_recently_used_out_first() {
        let mut lru = Lru::default();
        for n in 0..4 {
            lru.push(hash(n), Arc::from(n.to_string()));
        }
        assert!(lru.get(&hash(0)).is_some());
        assert_eq!(lru.pop_oldest().as_deref(), Some("1"));
        assert_eq!(lru.pop_oldest().as_deref(), Some("2"));
        lru.push(hash(9), Arc::from("9"));
        assert_eq!(lru.pop_oldest().as_deref(), Some("3"));
        assert_eq!(lru.pop_oldest().as_deref(), Some("0"));
        assert_eq!(lru.pop_oldest().as_deref(), Some("9"));
        assert_eq!(lru.pop_oldest(), None);
        assert_eq!(lru.len(), 0);
        assert!(lru.get(&hash(9)).is_none());
    }
}
