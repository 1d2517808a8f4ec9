//! The keyspace: the sharded store, a lock per slot that makes every write (and each
//! read-modify-write) atomic against the others, a version per slot for WATCH, and [`Tx`],
//! the write set a command (or a whole MULTI/EXEC) builds before it commits.

use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcask_core::sharded::{key_slot, SLOTS};
use bitcask_core::{Error, ShardedBitcask, WriteBatch};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The moment `ms` milliseconds after the Unix epoch.
pub fn time_of(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// Milliseconds since the Unix epoch of `t`.
pub fn ms_of(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// `put` (`at` 0) or `put_expiring_at`.
fn store(db: &ShardedBitcask, key: &[u8], value: &[u8], at: u64) -> Result<(), Error> {
    if at == 0 {
        db.put(key, value)
    } else {
        db.put_expiring_at(key, value, time_of(at))
    }
}

/// The store with the locks and versions of its slots.
pub struct Keyspace {
    /// The store.
    pub db: ShardedBitcask,
    locks: Box<[Mutex<()>]>,
    versions: Box<[AtomicU64]>,
    /// Writes since the store was last synced by SAVE (for INFO's `rdb_changes_since_last_save`).
    pub dirty: AtomicU64,
}

/// The slot locks a command holds while it runs (taken in slot order: no deadlock).
// The guards are held for their Drop: they unlock when the command is done.
#[allow(dead_code)]
pub enum Locked<'a> {
    /// One slot's (most commands: no allocation).
    One(MutexGuard<'a, ()>),
    /// Several slots'.
    Many(Vec<MutexGuard<'a, ()>>),
}

impl Keyspace {
    /// Wraps an open store.
    pub fn new(db: ShardedBitcask) -> Keyspace {
        let locks = (0..SLOTS).map(|_| Mutex::new(())).collect();
        let versions = (0..SLOTS).map(|_| AtomicU64::new(0)).collect();
        Keyspace { db, locks, versions, dirty: AtomicU64::new(0) }
    }

    fn guard(&self, slot: u16) -> Option<MutexGuard<'_, ()>> {
        self.locks.get(usize::from(slot)).map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Locks the slots of `keys` (and the extra `slots`), in ascending order.
    pub fn lock<'a, K: AsRef<[u8]>>(&'a self, keys: &[K], slots: &[u16]) -> Locked<'a> {
        if let ([key], []) = (keys, slots) {
            if let Some(g) = self.guard(key_slot(key.as_ref())) {
                return Locked::One(g);
            }
        }
        let mut all: Vec<u16> = keys.iter().map(|k| key_slot(k.as_ref())).collect();
        all.extend_from_slice(slots);
        all.sort_unstable();
        all.dedup();
        Locked::Many(all.iter().filter_map(|&s| self.guard(s)).collect())
    }

    /// Locks every slot (FLUSHALL).
    pub fn lock_all(&self) -> Locked<'_> {
        Locked::Many(
            self.locks.iter().map(|m| m.lock().unwrap_or_else(|e| e.into_inner())).collect(),
        )
    }

    /// The write version of `slot` (any committed write to a key in it changes it).
    pub fn version(&self, slot: u16) -> u64 {
        self.versions.get(usize::from(slot)).map_or(0, |v| v.load(Acquire))
    }

    fn bump(&self, key: &[u8]) {
        if let Some(v) = self.versions.get(usize::from(key_slot(key))) {
            v.fetch_add(1, AcqRel);
        }
        self.dirty.fetch_add(1, Relaxed);
    }

    /// Stores `value` under `key` with expiry `at` (ms since the epoch, 0: none); the
    /// caller holds the key's slot lock.
    pub fn put(&self, key: &[u8], value: &[u8], at: u64) -> Result<(), Error> {
        store(&self.db, key, value, at)?;
        self.bump(key);
        Ok(())
    }
}

impl Keyspace {
    /// Deletes every key (FLUSHALL; the caller holds every slot lock): one batch of up to
    /// 10,000 deletes at a time, per shard. Returns how many keys it deleted.
    pub fn flush(&self) -> Result<usize, Error> {
        let mut n = 0;
        for shard in self.db.shards() {
            let keys: Vec<Vec<u8>> = shard.keys()?.collect();
            for chunk in keys.chunks(10_000) {
                let mut batch = WriteBatch::new();
                for k in chunk {
                    batch.delete(k);
                }
                shard.write(batch)?;
                n += chunk.len();
            }
        }
        for v in self.versions.iter() {
            v.fetch_add(1, AcqRel);
        }
        self.dirty.fetch_add(n as u64, Relaxed);
        Ok(n)
    }
}

/// What a key holds in a [`Tx`]: its value and expiry (ms since the epoch, 0: none).
pub type Entry = (Vec<u8>, u64);

/// The write set of a command or a transaction: reads see its own writes first, then the
/// store; [`commit`](Tx::commit) applies it.
pub struct Tx<'a> {
    ks: &'a Keyspace,
    /// The time the command runs at, for every expiry it reads or sets.
    pub now: u64,
    ops: Vec<(Vec<u8>, Option<Entry>)>,
}

/// How a [`Tx`] that touches several shards commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// One atomic batch (MULTI/EXEC): keys in several shards are refused.
    Atomic,
    /// One atomic batch per shard, in the order the shards were first written.
    PerShard,
}

impl<'a> Tx<'a> {
    /// An empty write set.
    pub fn new(ks: &'a Keyspace) -> Tx<'a> {
        Tx { ks, now: now_ms(), ops: Vec::new() }
    }

    /// The keyspace.
    pub fn ks(&self) -> &'a Keyspace {
        self.ks
    }

    /// Whether it holds writes.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    fn pending(&self, key: &[u8]) -> Option<&Option<Entry>> {
        self.ops.iter().rev().find(|(k, _)| k == key).map(|(_, e)| e)
    }

    /// The value and expiry of `key`, if it is present (and not expired).
    pub fn get(&self, key: &[u8]) -> Result<Option<Entry>, Error> {
        if let Some(e) = self.pending(key) {
            return Ok(e.clone().filter(|(_, at)| *at == 0 || *at > self.now));
        }
        if key.is_empty() {
            return Ok(None);
        }
        let Some(at) = self.ks.db.expires_at(key)? else { return Ok(None) };
        Ok(self.ks.db.get(key)?.map(|v| (v, at.map_or(0, ms_of))))
    }

    /// Calls `f` with the value of `key` without copying it when no write of this set
    /// covers it.
    pub fn with_value<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, Error> {
        if self.pending(key).is_some() {
            return Ok(self.get(key)?.map(|(v, _)| f(&v)));
        }
        if key.is_empty() {
            return Ok(None);
        }
        self.ks.db.get_with(key, f)
    }

    /// Whether `key` is present.
    pub fn exists(&self, key: &[u8]) -> Result<bool, Error> {
        if let Some(e) = self.pending(key) {
            return Ok(e.as_ref().is_some_and(|(_, at)| *at == 0 || *at > self.now));
        }
        if key.is_empty() {
            return Ok(false);
        }
        self.ks.db.contains(key)
    }

    /// The expiry of `key`: `None` when absent, `Some(0)` when it has none.
    pub fn expiry(&self, key: &[u8]) -> Result<Option<u64>, Error> {
        if let Some(e) = self.pending(key) {
            return Ok(e.as_ref().filter(|(_, at)| *at == 0 || *at > self.now).map(|(_, at)| *at));
        }
        if key.is_empty() {
            return Ok(None);
        }
        Ok(self.ks.db.expires_at(key)?.map(|at| at.map_or(0, ms_of)))
    }

    /// Sets `key` to `value`, expiring at `at` (0: never).
    pub fn put(&mut self, key: &[u8], value: Vec<u8>, at: u64) {
        self.ops.push((key.to_vec(), Some((value, at))));
    }

    /// Deletes `key`; returns whether it was present.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool, Error> {
        let existed = self.exists(key)?;
        if existed {
            self.ops.push((key.to_vec(), None));
        }
        Ok(existed)
    }

    /// Applies the write set. A single write is a plain put or delete; several are one
    /// batch per shard (`PerShard`) or one batch that must stay in one shard (`Atomic`).
    pub fn commit(self, how: Commit) -> Result<(), Error> {
        let ks = self.ks;
        let db = &ks.db;
        if let [(key, e)] = self.ops.as_slice() {
            match e {
                Some((v, at)) => store(db, key, v, *at)?,
                None => {
                    db.delete(key)?;
                }
            }
            ks.bump(key);
            return Ok(());
        }
        let mut order: Vec<usize> = Vec::new();
        for (k, _) in &self.ops {
            let s = db.shard_of(k);
            if !order.contains(&s) {
                order.push(s);
            }
        }
        if let (Commit::Atomic, [first, other, ..]) = (how, order.as_slice()) {
            return Err(Error::CrossShard { first: *first, other: *other });
        }
        for s in order {
            let mut batch = WriteBatch::new();
            for (k, e) in self.ops.iter().filter(|(k, _)| db.shard_of(k) == s) {
                match e {
                    Some((v, 0)) => batch.put(k, v),
                    Some((v, at)) => batch.put_expiring_at(k, v, time_of(*at)),
                    None => batch.delete(k),
                };
            }
            db.write(batch)?;
        }
        for (k, _) in &self.ops {
            ks.bump(k);
        }
        Ok(())
    }
}
