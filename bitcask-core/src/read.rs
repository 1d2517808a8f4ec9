//! The read path: point lookups and snapshot iteration.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::datafile::DataFile;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::file_table::FileTable;
use crate::keydir::{Keydir, Loc};
use crate::util::now_ms;

type Snapshot = Vec<(Box<[u8]>, Loc)>;

/// A snapshot of the key set, sorted by key.
#[derive(Debug)]
pub struct Keys {
    pub(crate) inner: std::vec::IntoIter<(Box<[u8]>, Loc)>,
}

impl Keys {
    /// One sorted key set made of several (the shards of a sharded store).
    pub(crate) fn merge(mut parts: Vec<Keys>) -> Keys {
        if parts.len() == 1 {
            // One store: its snapshot is sorted already.
            return parts.remove(0);
        }
        let mut all: Snapshot = parts.into_iter().flat_map(|k| k.inner).collect();
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Keys { inner: all.into_iter() }
    }
}

impl Iterator for Keys {
    type Item = Vec<u8>;
    fn next(&mut self) -> Option<Vec<u8>> {
        self.inner.next().map(|(k, _)| k.into_vec())
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for Keys {}

/// A snapshot of the key/value pairs, sorted by key; values are read when the iterator reaches
/// them, from the files as they were when the snapshot was taken (a merge does not disturb it).
pub struct Iter {
    /// Each key, where its record is, and which file table holds that file.
    items: std::vec::IntoIter<(Box<[u8]>, Loc, u32)>,
    files: Vec<Arc<FileTable>>,
}

impl Iter {
    /// An iterator over a snapshot of one store.
    pub(crate) fn new(items: Snapshot, files: Arc<FileTable>) -> Iter {
        let items: Vec<_> = items.into_iter().map(|(k, l)| (k, l, 0)).collect();
        Iter { items: items.into_iter(), files: vec![files] }
    }

    /// One iterator, in key order, over several (the shards of a sharded store).
    pub(crate) fn merge(mut parts: Vec<Iter>) -> Iter {
        if parts.len() == 1 {
            // One store: its snapshot is sorted already.
            return parts.remove(0);
        }
        let mut files = Vec::with_capacity(parts.len());
        let mut items = Vec::new();
        for part in parts {
            let base = files.len() as u32;
            items.extend(part.items.map(|(k, l, t)| (k, l, t + base)));
            files.extend(part.files);
        }
        items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Iter { items: items.into_iter(), files }
    }
}

impl std::fmt::Debug for Iter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iter").field("remaining", &self.items.len()).finish()
    }
}

/// One key/value pair with its expiry, from [`Iter::entries`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key.
    pub key: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
    /// When the key expires, if it has a TTL.
    pub expires_at: Option<std::time::SystemTime>,
}

/// The snapshot of an [`Iter`], yielding [`Entry`]s (with expiry).
#[derive(Debug)]
pub struct Entries {
    iter: Iter,
}

impl Iter {
    /// Yields each pair with its expiry.
    pub fn entries(self) -> Entries {
        Entries { iter: self }
    }
}

impl Iterator for Entries {
    type Item = Result<Entry>;
    fn next(&mut self) -> Option<Self::Item> {
        let expiry = self.iter.items.as_slice().first().map(|(_, l, _)| l.expiry)?;
        let expires_at =
            (expiry != 0).then(|| std::time::UNIX_EPOCH + Duration::from_millis(expiry));
        Some(self.iter.next()?.map(|(key, value)| Entry { key, value, expires_at }))
    }
}

impl Iterator for Iter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;
    fn next(&mut self) -> Option<Self::Item> {
        let (key, loc, table) = self.items.next()?;
        let file = self.files.get(table as usize).and_then(|t| t.get(&loc.file));
        let Some(file) = file else {
            return Some(Err(Error::corruption(
                PathBuf::from(format!("datafile number {}", loc.file)),
                loc.offset,
                "datafile missing",
            )));
        };
        Some(file.read_value(&key, &loc).map(|v| (key.into_vec(), v)))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.items.size_hint()
    }
}

impl Engine {
    /// The value of `key`, copied out.
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.lookup(key, |file, loc| file.read_value(key, loc))
    }

    /// Calls `f(i, value)` for each of `keys` (`None`: absent), values borrowed from the
    /// maps when they can be. The keydir lookups, then the loads of the records, are done
    /// for all keys before the first record is checked, so their memory waits overlap.
    pub(crate) fn get_many_with<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        mut f: impl FnMut(usize, Option<&[u8]>),
    ) -> Result<()> {
        self.life.check_open()?;
        let locs = self.index.keydir.get_many_unverified(keys);
        let now = if locs.iter().flatten().any(|l| l.expiry != 0) { now_ms() } else { 0 };
        let files = self.index.file_table();
        let mut touched = 0u8;
        for loc in locs.iter().flatten() {
            if let Some(file) = files.get(&loc.file) {
                touched = touched.wrapping_add(file.touch(loc));
            }
        }
        std::hint::black_box(touched);
        for (i, (key, loc)) in keys.iter().zip(&locs).enumerate() {
            let key = key.as_ref();
            // The slot was picked by hash tag: trust it once the record claims the key.
            let picked = loc.and_then(|l| Some((l, files.get(&l.file)?)));
            match picked.filter(|(l, file)| file.claims_key(l, key)) {
                Some((l, _)) if l.expiry != 0 && l.expired(now) => f(i, None),
                Some((l, file)) => file.with_value(key, &l, |v| f(i, Some(v)))?,
                // Absent, another key's slot, no map, or a file a merge retired since.
                None => self.get_with(key, |v| f(i, Some(v)))?.unwrap_or_else(|| f(i, None)),
            }
        }
        Ok(())
    }

    /// Calls `f` with the value of `key`, borrowed from the file's map when it can be.
    pub(crate) fn get_with<R>(&self, key: &[u8], f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>> {
        self.lookup(key, |file, loc| file.with_value(key, loc, f))
    }

    /// Finds the current record of `key` and calls `read` with its file and location, while
    /// the file table's read lock keeps the file in the table (rotation and merge take the
    /// write lock just to swap the table, never across I/O).
    fn lookup<R>(
        &self,
        key: &[u8],
        read: impl FnOnce(&DataFile, &Loc) -> Result<R>,
    ) -> Result<Option<R>> {
        self.life.check_open()?;
        // The fast path: the slot picked by hash tag, its key checked in the mapped record
        // (no key comparison in the keydir's arena).
        if let Some(loc) = self.index.keydir.get_unverified(key) {
            if loc.expiry == 0 || !loc.expired(now_ms()) {
                let files = self.index.files_locked();
                if let Some(file) = files.get(&loc.file).filter(|f| f.claims_key(&loc, key)) {
                    return read(file, &loc).map(Some);
                }
            }
        }
        // A merge may retire the file between the keydir lookup and the file lookup; the
        // keydir then already points elsewhere, so look again.
        for _ in 0..16 {
            let Some(loc) = self.index.keydir.get(key) else { return Ok(None) };
            if loc.expiry != 0 && loc.expired(now_ms()) {
                return Ok(None);
            }
            let files = self.index.files_locked();
            if let Some(file) = files.get(&loc.file) {
                return read(file, &loc).map(Some);
            }
        }
        Err(Error::corruption(&self.dir, 0, "keydir points at a datafile that is gone"))
    }

    /// The remaining time to live of `key`: `None` when absent, `Some(None)` when it has
    /// no expiry.
    pub(crate) fn ttl(&self, key: &[u8]) -> Result<Option<Option<Duration>>> {
        self.life.check_open()?;
        let now = now_ms();
        Ok(self
            .index
            .keydir
            .get(key)
            .filter(|l| !l.expired(now))
            .map(|l| (l.expiry != 0).then(|| Duration::from_millis(l.expiry - now))))
    }

    /// A consistent snapshot of the live entries (sorted by key) and the files they are in.
    pub(crate) fn snapshot(&self) -> (Snapshot, Arc<FileTable>) {
        self.snapshot_where(|_| true)
    }

    /// [`snapshot`](Self::snapshot) of the keys `keep` accepts: only those are copied and
    /// sorted (every key is still visited once).
    pub(crate) fn snapshot_where(
        &self,
        mut keep: impl FnMut(&[u8]) -> bool,
    ) -> (Snapshot, Arc<FileTable>) {
        let now = now_ms();
        // Holding the file table's read lock keeps a merge from retiring a file the snapshot
        // points into (outputs are added to the table before the keydir points at them).
        let files = self.index.files_locked();
        let mut items = self.index.keydir.snapshot(|k, l| !l.expired(now) && keep(k));
        let table = files.clone();
        drop(files);
        items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        (items, table)
    }

    /// Up to about `count` live keys from `cursor` on, and the next cursor (0: done). The
    /// cursor is a keydir shard (bits 32..38) and a slot in it (bits 0..32); each call
    /// read-locks one keydir shard at a time, looks at no more than `10 * count + 64`
    /// slots, and keeps nothing between calls.
    pub(crate) fn scan_keys(&self, cursor: u64, count: usize) -> (Vec<Vec<u8>>, u64) {
        let now = now_ms();
        self.scan_where(cursor, count, |l| !l.expired(now))
    }

    /// [`scan_keys`](Self::scan_keys) of the keys whose expiry has passed (present in the
    /// keydir, absent to readers), for an expiry sweep to delete.
    pub(crate) fn scan_expired(&self, cursor: u64, count: usize) -> (Vec<Vec<u8>>, u64) {
        // No key has an expiry: nothing to walk.
        if self.index.ttl_keys() == 0 {
            return (Vec::new(), 0);
        }
        let now = now_ms();
        self.scan_where(cursor, count, |l| l.expiry != 0 && l.expired(now))
    }

    fn scan_where(
        &self,
        cursor: u64,
        count: usize,
        keep: impl Fn(&Loc) -> bool,
    ) -> (Vec<Vec<u8>>, u64) {
        let (mut shard, mut slot) = ((cursor >> 32) as usize, cursor as u32);
        let mut budget = count.saturating_mul(10).saturating_add(64);
        let mut out = Vec::new();
        while shard < Keydir::SHARDS && out.len() < count && budget > 0 {
            let want = count - out.len();
            let (keys, next, seen) = self.index.keydir.scan_slots(shard, slot, want, budget, &keep);
            // An empty shard still costs a step, so the walk always ends.
            budget = budget.saturating_sub(seen.max(1));
            out.extend(keys.into_iter().map(Vec::from));
            match next {
                Some(n) => slot = n,
                None => (shard, slot) = (shard + 1, 0),
            }
        }
        let next = if shard >= Keydir::SHARDS { 0 } else { (shard as u64) << 32 | u64::from(slot) };
        (out, next)
    }

    pub(crate) fn len_expiring(&self) -> usize {
        if self.index.ttl_keys() == 0 {
            return 0;
        }
        let now = now_ms();
        self.index.keydir.count(|l| l.expiry != 0 && !l.expired(now))
    }

    pub(crate) fn len(&self) -> usize {
        if self.index.ttl_keys() == 0 {
            self.index.keydir.len()
        } else {
            let now = now_ms();
            self.index.keydir.count(|l| !l.expired(now))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{Bitcask, Options};

    #[test]
    fn reads_are_right_when_every_hash_tag_collides() {
        // Every slot's tag equal: the tag-picked slot is often another key's, so gets take
        // the verified fallback. They must still return exactly each key's value.
        crate::keydir::ALL_TAGS_EQUAL.set(true);
        let dir = tempfile::tempdir().unwrap();
        let db =
            Bitcask::open(dir.path(), Options { max_file_size: 64 << 10, ..Options::default() })
                .unwrap();
        let key = |i: u32| format!("key {i}").into_bytes();
        for i in 0..3000 {
            db.put(&key(i), format!("value {i}").as_bytes()).unwrap();
        }
        for i in (0..3000).step_by(7) {
            db.delete(&key(i)).unwrap();
        }
        for i in (1..3000).step_by(11) {
            db.put_with_ttl(&key(i), b"gone", Duration::ZERO).unwrap();
        }
        for i in 0..3200 {
            let want = (i < 3000 && i % 7 != 0 && (i < 1 || (i - 1) % 11 != 0))
                .then(|| format!("value {i}").into_bytes());
            assert_eq!(db.get(&key(i)).unwrap(), want, "get {i}");
            assert_eq!(db.get_with(&key(i), <[u8]>::to_vec).unwrap(), want, "get_with {i}");
        }
        let keys: Vec<Vec<u8>> = (0..3200).map(key).collect();
        let mut many = Vec::new();
        db.get_many_with(&keys, |_, v| many.push(v.map(<[u8]>::to_vec))).unwrap();
        let one_by_one: Vec<_> = keys.iter().map(|k| db.get(k).unwrap()).collect();
        assert_eq!(many, one_by_one);
        crate::keydir::ALL_TAGS_EQUAL.set(false);
    }
}
