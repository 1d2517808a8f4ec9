//! The collections (hashes, sets) of the keyspace in RAM: their members by slot, each
//! slot's behind its own lock (taken after the slot's command lock, never held across a
//! call back into the keyspace). Their records are in the store
//! ([`bitcask_collections`]); an open rebuilds this from the keydir.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Mutex, MutexGuard};

use bitcask_collections::{key::Stored, rebuild, Collection};
use bitcask_core::sharded::{key_slot, SLOTS};
use bitcask_core::{Error, ShardedBitcask};
use smallvec::SmallVec;

/// The collections of one slot, by `[physical db] ++ key` (a seeded fast hash: the keys are
/// the clients', so the seed matters).
pub type SlotColls = HashMap<Box<[u8]>, Collection, foldhash::fast::RandomState>;

/// The name a collection has in its slot's table.
pub fn name(db: u8, key: &[u8]) -> SmallVec<[u8; 64]> {
    let mut n = SmallVec::with_capacity(1 + key.len());
    n.push(db);
    n.extend_from_slice(key);
    n
}

/// Every collection, by slot.
pub struct Colls {
    slots: Box<[Mutex<SlotColls>]>,
    next_version: AtomicU64,
    /// How many collections exist (none: string commands skip every check).
    count: AtomicUsize,
}

impl Colls {
    /// The collections of `db`'s store, rebuilt from its keydir; the orphans found are
    /// forgotten. Also returns what could not be read (stored key and why).
    pub fn open(db: &ShardedBitcask) -> Result<(Colls, Vec<String>), Error> {
        let slots: Box<[Mutex<SlotColls>]> = (0..SLOTS).map(|_| Mutex::default()).collect();
        let (mut max, mut count, mut unreadable) = (0, 0, Vec::new());
        for shard in db.shards() {
            let found = rebuild(shard)?;
            shard.forget(&found.orphans)?;
            max = max.max(found.max_version);
            for (k, why) in found.unreadable {
                unreadable.push(format!("{}: {why}", String::from_utf8_lossy(&k)));
            }
            for l in found.collections {
                let slot = slots.get(usize::from(key_slot(&l.key)));
                if let Some(m) = slot {
                    lock(m).insert(name(l.db, &l.key).as_slice().into(), l.collection);
                    count += 1;
                }
            }
        }
        let colls =
            Colls { slots, next_version: AtomicU64::new(max + 1), count: AtomicUsize::new(count) };
        Ok((colls, unreadable))
    }

    /// Whether any collection exists.
    #[inline]
    pub fn any(&self) -> bool {
        self.count.load(Relaxed) > 0
    }

    /// A version no record of the store carries yet.
    pub fn new_version(&self) -> u64 {
        self.next_version.fetch_add(1, AcqRel)
    }

    /// The collections of `key`'s slot.
    pub fn slot(&self, key: &[u8]) -> MutexGuard<'_, SlotColls> {
        lock(&self.slots[usize::from(key_slot(key))])
    }

    /// Notes that a collection was created (`+1`) or removed (`-1`).
    pub fn counted(&self, delta: isize) {
        if delta >= 0 {
            self.count.fetch_add(delta as usize, Relaxed);
        } else {
            self.count.fetch_sub(delta.unsigned_abs(), Relaxed);
        }
    }

    /// Removes every collection of physical database `db` (or of all): the stored keys of
    /// their elements, to forget.
    pub fn clear(&self, db: Option<u8>) -> Vec<Vec<u8>> {
        let mut elements = Vec::new();
        for m in self.slots.iter() {
            let mut slot = lock(m);
            if slot.is_empty() {
                continue;
            }
            slot.retain(|n, c| {
                let (d, key) = split(n);
                if db.is_some_and(|db| db != d) {
                    return true;
                }
                elements.extend(c.element_keys(d, key));
                self.count.fetch_sub(1, Relaxed);
                false
            });
        }
        elements
    }
}

/// The database and key of a collection's name.
pub fn split(name: &[u8]) -> (u8, &[u8]) {
    match name.split_first() {
        Some((&db, key)) => (db, key),
        None => (0, name),
    }
}

/// Whether `stored` is a collection's element (not a key of its own).
pub fn is_element(stored: &[u8]) -> bool {
    matches!(bitcask_collections::key::parse(stored), Some(Stored::Element { .. }))
}

fn lock(m: &Mutex<SlotColls>) -> MutexGuard<'_, SlotColls> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
