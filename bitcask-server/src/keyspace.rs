//! The keyspace: the sharded store, a lock per slot that makes every write (and each
//! read-modify-write) atomic against the others, and a version per slot for WATCH. The
//! store is reachable only through it: every write moves its slot's version (commands write
//! through [`Tx`](crate::tx::Tx)); reads and administration go through the methods below.

use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcask_core::sharded::{key_slot, SLOTS};
use bitcask_core::{Bitcask, Error, ShardedBitcask, WriteBatch};

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
        db.shard_for(key)?.put(key, value)
    } else {
        db.shard_for(key)?.put_expiring_at(key, value, time_of(at))
    }
}

/// The store with the locks and versions of its slots.
pub struct Keyspace {
    db: ShardedBitcask,
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

    /// Counts a committed write of `key`: its slot's version moves.
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

/// What a key holds in a [`Tx`]: its value and expiry (ms since the epoch, 0: none).
pub type Entry = (Vec<u8>, u64);

/// How a [`Tx`] that touches several shards commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// One atomic batch (MULTI/EXEC): keys in several shards are refused.
    Atomic,
    /// One atomic batch per shard, in the order the shards were first written.
    PerShard,
}

/// Reads of keys, for [`Tx`](crate::tx::Tx) (which sees its own writes first).
impl Keyspace {
    /// The value and expiry of `key`, if it is present.
    pub fn get(&self, key: &[u8]) -> Result<Option<Entry>, Error> {
        let Some(at) = self.db.shard_for(key)?.expires_at(key)? else { return Ok(None) };
        Ok(self.db.shard_for(key)?.get(key)?.map(|v| (v, at.map_or(0, ms_of))))
    }

    /// Calls `f` with the value of `key`, without copying it.
    pub fn with_value<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, Error> {
        self.db.shard_for(key)?.get_with(key, f)
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &[u8]) -> Result<bool, Error> {
        self.db.shard_for(key)?.contains(key)
    }

    /// The expiry of `key`: `None` when absent, `Some(0)` when it has none.
    pub fn expiry(&self, key: &[u8]) -> Result<Option<u64>, Error> {
        Ok(self.db.shard_for(key)?.expires_at(key)?.map(|at| at.map_or(0, ms_of)))
    }
}

/// Reads and administration: what is not a write of a key.
impl Keyspace {
    /// The number of live keys.
    pub fn len(&self) -> usize {
        self.db.len()
    }

    /// The number of live keys with an expiry.
    pub fn len_expiring(&self) -> usize {
        self.db.len_expiring()
    }

    /// Up to about `count` keys from `cursor` on, and the next cursor (0: done).
    pub fn scan_keys(&self, cursor: u64, count: usize) -> Result<(Vec<Vec<u8>>, u64), Error> {
        self.db.scan_keys(cursor, count)
    }

    /// Up to `limit` keys of `slot` held here.
    pub fn keys_in_slot(&self, slot: u16, limit: usize) -> Result<Vec<Vec<u8>>, Error> {
        let Some(shard) = self.db.shard(self.db.shard_of_slot(slot)) else { return Ok(Vec::new()) };
        let mut n = 0;
        shard
            .keys_where(|k| {
                let take = n < limit && key_slot(k) == slot;
                n += usize::from(take);
                take
            })
            .map(Iterator::collect)
    }

    /// The number of shards.
    pub fn shard_count(&self) -> usize {
        self.db.shard_count()
    }

    /// Each open shard's statistics.
    pub fn stats(&self) -> Vec<bitcask_core::Stats> {
        self.db.stats()
    }

    /// What each open shard's open found.
    pub fn recovery_reports(&self) -> Vec<&bitcask_core::RecoveryReport> {
        self.db.shards().into_iter().map(Bitcask::recovery_report).collect()
    }

    /// The failure that made a shard refuse writes, if one did.
    pub fn write_error(&self) -> Option<String> {
        self.db.write_error()
    }

    /// Makes every write durable now (SAVE).
    pub fn sync(&self) -> Result<(), Error> {
        self.db.sync()
    }

    /// Calls `done` once every write made so far is durable, without blocking (the store's
    /// group commit).
    pub fn when_synced(&self, done: impl FnOnce(Result<(), Error>) + Send + 'static) {
        self.db.when_synced(done);
    }

    /// Merges every shard.
    pub fn merge(&self) -> Result<Vec<bitcask_core::MergeReport>, Error> {
        self.db.merge()
    }

    /// Closes the store.
    pub fn close(&self) -> Result<(), Error> {
        self.db.close()
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

/// Writes of a committed write set.
impl Keyspace {
    /// Applies a write set (see [`Tx::commit`](crate::tx::Tx::commit)); the caller holds
    /// its keys' slot locks. Every key written moves its slot's version.
    pub fn apply(&self, ops: &[(Vec<u8>, Option<Entry>)], how: Commit) -> Result<(), Error> {
        let (ks, db) = (self, &self.db);
        if let [(key, e)] = ops {
            match e {
                Some((v, at)) => store(db, key, v, *at)?,
                None => {
                    db.shard_for(key)?.delete(key)?;
                }
            }
            ks.bump(key);
            return Ok(());
        }
        let mut order: Vec<usize> = Vec::new();
        for (k, _) in ops {
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
            for (k, e) in ops.iter().filter(|(k, _)| db.shard_of(k) == s) {
                match e {
                    Some((v, 0)) => batch.put(k, v),
                    Some((v, at)) => batch.put_expiring_at(k, v, time_of(*at)),
                    None => batch.delete(k),
                };
            }
            db.write(batch)?;
        }
        for (k, _) in ops {
            ks.bump(k);
        }
        Ok(())
    }
}
