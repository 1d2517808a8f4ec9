//! The keydir: an in-memory hash table from every live key to the position of its newest
//! record.
//!
//! Layout, per shard (64 shards, each behind its own `RwLock`):
//! - a `hashbrown::HashTable<u32>` of slot numbers (4 bytes per bucket plus a control byte);
//! - the slots, 20 bytes each (key position and length, file number, offset, length, flags),
//!   in fixed-size chunks so growth never copies or over-allocates;
//! - the key bytes, back to back in fixed-size arena chunks, compacted when more than half
//!   are garbage;
//! - expiry times in a side table, only for keys that have one.
//!
//! The slot's flags carry 14 bits of the key's hash, so a get finds its slot without
//! reading the key (it checks the key in the record instead).
//!
//! A 16-byte key costs about 45 bytes in all (20 slot + 16 key + ~8 table), against ~100 for
//! a `HashMap<Vec<u8>, _>`. One hash (foldhash, randomly seeded) picks the shard and the
//! bucket.

use std::hash::BuildHasher;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use foldhash::fast::RandomState;
use hashbrown::HashTable;

/// Where the newest record of a key lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Loc {
    /// The datafile's number in the file table.
    pub file: u32,
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
const SLOT_CHUNK: usize = 1024;
/// Arena chunks grow from 1 KiB to 256 KiB; a key's position is (chunk << 18) | offset.
const ARENA_MIN: usize = 1 << 10;
const ARENA_MAX: usize = 256 << 10;
const ARENA_SHIFT: u32 = 18;
const LIVE: u16 = 1;
const HAS_EXPIRY: u16 = 2;
/// The flags' upper 14 bits hold a tag from the key's hash (bits 40..54, used neither for
/// the bucket, the shard nor hashbrown's 7-bit tag), so a read can pick its slot without
/// comparing keys in the arena: 21 bits of tag in all.
const TAG_SHIFT: u32 = 2;

fn tag_of(h: u64) -> u16 {
    #[cfg(test)]
    if ALL_TAGS_EQUAL.with(std::cell::Cell::get) {
        return 0;
    }
    ((h >> 40) & 0x3fff) as u16
}

#[cfg(test)]
thread_local! {
    /// Unit tests set this (for their own thread) to make every tag collide, so reads take
    /// the fallback path.
    pub(crate) static ALL_TAGS_EQUAL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    key_off: u32,
    /// Key length minus one (keys are 1 to 65536 bytes).
    key_len_m1: u16,
    flags: u16,
    file: u32,
    offset: u32,
    len: u32,
}

#[derive(Default)]
struct Shard {
    table: HashTable<u32>,
    slots: Vec<Vec<Slot>>,
    free: Vec<u32>,
    arena: Vec<Vec<u8>>,
    live_key_bytes: usize,
    expiry: hashbrown::HashMap<u32, u64, RandomState>,
}

fn slot_at(slots: &[Vec<Slot>], i: u32) -> &Slot {
    &slots[i as usize / SLOT_CHUNK][i as usize % SLOT_CHUNK]
}

fn key_at<'a>(arena: &'a [Vec<u8>], s: &Slot) -> &'a [u8] {
    let chunk = &arena[(s.key_off >> ARENA_SHIFT) as usize];
    let at = (s.key_off & ((1 << ARENA_SHIFT) - 1)) as usize;
    &chunk[at..at + s.key_len_m1 as usize + 1]
}

impl Shard {
    fn slot(&self, i: u32) -> &Slot {
        slot_at(&self.slots, i)
    }

    fn slot_mut(&mut self, i: u32) -> &mut Slot {
        &mut self.slots[i as usize / SLOT_CHUNK][i as usize % SLOT_CHUNK]
    }

    fn key(&self, i: u32) -> &[u8] {
        key_at(&self.arena, self.slot(i))
    }

    fn find(&self, h: u64, key: &[u8]) -> Option<u32> {
        self.table.find(h, |&i| self.key(i) == key).copied()
    }

    /// The first slot whose hash tag matches `h`'s, without reading the key: the key's
    /// slot, or (about once in two million probes) another key's.
    fn find_by_tag(&self, h: u64) -> Option<u32> {
        let tag = tag_of(h);
        self.table.find(h, |&i| self.slot(i).flags >> TAG_SHIFT == tag).copied()
    }

    fn loc(&self, i: u32) -> Loc {
        let s = self.slot(i);
        let expiry =
            if s.flags & HAS_EXPIRY != 0 { self.expiry.get(&i).copied().unwrap_or(0) } else { 0 };
        Loc { file: s.file, offset: u64::from(s.offset), len: s.len, expiry }
    }

    fn store(&mut self, i: u32, loc: Loc) {
        let s = self.slot_mut(i);
        s.file = loc.file;
        debug_assert!(loc.offset <= u64::from(u32::MAX), "datafiles are smaller than 4 GiB");
        s.offset = loc.offset as u32;
        s.len = loc.len;
        if loc.expiry != 0 {
            s.flags |= HAS_EXPIRY;
            self.expiry.insert(i, loc.expiry);
        } else if s.flags & HAS_EXPIRY != 0 {
            s.flags &= !HAS_EXPIRY;
            self.expiry.remove(&i);
        }
    }

    fn alloc_key(&mut self, key: &[u8]) -> u32 {
        let fits = self.arena.last().is_some_and(|c| c.capacity() - c.len() >= key.len());
        if !fits {
            let size = (ARENA_MIN << self.arena.len().min(8)).min(ARENA_MAX).max(key.len());
            self.arena.push(Vec::with_capacity(size));
        }
        let n = self.arena.len() - 1;
        let chunk = &mut self.arena[n];
        let off = ((n as u32) << ARENA_SHIFT) | chunk.len() as u32;
        chunk.extend_from_slice(key);
        self.live_key_bytes += key.len();
        off
    }

    fn remove(&mut self, h: u64, key: &[u8]) -> Option<Loc> {
        let i = self.find(h, key)?;
        Some(self.remove_slot(h, i, key.len()))
    }

    /// The slot of `key` if its current record starts at `at` (file number, offset), found
    /// by hash tag and location alone: a location is one record, so one key. `at` must be
    /// where a record of `key` lies (merge asks about the records it reads); asked about
    /// another key's record, it could answer with that key's slot.
    fn find_at(&self, h: u64, at: (u32, u64)) -> Option<u32> {
        let tag = tag_of(h);
        let here = |i: u32| {
            let s = self.slot(i);
            s.flags >> TAG_SHIFT == tag && (s.file, u64::from(s.offset)) == at
        };
        // Exact without a key comparison: the key's own slot carries the key's tag, and no
        // other key's slot points at this key's record.
        self.table.find(h, |&i| here(i)).copied()
    }

    /// Removes slot `i` (of a key of `key_len` bytes, hash `h`); returns where it pointed.
    fn remove_slot(&mut self, h: u64, i: u32, key_len: usize) -> Loc {
        let old = self.loc(i);
        if let Ok(entry) = self.table.find_entry(h, |&j| j == i) {
            entry.remove();
        }
        if self.slot(i).flags & HAS_EXPIRY != 0 {
            self.expiry.remove(&i);
        }
        self.slot_mut(i).flags = 0;
        self.free.push(i);
        self.live_key_bytes -= key_len;
        self.maybe_compact();
        old
    }

    /// Rewrites the key arena when more than half of it is garbage.
    fn maybe_compact(&mut self) {
        let used: usize = self.arena.iter().map(Vec::len).sum();
        if used < (1 << 20) || self.live_key_bytes * 2 > used {
            return;
        }
        let old = std::mem::take(&mut self.arena);
        self.live_key_bytes = 0;
        let n = self.slots.iter().map(Vec::len).sum::<usize>() as u32;
        for i in 0..n {
            let s = *self.slot(i);
            if s.flags & LIVE != 0 {
                let key = key_at(&old, &s).to_vec();
                let off = self.alloc_key(&key);
                self.slot_mut(i).key_off = off;
            }
        }
    }

    fn set(&mut self, hasher: &RandomState, h: u64, key: &[u8], loc: Option<Loc>) -> Option<Loc> {
        let Some(loc) = loc else { return self.remove(h, key) };
        // One probe: find the key, or the place a new key goes.
        let (slots, arena) = (&self.slots, &self.arena);
        let entry = self.table.entry(
            h,
            |&j| key_at(arena, slot_at(slots, j)) == key,
            |&j| hasher.hash_one(key_at(arena, slot_at(slots, j))),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(e) => {
                let i = *e.get();
                let old = self.loc(i);
                self.store(i, loc);
                Some(old)
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                // The vacant entry borrows the table; note the bucket by inserting a
                // placeholder number, then fill the slot and patch the number.
                let mut occupied = v.insert(u32::MAX);
                let key_off = self_alloc_key(&mut self.arena, &mut self.live_key_bytes, key);
                let slot = Slot {
                    key_off,
                    key_len_m1: (key.len() - 1) as u16,
                    flags: LIVE | tag_of(h) << TAG_SHIFT,
                    ..Slot::default()
                };
                let i = self_alloc_slot(&mut self.slots, &mut self.free, slot);
                *occupied.get_mut() = i;
                self.store(i, loc);
                None
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        self.table.allocation_size()
            + self.slots.iter().map(|c| c.capacity() * std::mem::size_of::<Slot>()).sum::<usize>()
            + self.slots.capacity() * std::mem::size_of::<Vec<Slot>>()
            + self.free.capacity() * 4
            + self.arena.iter().map(Vec::capacity).sum::<usize>()
            + self.arena.capacity() * std::mem::size_of::<Vec<u8>>()
            + self.expiry.allocation_size()
    }
}

fn self_alloc_key(arena: &mut Vec<Vec<u8>>, live_key_bytes: &mut usize, key: &[u8]) -> u32 {
    let fits = arena.last().is_some_and(|c| c.capacity() - c.len() >= key.len());
    if !fits {
        let size = (ARENA_MIN << arena.len().min(8)).min(ARENA_MAX).max(key.len());
        arena.push(Vec::with_capacity(size));
    }
    let n = arena.len() - 1;
    let chunk = &mut arena[n];
    let off = ((n as u32) << ARENA_SHIFT) | chunk.len() as u32;
    chunk.extend_from_slice(key);
    *live_key_bytes += key.len();
    off
}

fn self_alloc_slot(slots: &mut Vec<Vec<Slot>>, free: &mut Vec<u32>, s: Slot) -> u32 {
    if let Some(i) = free.pop() {
        slots[i as usize / SLOT_CHUNK][i as usize % SLOT_CHUNK] = s;
        return i;
    }
    if slots.last().is_none_or(|c| c.len() == SLOT_CHUNK) {
        slots.push(Vec::with_capacity(SLOT_CHUNK));
    }
    let n = slots.len() - 1;
    let i = n * SLOT_CHUNK + slots[n].len();
    slots[n].push(s);
    i as u32
}

pub(crate) struct Keydir {
    shards: Box<[RwLock<Shard>]>,
    hasher: RandomState,
}

/// The hash of `key` and its shard. The shard comes from bits 32..38, which hashbrown uses
/// neither for the bucket (low bits) nor for its tag (top 7 bits), nor the slot tag.
fn locate(hasher: &RandomState, key: &[u8]) -> (u64, usize) {
    let h = hasher.hash_one(key);
    (h, (h >> 32) as usize % SHARDS)
}

/// Some of the keydir's shards, owned exclusively (see [`Keydir::halves_mut`]).
pub(crate) struct KeydirPart<'a> {
    shards: &'a mut [RwLock<Shard>],
    first: usize,
    hasher: &'a RandomState,
}

impl KeydirPart<'_> {
    /// [`Keydir::set_mut`] for a key of this part's shards; `None` for any other key.
    pub fn set(&mut self, key: &[u8], loc: Option<Loc>) -> Option<Option<Loc>> {
        let (h, s) = locate(self.hasher, key);
        let shard = self.shards.get_mut(s.checked_sub(self.first)?)?;
        let shard = shard.get_mut().unwrap_or_else(|e| e.into_inner());
        Some(shard.set(self.hasher, h, key, loc))
    }
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
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            hasher: RandomState::default(),
        }
    }

    fn locate(&self, key: &[u8]) -> (u64, usize) {
        locate(&self.hasher, key)
    }

    /// Locks each shard `located` names, in ascending shard order: the one order every
    /// lock of several shards follows (reads too: a reader holding shard 5 while waiting
    /// for shard 3 would deadlock with a writer holding 3 and waiting for 5).
    fn lock_shards<'a, G>(
        &'a self,
        located: &[(u64, usize)],
        lock: impl Fn(&'a RwLock<Shard>) -> G,
    ) -> Vec<Option<G>> {
        let mut needed = [false; SHARDS];
        for &(_, s) in located {
            needed[s] = true;
        }
        self.shards.iter().zip(needed).map(|(shard, n)| n.then(|| lock(shard))).collect()
    }

    /// The two halves of the shards, to build in parallel while opening (each key belongs
    /// to exactly one half).
    pub fn halves_mut(&mut self) -> [KeydirPart<'_>; 2] {
        let (lo, hi) = self.shards.split_at_mut(SHARDS / 2);
        let hasher = &self.hasher;
        [
            KeydirPart { shards: lo, first: 0, hasher },
            KeydirPart { shards: hi, first: SHARDS / 2, hasher },
        ]
    }

    pub fn get(&self, key: &[u8]) -> Option<Loc> {
        let (h, s) = self.locate(key);
        let shard = read(&self.shards[s]);
        shard.find(h, key).map(|i| shard.loc(i))
    }

    /// The location of `key`, or of another key with the same 21-bit hash tag (rare): the
    /// caller checks the key in the record it reads, and falls back to [`get`](Self::get)
    /// when it differs. Saves the key comparison in the arena, a cache miss per get.
    pub fn get_unverified(&self, key: &[u8]) -> Option<Loc> {
        let (h, s) = self.locate(key);
        let shard = read(&self.shards[s]);
        shard.find_by_tag(h).map(|i| shard.loc(i))
    }

    /// [`get_unverified`](Self::get_unverified) of many keys, each shard read-locked once:
    /// the lookups then run without a lock operation between them, so the processor
    /// overlaps their cache misses.
    pub fn get_many_unverified<K: AsRef<[u8]>>(&self, keys: &[K]) -> Vec<Option<Loc>> {
        let located: Vec<(u64, usize)> = keys.iter().map(|k| self.locate(k.as_ref())).collect();
        let guards = self.lock_shards(&located, read);
        located
            .iter()
            .map(|&(h, s)| {
                let g = guards[s].as_ref()?;
                g.find_by_tag(h).map(|i| g.loc(i))
            })
            .collect()
    }

    /// [`set`](Self::set) without locking, for the owner building the keydir on open.
    pub fn set_mut(&mut self, key: &[u8], loc: Option<Loc>) -> Option<Loc> {
        let (h, s) = self.locate(key);
        let shard = self.shards[s].get_mut().unwrap_or_else(|e| e.into_inner());
        shard.set(&self.hasher, h, key, loc)
    }

    /// Makes room for about `keys` keys in all, so that building does not rehash.
    pub fn reserve(&mut self, keys: usize) {
        let per = keys / SHARDS + keys / SHARDS / 8 + 16;
        for s in self.shards.iter_mut() {
            let shard = s.get_mut().unwrap_or_else(|e| e.into_inner());
            let (slots, arena) = (&shard.slots, &shard.arena);
            let hasher = &self.hasher;
            shard.table.reserve(per, |&j| hasher.hash_one(key_at(arena, slot_at(slots, j))));
        }
    }

    /// Gives back table memory reserved for keys that turned out superseded.
    pub fn shrink(&mut self) {
        for s in self.shards.iter_mut() {
            let shard = s.get_mut().unwrap_or_else(|e| e.into_inner());
            if shard.table.len() * 4 < shard.table.capacity() {
                let (slots, arena) = (&shard.slots, &shard.arena);
                let hasher = &self.hasher;
                shard.table.shrink_to_fit(|&j| hasher.hash_one(key_at(arena, slot_at(slots, j))));
            }
        }
    }

    /// Sets `key` to `loc` (or removes it for `None`); returns the previous location.
    pub fn set(&self, key: &[u8], loc: Option<Loc>) -> Option<Loc> {
        let (h, s) = self.locate(key);
        write(&self.shards[s]).set(&self.hasher, h, key, loc)
    }

    /// One item of [`replace_if_many`](Self::replace_if_many) (for the unit tests).
    #[cfg(test)]
    pub fn replace_if(&self, key: &[u8], expected: Loc, new: Option<Loc>) -> bool {
        self.replace_if_many(&[(key, expected, new)])[0]
    }

    /// Sets each `key` to `new` only if it still points at `expected`, the location of a
    /// record of `key` (see `Shard::find_at`), so that a write that raced a merge always
    /// wins. The shards involved are write-locked once (in shard order, as [`set_all`](Self::set_all) does) so the
    /// lookups overlap their cache misses. Returns which were replaced.
    pub fn replace_if_many(&self, items: &[(&[u8], Loc, Option<Loc>)]) -> Vec<bool> {
        let located: Vec<(u64, usize)> = items.iter().map(|(k, _, _)| self.locate(k)).collect();
        let mut guards = self.lock_shards(&located, write);
        items
            .iter()
            .zip(&located)
            .map(|(&(key, expected, new), &(h, s))| {
                let Some(shard) = guards[s].as_mut() else { return false };
                match shard.find_at(h, (expected.file, expected.offset)) {
                    Some(i) if shard.loc(i) == expected => {
                        match new {
                            Some(loc) => shard.store(i, loc),
                            None => {
                                shard.remove_slot(h, i, key.len());
                            }
                        }
                        true
                    }
                    _ => false,
                }
            })
            .collect()
    }

    /// The location of each (key, file number, offset) whose key's current record starts there
    /// (else `None`), with no key comparison (see `Shard::find_at`), each shard read-locked
    /// once: the lookups then run without a lock operation between them, so the processor
    /// overlaps their cache misses (merge judges a run of records this way).
    pub fn get_at_many(&self, items: &[(&[u8], u32, u64)]) -> Vec<Option<Loc>> {
        let located: Vec<(u64, usize)> = items.iter().map(|(k, _, _)| self.locate(k)).collect();
        let guards = self.lock_shards(&located, read);
        items
            .iter()
            .zip(&located)
            .map(|(&(_, file, offset), &(h, s))| {
                let g = guards[s].as_ref()?;
                g.find_at(h, (file, offset)).map(|i| g.loc(i))
            })
            .collect()
    }

    /// Applies every change at once: the shards involved are all locked before the first
    /// change, so no reader sees part of the batch. Returns the previous locations.
    pub fn set_all(&self, changes: &[(&[u8], Option<Loc>)]) -> Vec<Option<Loc>> {
        let located: Vec<(u64, usize)> = changes.iter().map(|(k, _)| self.locate(k)).collect();
        let mut guards = self.lock_shards(&located, write);
        changes
            .iter()
            .zip(&located)
            .map(|((key, loc), &(h, s))| {
                guards[s].as_mut().and_then(|g| g.set(&self.hasher, h, key, *loc))
            })
            .collect()
    }

    /// A consistent copy of the entries that pass `keep`: every shard is read-locked before
    /// the first is copied, so the copy is one point in time.
    pub fn snapshot(&self, mut keep: impl FnMut(&[u8], &Loc) -> bool) -> Vec<(Box<[u8]>, Loc)> {
        let guards: Vec<_> = self.shards.iter().map(read).collect();
        let mut out = Vec::with_capacity(guards.iter().map(|g| g.table.len()).sum());
        for g in &guards {
            for &i in g.table.iter() {
                let (k, l) = (g.key(i), g.loc(i));
                if keep(k, &l) {
                    out.push((k.into(), l));
                }
            }
        }
        out
    }

    /// Number of keydir shards (a [`scan_slots`](Self::scan_slots) walk visits each).
    pub const SHARDS: usize = SHARDS;

    /// The keys of up to `count` live entries of keydir shard `shard` that pass `keep`,
    /// from slot `from` on, looking at no more than `budget` slots; and the slot to go on
    /// from (`None`: the shard is done), and how many slots it looked at. The shard is
    /// read-locked for this call only. A
    /// key's slot never moves while the key lives (updates rewrite it in place, deletes free
    /// it), so a walk returns every key present from its first call to its last at least
    /// once, and holds nothing between calls.
    pub fn scan_slots(
        &self,
        shard: usize,
        from: u32,
        count: usize,
        budget: usize,
        mut keep: impl FnMut(&Loc) -> bool,
    ) -> (Vec<Box<[u8]>>, Option<u32>, usize) {
        let Some(lock) = self.shards.get(shard) else { return (Vec::new(), None, 0) };
        let g = read(lock);
        let n = g.slots.iter().map(Vec::len).sum::<usize>() as u64;
        let mut out = Vec::new();
        let mut i = u64::from(from);
        let end = n.min(i + budget.max(1) as u64);
        while i < end && out.len() < count {
            let at = i as u32;
            if g.slot(at).flags & LIVE != 0 && keep(&g.loc(at)) {
                out.push(g.key(at).into());
            }
            i += 1;
        }
        (out, (i < n).then_some(i as u32), (i - u64::from(from)) as usize)
    }

    /// Counts the entries that pass `keep`.
    pub fn count(&self, mut keep: impl FnMut(&Loc) -> bool) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let g = read(s);
                g.table.iter().filter(|&&i| keep(&g.loc(i))).count()
            })
            .sum()
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| read(s).table.len()).sum()
    }

    /// Bytes of heap memory held (capacity, not just use).
    pub fn heap_bytes(&self) -> usize {
        self.shards.iter().map(|s| read(s).heap_bytes()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(file: u32, offset: u64) -> Loc {
        Loc { file, offset, len: 10, expiry: 0 }
    }

    #[test]
    fn behaves_like_a_map() {
        let kd = Keydir::new();
        let mut model = std::collections::HashMap::new();
        let mut x: u64 = 1;
        for step in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = format!("key-{}", x % 5000).into_bytes();
            let l = Loc {
                file: (step % 7) as u32,
                offset: step,
                len: 9,
                expiry: if step % 5 == 0 { step + 1 } else { 0 },
            };
            if x.is_multiple_of(3) {
                assert_eq!(kd.set(&key, None), model.remove(&key));
            } else {
                assert_eq!(kd.set(&key, Some(l)), model.insert(key.clone(), l));
            }
            if step % 997 == 0 {
                assert_eq!(kd.len(), model.len());
            }
        }
        for (k, l) in &model {
            assert_eq!(kd.get(k), Some(*l));
        }
        let snap = kd.snapshot(|_, _| true);
        assert_eq!(snap.len(), model.len());
        for (k, l) in snap {
            assert_eq!(model.get(&*k), Some(&l));
        }
        assert_eq!(kd.count(|l| l.expiry != 0), model.values().filter(|l| l.expiry != 0).count());
    }

    #[test]
    fn keys_of_every_length_and_compaction() {
        let kd = Keydir::new();
        let long = vec![7u8; 65536];
        kd.set(&long, Some(loc(1, 1)));
        kd.set(b"x", Some(loc(1, 2)));
        assert_eq!(kd.get(&long), Some(loc(1, 1)));
        // Churn enough to force arena compaction, then check every survivor.
        for round in 0..40u64 {
            for i in 0..2000u64 {
                let k = format!("{round}-{i}-{}", "p".repeat(20)).into_bytes();
                kd.set(&k, Some(loc(2, i)));
                if round > 0 {
                    let old = format!("{}-{i}-{}", round - 1, "p".repeat(20)).into_bytes();
                    assert_eq!(kd.set(&old, None), Some(loc(2, i)));
                }
            }
        }
        assert_eq!(kd.len(), 2002);
        assert_eq!(kd.get(&long), Some(loc(1, 1)));
        assert_eq!(kd.get(b"x"), Some(loc(1, 2)));
        for i in 0..2000u64 {
            assert_eq!(kd.get(format!("39-{i}-{}", "p".repeat(20)).as_bytes()), Some(loc(2, i)));
        }
        assert!(kd.heap_bytes() < 8 << 20, "{}", kd.heap_bytes());
    }

    #[test]
    fn conditional_and_batched_updates() {
        let kd = Keydir::new();
        kd.set(b"a", Some(loc(1, 1)));
        assert!(!kd.replace_if(b"a", loc(1, 2), Some(loc(3, 3))));
        assert!(kd.replace_if(b"a", loc(1, 1), Some(loc(3, 3))));
        assert!(kd.replace_if(b"a", loc(3, 3), None));
        assert_eq!(kd.get(b"a"), None);
        let keys: Vec<Vec<u8>> = (0..100).map(|i| format!("k{i}").into_bytes()).collect();
        let changes: Vec<(&[u8], Option<Loc>)> =
            keys.iter().map(|k| (k.as_slice(), Some(loc(5, 5)))).collect();
        assert!(kd.set_all(&changes).iter().all(Option::is_none));
        assert_eq!(kd.len(), 100);
    }

    #[test]
    fn get_at_many_and_replace_if_find_a_record_by_its_location_even_when_tags_collide() {
        for collide in [false, true] {
            ALL_TAGS_EQUAL.set(collide);
            let kd = Keydir::new();
            let key = |i: u32| format!("key {i}").into_bytes();
            for i in 0..5000 {
                kd.set(&key(i), Some(loc(1, u64::from(i) * 10)));
            }
            for i in 0..5000 {
                let at = u64::from(i) * 10;
                assert_eq!(
                    kd.get_at_many(&[(&key(i), 1, at)])[0],
                    Some(loc(1, at)),
                    "{i} {collide}"
                );
                assert_eq!(kd.get_at_many(&[(&key(i), 1, at + 5)])[0], None, "{i} {collide}");
                assert_eq!(kd.get_at_many(&[(&key(i), 2, at)])[0], None, "{i} {collide}");
                // Repoint only while it still points at the expected record.
                assert!(!kd.replace_if(&key(i), loc(1, at + 5), Some(loc(3, at))));
                assert!(kd.replace_if(&key(i), loc(1, at), Some(loc(3, at))), "{i} {collide}");
                assert_eq!(kd.get(&key(i)), Some(loc(3, at)));
            }
            for i in (0..5000).step_by(2) {
                assert!(kd.replace_if(&key(i), loc(3, u64::from(i) * 10), None));
            }
            assert_eq!(kd.len(), 2500);
            for i in 0..5000 {
                let want = (i % 2 == 1).then(|| loc(3, u64::from(i) * 10));
                assert_eq!(kd.get(&key(i)), want, "{i} {collide}");
            }
        }
        ALL_TAGS_EQUAL.set(false);
    }
}
