//! `Store`: one handle for a store of either layout, so every front end (the CLI, the C
//! ABI) works on a plain store and on a sharded one (a server's) alike. A plain store is a
//! store of one shard; a call on a sharded store goes to the shard of its key, and a scan
//! merges the shards' sorted snapshots into one key order.

use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::backup::BackupReport;
use crate::batch::WriteBatch;
use crate::db::Bitcask;
use crate::durable_file::{write_file, DirSync};
use crate::error::{Error, Result};
use crate::merge::{MergeProgress, MergeReport};
use crate::options::Options;
use crate::read::{Iter, Keys};
use crate::recovery_report::RecoveryReport;
use crate::sharded::{shard_dir_name, ShardedBitcask, SHARDS_NAME};
use crate::stats::Stats;
use crate::storage::{OsStorage, Storage};

/// A store of either layout: a plain store directory, or a sharded one (`SHARDS` and
/// `shard-NNNN/`, as `bitcask-server` writes).
///
/// ```
/// use bitcask_core::{Options, ShardedBitcask, Store};
/// # let dir = tempfile::tempdir()?;
/// // A server's store: four shards.
/// ShardedBitcask::open(dir.path(), Options::default(), Some(4))?.close()?;
/// let store = Store::open(dir.path(), Options::default())?;
/// assert_eq!(store.shard_count(), 4);
/// store.put(b"k", b"v")?;
/// assert_eq!(store.get(b"k")?, Some(b"v".to_vec()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub enum Store {
    /// A plain store directory.
    Plain(Bitcask),
    /// A sharded store directory.
    Sharded(ShardedBitcask),
}

impl Store {
    /// Opens (creating a plain store if the directory holds none) the store in `path`,
    /// whatever its layout.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Store> {
        Store::open_with_storage(Arc::new(OsStorage), path, options, None, false)
    }

    /// Opens an existing store read-only, whatever its layout.
    pub fn open_read_only(path: impl AsRef<Path>, options: Options) -> Result<Store> {
        Store::open_with_storage(Arc::new(OsStorage), path, options, None, true)
    }

    /// Opens through another storage. With `shards` the store is sharded (created with
    /// that many shards if missing; an existing one must have as many); without, the layout
    /// found is opened (a new store is plain).
    pub fn open_with_storage(
        storage: Arc<dyn Storage>,
        path: impl AsRef<Path>,
        options: Options,
        shards: Option<u32>,
        read_only: bool,
    ) -> Result<Store> {
        let dir = path.as_ref();
        let names = storage.list(dir).unwrap_or_default();
        if shards.is_some() || names.iter().any(|n| n == SHARDS_NAME) {
            let s = ShardedBitcask::open_with_storage(storage, dir, options, shards, read_only)?;
            return Ok(Store::Sharded(s));
        }
        Bitcask::open_with_storage(storage, dir, options, read_only).map(Store::Plain)
    }

    /// The number of shards (1 for a plain store).
    pub fn shard_count(&self) -> usize {
        match self {
            Store::Plain(_) => 1,
            Store::Sharded(s) => s.shard_count(),
        }
    }

    /// The open shards with their directory names (`.` for a plain store).
    pub fn shards(&self) -> Vec<(String, &Bitcask)> {
        match self {
            Store::Plain(db) => vec![(".".to_owned(), db)],
            Store::Sharded(s) => (0..s.shard_count())
                .filter_map(|i| Some((shard_dir_name(i), s.shard(i)?)))
                .collect(),
        }
    }

    /// The index of the shard that holds `key` (0 in a plain store). A batch must keep to
    /// one shard.
    pub fn shard_of(&self, key: &[u8]) -> usize {
        match self {
            Store::Plain(_) => 0,
            Store::Sharded(s) => s.shard_of(key),
        }
    }

    /// The shard that holds `key`.
    fn of(&self, key: &[u8]) -> Result<&Bitcask> {
        match self {
            Store::Plain(db) => Ok(db),
            Store::Sharded(s) => s.shard_for(key),
        }
    }

    /// Every open shard's result, in shard order.
    fn each<T>(&self, mut f: impl FnMut(&Bitcask) -> Result<T>) -> Result<Vec<T>> {
        self.shards().into_iter().map(|(_, db)| f(db)).collect::<Result<Vec<T>>>()
    }

    /// What opening each shard found, with the shard's directory name.
    pub fn recovery_reports(&self) -> Vec<(String, &RecoveryReport)> {
        self.shards().into_iter().map(|(n, db)| (n, db.recovery_report())).collect()
    }

    /// Stores `value` under `key`.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.of(key)?.put(key, value)
    }

    /// Stores `value` under `key` for `ttl`.
    pub fn put_with_ttl(&self, key: &[u8], value: &[u8], ttl: Duration) -> Result<()> {
        self.of(key)?.put_with_ttl(key, value, ttl)
    }

    /// Stores `value` under `key` until `at`.
    pub fn put_expiring_at(&self, key: &[u8], value: &[u8], at: SystemTime) -> Result<()> {
        self.of(key)?.put_expiring_at(key, value, at)
    }

    /// Deletes `key`; whether it was present.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        self.of(key)?.delete(key)
    }

    /// Writes a batch atomically (on a sharded store its keys must share a shard).
    pub fn write(&self, batch: WriteBatch) -> Result<()> {
        match self {
            Store::Plain(db) => db.write(batch),
            Store::Sharded(s) => s.write(batch),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.of(key)?.get(key)
    }

    /// Calls `f` with the value of `key`, borrowed when it can be.
    pub fn get_with<R>(&self, key: &[u8], f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>> {
        self.of(key)?.get_with(key, f)
    }

    /// Copies the value of `key` into `buf` (see [`Bitcask::get_into`]).
    pub fn get_into(&self, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>> {
        self.of(key)?.get_into(key, buf)
    }

    /// The values of `keys`, in order.
    pub fn get_many<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Option<Vec<u8>>>> {
        let mut out = vec![None; keys.len()];
        self.get_many_with(keys, |i, v| out[i] = v.map(<[u8]>::to_vec))?;
        Ok(out)
    }

    /// Calls `f(i, value)` for each of `keys` (see [`Bitcask::get_many_with`]).
    pub fn get_many_with<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        f: impl FnMut(usize, Option<&[u8]>),
    ) -> Result<()> {
        match self {
            Store::Plain(db) => db.get_many_with(keys, f),
            Store::Sharded(s) => s.get_many_with(keys, f),
        }
    }

    /// The remaining time to live of `key` (see [`Bitcask::ttl`]).
    pub fn ttl(&self, key: &[u8]) -> Result<Option<Option<Duration>>> {
        self.of(key)?.ttl(key)
    }

    /// When `key` expires (see [`Bitcask::expires_at`]).
    pub fn expires_at(&self, key: &[u8]) -> Result<Option<Option<SystemTime>>> {
        self.of(key)?.expires_at(key)
    }

    /// Sets `key` to `new` if it holds `expected` (see [`Bitcask::compare_and_swap`]).
    pub fn compare_and_swap(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool> {
        self.of(key)?.compare_and_swap(key, expected, new)
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &[u8]) -> Result<bool> {
        self.of(key)?.contains(key)
    }

    /// Makes every acknowledged write of every shard durable.
    pub fn sync(&self) -> Result<()> {
        match self {
            Store::Plain(db) => db.sync(),
            Store::Sharded(s) => s.sync(),
        }
    }

    /// Calls `done` once every write made before this call is durable, without blocking
    /// ([`Bitcask::when_synced`], [`ShardedBitcask::when_synced`]).
    pub fn when_synced(&self, done: impl FnOnce(Result<()>) + Send + 'static) {
        match self {
            Store::Plain(db) => db.when_synced(done),
            Store::Sharded(s) => s.when_synced(done),
        }
    }

    /// Number of live keys.
    pub fn len(&self) -> usize {
        self.shards().iter().map(|(_, db)| db.len()).sum()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of every key, sorted.
    pub fn keys(&self) -> Result<Keys> {
        Ok(Keys::merge(self.each(Bitcask::keys)?))
    }

    /// A snapshot of every pair, sorted by key; values read lazily.
    pub fn iter(&self) -> Result<Iter> {
        Ok(Iter::merge(self.each(Bitcask::iter)?))
    }

    /// The pairs whose key starts with `prefix`, sorted by key.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Iter> {
        Ok(Iter::merge(self.each(|db| db.scan_prefix(prefix))?))
    }

    /// The pairs whose key lies in `range`, sorted by key.
    pub fn range<K: AsRef<[u8]>>(&self, range: impl RangeBounds<K>) -> Result<Iter> {
        let own = |b: Bound<&K>| b.map(|k| k.as_ref().to_vec());
        let bounds = (own(range.start_bound()), own(range.end_bound()));
        Ok(Iter::merge(self.each(|db| db.range(bounds.clone()))?))
    }

    /// Statistics of the whole store (every shard's summed, every file listed).
    pub fn stats(&self) -> Stats {
        Stats::combine(self.shard_stats())
    }

    /// Statistics of each shard, in shard order.
    pub fn shard_stats(&self) -> Vec<Stats> {
        self.shards().into_iter().map(|(_, db)| db.stats()).collect()
    }

    /// Merges every shard, one after another; the reports summed.
    pub fn merge(&self) -> Result<MergeReport> {
        self.merge_with_progress(|_| {})
    }

    /// [`merge`](Self::merge), calling `progress` as each shard's merge goes.
    pub fn merge_with_progress(
        &self,
        mut progress: impl FnMut(MergeProgress),
    ) -> Result<MergeReport> {
        Ok(MergeReport::combine(self.each(|db| db.merge_with_progress(&mut progress))?))
    }

    /// Writes a consistent copy of each shard into `dest` (which must not exist), in the
    /// same layout; a sharded copy gets its `SHARDS` file last, once every shard is there.
    /// Each shard is copied as of its own moment (as [`Bitcask::backup_to`]).
    pub fn backup_to(&self, dest: impl AsRef<Path>) -> Result<BackupReport> {
        let dest = dest.as_ref();
        let s = match self {
            Store::Plain(db) => return db.backup_to(dest),
            Store::Sharded(s) => s,
        };
        if dest.exists() {
            return Err(Error::AlreadyExists { path: dest.to_path_buf() });
        }
        let mut total = BackupReport::default();
        for (name, db) in self.shards() {
            let r = db.backup_to(dest.join(&name))?;
            total.files_linked += r.files_linked;
            total.files_copied += r.files_copied;
            total.bytes_copied += r.bytes_copied;
        }
        copy_layout(s.path(), dest)?;
        Ok(total)
    }

    /// Syncs and closes every shard (see [`Bitcask::close`]).
    pub fn close(&self) -> Result<()> {
        match self {
            Store::Plain(db) => db.close(),
            Store::Sharded(s) => s.close(),
        }
    }
}

/// Copies the `SHARDS` layout file of `from` into `to`, durably.
fn copy_layout(from: &Path, to: &Path) -> Result<()> {
    let src = from.join(SHARDS_NAME);
    let bytes = std::fs::read(&src).map_err(|e| Error::io("reading", &src, e))?;
    write_file(&OsStorage, to, SHARDS_NAME, &bytes, DirSync::Yes).map(|_| ())
}
