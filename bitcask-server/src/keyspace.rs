//! The keyspace: the sharded store, a lock per slot that makes every write (and each
//! read-modify-write) atomic against the others, and a version per slot for WATCH. The
//! store is reachable only through it: every write moves its slot's version (commands write
//! through [`Tx`](crate::tx::Tx)); reads and administration go through the methods below.

use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering::*};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcask_collections::header_key;
use bitcask_core::sharded::{key_slot, routing_slot, NAMESPACED, SLOTS};
use bitcask_core::{Bitcask, Error, ShardedBitcask, WriteBatch};

use crate::colls::{is_element, Colls};
use crate::keycode::{decode, Decoded};
use crate::store_meta::{
    load_map, meta_records, save_map, upgrade, DbMap, UpgradeError, MAX_DATABASES,
};

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
    /// Whether a namespaced user key (another database, the empty key, ...) may exist
    /// ([`CODED_UNKNOWN`] until the first count walks the keydir, so opening walks nothing):
    /// while none does, database 0 holds every key and counting keys costs nothing.
    coded: AtomicU8,
    /// The server's own records (shard markers, the database map, the function
    /// libraries): each counts as a key of the store.
    markers: AtomicUsize,
    /// Database `i` is stored as physical database `map[i]` (SWAPDB swaps two).
    map: [AtomicU8; MAX_DATABASES],
    /// The collections' indexes.
    pub colls: Colls,
}

/// `Keyspace::coded`: not known yet, no namespaced user key, some.
const CODED_UNKNOWN: u8 = 0;
const CODED_NONE: u8 = 1;
const CODED_SOME: u8 = 2;

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
    /// Wraps an open store, bringing its shards to the current key naming first
    /// ([`upgrade`]); also returns how many keys that renamed.
    pub fn open(db: ShardedBitcask) -> Result<(Keyspace, usize), UpgradeError> {
        let renamed = upgrade(&db)?;
        let map = load_map(&db)?;
        let locks = (0..SLOTS).map(|_| Mutex::new(())).collect();
        let versions = (0..SLOTS).map(|_| AtomicU64::new(0)).collect();
        let markers = meta_records(&db);
        let (colls, unreadable) = Colls::open(&db)?;
        for u in unreadable {
            eprintln!("bitcask-server: left as found, unreadable by this build: {u}");
        }
        let ks = Keyspace {
            db,
            locks,
            versions,
            dirty: AtomicU64::new(0),
            coded: AtomicU8::new(CODED_UNKNOWN),
            markers: AtomicUsize::new(markers),
            map: map.map(AtomicU8::new),
            colls,
        };
        Ok((ks, renamed))
    }

    /// The function libraries recorded in the store (a FUNCTION DUMP payload).
    pub fn load_functions(&self) -> Result<Option<Vec<u8>>, Error> {
        crate::store_meta::load_functions(&self.db)
    }

    /// Records the function libraries (FUNCTION LOAD, DELETE, FLUSH, RESTORE).
    pub fn save_functions(&self, payload: &[u8]) -> Result<(), Error> {
        if crate::store_meta::save_functions(&self.db, payload)? {
            self.markers.fetch_add(1, Relaxed);
        }
        Ok(())
    }

    /// The database database `db` is stored as.
    #[inline]
    pub fn physical(&self, db: u8) -> u8 {
        self.map.get(usize::from(db)).map_or(db, |p| p.load(Relaxed))
    }

    /// The database stored as physical database `p`.
    fn logical(&self, p: u8) -> u8 {
        (0..=255u8).find(|&db| self.physical(db) == p).unwrap_or(p)
    }

    /// Swaps databases `a` and `b` (SWAPDB; the caller holds every slot lock): one write of
    /// the database map, and every WATCH sees a change.
    pub fn swap_dbs(&self, a: u8, b: u8) -> Result<(), Error> {
        let mut map: DbMap = std::array::from_fn(|i| self.physical(i as u8));
        map.swap(usize::from(a), usize::from(b));
        save_map(&self.db, &map)?;
        for (slot, p) in self.map.iter().zip(map) {
            slot.store(p, Relaxed);
        }
        for v in self.versions.iter() {
            v.fetch_add(1, AcqRel);
        }
        Ok(())
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

    /// The lock of `slot` if no one holds it (a script reaching a key it did not declare).
    pub fn try_lock_slot(&self, slot: u16) -> Option<MutexGuard<'_, ()>> {
        match self.locks.get(usize::from(slot))?.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
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

    /// Counts a committed write of stored key `key`: its slot's version moves.
    #[inline]
    fn bump(&self, key: &[u8]) {
        if let Some(v) = self.versions.get(usize::from(routing_slot(key))) {
            v.fetch_add(1, AcqRel);
        }
        self.dirty.fetch_add(1, Relaxed);
    }

    /// Notes a write of stored key `key` before it is made: a namespaced key makes counting
    /// keys walk the keydir from now on.
    #[inline]
    fn see(&self, key: &[u8]) {
        if key.first() == Some(&NAMESPACED) && self.coded.load(Relaxed) != CODED_SOME {
            self.coded.store(CODED_SOME, Relaxed);
        }
    }

    /// Stores `value` under stored key `key` with expiry `at` (ms since the epoch, 0:
    /// none); the caller holds the key's slot lock.
    pub fn put(&self, key: &[u8], value: &[u8], at: u64) -> Result<(), Error> {
        self.see(key);
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

    /// Calls `f(i, value)` for each of `keys` (`None`: absent), the reads issued together.
    pub fn get_many_with<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        f: impl FnMut(usize, Option<&[u8]>),
    ) -> Result<(), Error> {
        self.db.get_many_with(keys, f)
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
    /// Every namespaced key of the open shards (user keys of other databases, the empty
    /// key, the markers): a walk over the keydir that keeps only those.
    fn coded_keys(&self) -> Result<Vec<Vec<u8>>, Error> {
        let mut all = Vec::new();
        for shard in self.db.shards() {
            all.extend(shard.keys_where(|k| k.first() == Some(&NAMESPACED))?);
        }
        Ok(all)
    }

    /// The number of live keys of each database that has some, in database order, with
    /// how many of them expire. O(1) while every key is a plain key of database 0 and none
    /// expires; else a walk over the keydir.
    pub fn key_counts(&self) -> Result<Vec<(u8, usize, usize)>, Error> {
        let (all, expiring) =
            (self.db.len().saturating_sub(self.markers.load(Relaxed)), self.db.len_expiring());
        if self.coded.load(Relaxed) == CODED_NONE {
            let db0 = self.logical(0);
            return Ok(if all == 0 { Vec::new() } else { vec![(db0, all, expiring)] });
        }
        let mut dbs = [(0usize, 0usize); 256];
        let coded = self.coded_keys()?;
        if !coded.iter().any(|k| decode(k).and_then(Decoded::user).is_some()) {
            // Only the server's own records: the next counts cost nothing (unless a write of
            // a namespaced key came meanwhile, which this leaves as it found it).
            let _ = self.coded.compare_exchange(CODED_UNKNOWN, CODED_NONE, Relaxed, Relaxed);
        }
        // A collection's elements are records, not keys.
        let elements = coded.iter().filter(|k| is_element(k)).count();
        let all = all.saturating_sub(elements);
        for k in coded {
            if let Some((db, _)) = decode(&k).and_then(Decoded::user) {
                let ttl = usize::from(matches!(self.expiry(&k)?, Some(at) if at > 0));
                if let Some(c) = dbs.get_mut(usize::from(db)) {
                    *c = (c.0 + 1, c.1 + ttl);
                }
            }
        }
        let others: (usize, usize) = dbs.iter().skip(1).fold((0, 0), |a, c| (a.0 + c.0, a.1 + c.1));
        if let Some(d0) = dbs.first_mut() {
            // Database 0's plain keys are all the others.
            *d0 = (all.saturating_sub(others.0), expiring.saturating_sub(others.1));
        }
        let mut counts: Vec<(u8, usize, usize)> = (0..=255u8)
            .zip(dbs)
            .filter(|(_, (n, _))| *n > 0)
            .map(|(p, (n, e))| (self.logical(p), n, e))
            .collect();
        counts.sort_unstable();
        Ok(counts)
    }

    /// The number of live keys of database `db` (see [`Keyspace::key_counts`]).
    pub fn dbsize(&self, db: u8) -> Result<usize, Error> {
        Ok(self.key_counts()?.iter().find(|c| c.0 == db).map_or(0, |c| c.1))
    }

    /// Up to about `count` stored keys from `cursor` on that are user keys (of database `db`,
    /// or of any), and the next cursor (0: done).
    pub fn scan_stored(
        &self,
        db: Option<u8>,
        cursor: u64,
        count: usize,
    ) -> Result<(Vec<Vec<u8>>, u64), Error> {
        let (mut keys, next) = self.db.scan_keys(cursor, count)?;
        let db = db.map(|db| self.physical(db));
        keys.retain(|k| match decode(k).and_then(Decoded::user) {
            Some((d, _)) => db.is_none_or(|db| db == d),
            None => false,
        });
        Ok((keys, next))
    }

    /// Up to about `count` keys of database `db` from `cursor` on, and the next cursor (0:
    /// done).
    pub fn scan_keys(
        &self,
        db: u8,
        cursor: u64,
        count: usize,
    ) -> Result<(Vec<Vec<u8>>, u64), Error> {
        let (keys, next) = self.scan_stored(Some(db), cursor, count)?;
        Ok((keys.into_iter().map(user_key).collect(), next))
    }

    /// Deletes keys whose expiry has passed, among about `count` keydir entries from
    /// `cursor` on (each under its slot's lock, so a write racing the sweep wins): the
    /// (database, key) of each deleted, and the next cursor (0: the walk is done).
    pub fn reap_expired(&self, cursor: u64, count: usize) -> Result<(Reaped, u64), Error> {
        let (stored, next) = self.db.scan_expired(cursor, count)?;
        let mut gone = Vec::new();
        for k in stored {
            let Some(d) = decode(&k) else { continue };
            let Some((db, key)) = d.user() else { continue };
            let _lock = self.lock(&[key], &[]);
            if self.db.delete_expired(&k)? {
                if matches!(d, Decoded::Collection { .. }) {
                    self.drop_expired_collection(db, key)?;
                }
                // A WATCH of the key while it lived sees the change (as Redis's).
                self.bump(&k);
                gone.push((self.logical(db), key.to_vec()));
            }
        }
        Ok((gone, next))
    }

    /// Deletes `key` of database `db` if its expiry has passed, and no WATCH sees it (a key
    /// already expired when watched is unchanged by its deletion); whether it did.
    pub fn reap_key(&self, db: u8, key: &[u8]) -> Result<bool, Error> {
        let p = self.physical(db);
        let k = crate::keycode::stored(p, key);
        let _lock = self.lock(&[key], &[]);
        if self.db.delete_expired(&k)? {
            return Ok(true);
        }
        if !self.colls.any() || !self.db.delete_expired(&header_key(p, key))? {
            return Ok(false);
        }
        self.drop_expired_collection(p, key)?;
        Ok(true)
    }

    /// Drops the index of collection `key` of physical database `db` (its header expired
    /// and was deleted; the caller holds its slot lock) and forgets its elements.
    fn drop_expired_collection(&self, db: u8, key: &[u8]) -> Result<(), Error> {
        let gone = self.colls.slot(key).remove(crate::colls::name(db, key).as_slice());
        if let Some(c) = gone {
            self.colls.counted(-1);
            let elements = c.element_keys(db, key);
            self.forget(&elements)?;
        }
        Ok(())
    }

    /// Reads the indexes of collections (physical database, key) back from the store (a
    /// commit that failed left them ahead of it).
    pub fn reload_collections(&self, keys: &[(u8, Vec<u8>)]) -> Result<(), Error> {
        let mut shards: Vec<usize> =
            keys.iter().map(|(_, k)| self.db.shard_of_slot(key_slot(k))).collect();
        shards.sort_unstable();
        shards.dedup();
        for (db, key) in keys {
            if self.colls.slot(key).remove(crate::colls::name(*db, key).as_slice()).is_some() {
                self.colls.counted(-1);
            }
        }
        for s in shards {
            let Some(shard) = self.db.shard(s) else { continue };
            for l in bitcask_collections::rebuild(shard)?.collections {
                if keys.iter().any(|(d, k)| *d == l.db && *k == l.key) {
                    let n = crate::colls::name(l.db, &l.key);
                    if self.colls.slot(&l.key).insert(n.as_slice().into(), l.collection).is_none() {
                        self.colls.counted(1);
                    }
                }
            }
        }
        Ok(())
    }

    /// Forgets stored keys (a collection's elements) without writing them, shard by shard.
    pub fn forget(&self, keys: &[Vec<u8>]) -> Result<(), Error> {
        if let Some(first) = keys.first() {
            let s = self.db.shard_of(first);
            if keys.iter().all(|k| self.db.shard_of(k) == s) {
                self.db.forget(keys)?;
                return Ok(());
            }
            for s in 0..self.db.shard_count() {
                let mine: Vec<&Vec<u8>> =
                    keys.iter().filter(|k| self.db.shard_of(k) == s).collect();
                self.db.forget(&mine)?;
            }
        }
        Ok(())
    }

    /// Up to `limit` keys of database 0 in `slot` held here.
    pub fn keys_in_slot(&self, slot: u16, limit: usize) -> Result<Vec<Vec<u8>>, Error> {
        let Some(shard) = self.db.shard(self.db.shard_of_slot(slot)) else { return Ok(Vec::new()) };
        let mut n = 0;
        let keys = shard.keys_where(|k| {
            let mine = matches!(decode(k).and_then(Decoded::user), Some((db, _)) if db == self.physical(0));
            let take = n < limit && mine && routing_slot(k) == slot;
            n += usize::from(take);
            take
        })?;
        Ok(keys.map(user_key).collect())
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
    /// Deletes every user key of database `db`, or of every database (FLUSHDB, FLUSHALL; the
    /// caller holds every slot lock): one batch of up to 10,000 deletes at a time, per
    /// shard. Returns how many keys it deleted.
    pub fn flush(&self, db: Option<u8>) -> Result<usize, Error> {
        let db = db.map(|db| self.physical(db));
        let mut n = 0;
        for shard in self.db.shards() {
            let keys: Vec<Vec<u8>> = shard
                .keys_where(|k| match decode(k).and_then(Decoded::user) {
                    Some((d, _)) => db.is_none_or(|db| db == d),
                    None => false,
                })?
                .collect();
            for chunk in keys.chunks(10_000) {
                let mut batch = WriteBatch::new();
                for k in chunk {
                    batch.delete(k);
                }
                shard.write(batch)?;
                n += chunk.len();
            }
        }
        // The headers are deleted: their elements are orphans.
        self.forget(&self.colls.clear(db))?;
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
        for (k, _) in ops {
            ks.see(k);
        }
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

/// Keys the expiry sweep deleted: (database, key).
pub type Reaped = Vec<(u8, Vec<u8>)>;

/// The user key of a stored key of a database (a stored key that is none as it is).
fn user_key(stored: Vec<u8>) -> Vec<u8> {
    if stored.first() != Some(&NAMESPACED) {
        return stored;
    }
    match decode(&stored).and_then(Decoded::user) {
        Some((_, key)) => key.to_vec(),
        None => stored,
    }
}
