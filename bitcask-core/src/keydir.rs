//! The keydir: an in-memory hash table from every live key to the position of its newest
//! record, split into shards so readers and the writer rarely meet on a lock.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::files::FileId;

/// Where the newest record of a key lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Loc {
    pub file: FileId,
    pub offset: u64,
    pub len: u32,
    /// Expiry in ms since the Unix epoch; 0 when the record has none.
    pub expiry: u64,
}

impl Loc {
    pub fn expired(&self, now_ms: u64) -> bool {
        self.expiry != 0 && self.expiry <= now_ms
    }
}

const SHARDS: usize = 64;

type Shard = HashMap<Box<[u8]>, Loc>;

pub(crate) struct Keydir {
    shards: Box<[RwLock<Shard>]>,
    hasher: RandomState,
}

fn read(s: &RwLock<Shard>) -> RwLockReadGuard<'_, Shard> {
    s.read().unwrap_or_else(|e| e.into_inner())
}

fn write(s: &RwLock<Shard>) -> RwLockWriteGuard<'_, Shard> {
    s.write().unwrap_or_else(|e| e.into_inner())
}

impl Keydir {
    pub fn new() -> Keydir {
        Keydir {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard_of(&self, key: &[u8]) -> usize {
        (self.hasher.hash_one(key) >> 32) as usize % SHARDS
    }

    fn shard(&self, key: &[u8]) -> &RwLock<Shard> {
        &self.shards[self.shard_of(key)]
    }

    pub fn get(&self, key: &[u8]) -> Option<Loc> {
        read(self.shard(key)).get(key).copied()
    }

    /// Sets `key` to `loc` (or removes it for `None`); returns the previous location.
    pub fn set(&self, key: &[u8], loc: Option<Loc>) -> Option<Loc> {
        let mut shard = write(self.shard(key));
        match loc {
            Some(loc) => match shard.get_mut(key) {
                Some(slot) => Some(std::mem::replace(slot, loc)),
                None => shard.insert(key.into(), loc),
            },
            None => shard.remove(key),
        }
    }

    /// Sets `key` to `new` only if it still points at `expected`. Used by merge, so that a
    /// write that raced the merge always wins.
    pub fn replace_if(&self, key: &[u8], expected: Loc, new: Option<Loc>) -> bool {
        let mut shard = write(self.shard(key));
        match shard.get_mut(key) {
            Some(slot) if *slot == expected => {
                match new {
                    Some(n) => *slot = n,
                    None => {
                        shard.remove(key);
                    }
                }
                true
            }
            _ => false,
        }
    }

    /// Applies every change at once: the shards involved are all locked before the first
    /// change, so no reader sees part of the batch. Returns the previous locations.
    pub fn set_all(&self, changes: &[(&[u8], Option<Loc>)]) -> Vec<Option<Loc>> {
        let mut idx: Vec<usize> = changes.iter().map(|(k, _)| self.shard_of(k)).collect();
        let mut order = idx.clone();
        order.sort_unstable();
        order.dedup();
        let mut guards: Vec<(usize, RwLockWriteGuard<'_, Shard>)> =
            order.iter().map(|&i| (i, write(&self.shards[i]))).collect();
        let mut out = Vec::with_capacity(changes.len());
        for ((key, loc), i) in changes.iter().zip(idx.iter_mut()) {
            let pos = guards.binary_search_by_key(i, |(j, _)| *j).unwrap_or(0);
            let shard = &mut guards[pos].1;
            out.push(match loc {
                Some(loc) => shard.insert((*key).into(), *loc),
                None => shard.remove(*key),
            });
        }
        out
    }

    /// A consistent copy of the entries that pass `keep`: every shard is read-locked before the
    /// first is copied, so the copy is one point in time.
    pub fn snapshot(&self, mut keep: impl FnMut(&[u8], &Loc) -> bool) -> Vec<(Box<[u8]>, Loc)> {
        let guards: Vec<_> = self.shards.iter().map(read).collect();
        let mut out = Vec::new();
        for g in &guards {
            for (k, l) in g.iter() {
                if keep(k, l) {
                    out.push((k.clone(), *l));
                }
            }
        }
        out
    }

    /// Counts the entries that pass `keep`.
    pub fn count(&self, mut keep: impl FnMut(&Loc) -> bool) -> usize {
        self.shards.iter().map(|s| read(s).values().filter(|l| keep(l)).count()).sum()
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| read(s).len()).sum()
    }
}
