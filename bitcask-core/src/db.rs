//! The public façade: [`Bitcask`] opens a store and forwards each call to the engine.

use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::background::Background;
use crate::backup::BackupReport;
use crate::batch::WriteBatch;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::files::{join, FileId, LOCK_NAME};
use crate::merge::{MergePlan, MergeProgress, MergeReport};
use crate::options::Options;
use crate::read::{Iter, Keys};
use crate::recovery::{self, Recovered, RecoveryReport};
use crate::stats::Stats;
use crate::storage::{LockGuard, OsStorage, Storage};
use crate::util::{lock, now_ms};

/// A Bitcask store.
///
/// `Bitcask` is `Send + Sync` and every method takes `&self`: share it with `Arc`. Readers run
/// in parallel with the writer; a `get` never waits for a disk write or an fsync.
pub struct Bitcask {
    engine: Arc<Engine>,
    threads: Background,
}

impl std::fmt::Debug for Bitcask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bitcask")
            .field("dir", &self.engine.dir)
            .field("read_only", &self.engine.life.read_only())
            .finish()
    }
}

impl Bitcask {
    /// Opens (creating if missing) the store in directory `path` for reading and writing.
    ///
    /// Fails with [`Error::Locked`] if another writer holds it.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Bitcask> {
        Bitcask::open_with_storage(Arc::new(OsStorage), path, options, false)
    }

    /// Opens an existing store read-only. It works beside a writer (no lock is taken) and
    /// sees the state at open.
    pub fn open_read_only(path: impl AsRef<Path>, options: Options) -> Result<Bitcask> {
        Bitcask::open_with_storage(Arc::new(OsStorage), path, options, true)
    }

    /// Opens a store through another [`Storage`] (for example
    /// the simulated disk of the workspace's test kit).
    pub fn open_with_storage(
        storage: Arc<dyn Storage>,
        path: impl AsRef<Path>,
        options: Options,
        read_only: bool,
    ) -> Result<Bitcask> {
        options.validate()?;
        let dir = path.as_ref().to_path_buf();
        prepare_dir(storage.as_ref(), &dir, read_only)?;
        let lock_guard = if read_only { None } else { Some(take_lock(storage.as_ref(), &dir)?) };
        let rec = recover_retrying(storage.as_ref(), &dir, &options, read_only)?;
        let engine = Engine::new(dir, storage, options, read_only, rec, lock_guard)?;
        let db = Bitcask { engine: Arc::new(engine), threads: Background::default() };
        if !read_only {
            db.threads.start(&db.engine);
        }
        Ok(db)
    }

    /// The directory of the store.
    pub fn path(&self) -> &Path {
        &self.engine.dir
    }

    /// What open found and repaired.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.engine.report
    }

    /// The failure that made this store refuse writes (a failed write or fsync), or `None`
    /// while it takes them. Writes stay refused until the store is reopened.
    pub fn write_error(&self) -> Option<String> {
        self.engine.life.check_not_poisoned().err().map(|e| match e {
            Error::Poisoned { cause, .. } => cause,
            other => other.to_string(),
        })
    }

    /// Stores `value` under `key`.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.engine.write_one(key, Some(value), 0).map(|_| ())
    }

    /// Stores `value` under `key`; the key disappears `ttl` from now.
    pub fn put_with_ttl(&self, key: &[u8], value: &[u8], ttl: Duration) -> Result<()> {
        let expiry =
            now_ms().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)).max(1);
        self.engine.write_one(key, Some(value), expiry).map(|_| ())
    }

    /// Stores `value` under `key`, expiring at the moment `at` (to the millisecond, as
    /// [`WriteBatch::put_expiring_at`]). A moment already past stores a record that reads
    /// as absent: the key is gone, as after a delete.
    pub fn put_expiring_at(&self, key: &[u8], value: &[u8], at: SystemTime) -> Result<()> {
        self.engine.write_one(key, Some(value), crate::util::epoch_ms(at)).map(|_| ())
    }

    /// Deletes `key`; returns whether it was present. Nothing is written when it was not.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        self.engine.check_key(key)?;
        if !self.contains(key)? {
            self.engine.life.check_writable()?;
            return Ok(false);
        }
        let old = self.engine.write_one(key, None, 0)?;
        Ok(old.is_some_and(|l| !l.expired(now_ms())))
    }

    /// Drops `keys` from the keydir without writing anything; returns how many were
    /// present. Their records turn dead (a merge drops them), but an open that finds them
    /// before a merge has dropped them serves them again: this is for a front end that
    /// retires many records with one write of its own (a collection's elements, made
    /// unreachable by one tombstone of its header) and drops again what an open finds.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// use bitcask_core::{Bitcask, Options};
    /// let db = Bitcask::open(dir.path(), Options::default())?;
    /// db.put(b"a", b"1")?;
    /// assert_eq!(db.forget(&[&b"a"[..], b"b"])?, 1);
    /// assert_eq!(db.get(b"a")?, None);
    /// assert_eq!((db.stats().keys, db.stats().live_bytes), (0, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn forget<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<usize> {
        self.engine.forget(keys)
    }

    /// Applies `batch` atomically: all of it or (also after a crash) none of it.
    pub fn write(&self, batch: WriteBatch) -> Result<()> {
        if batch.is_empty() {
            return self.engine.life.check_writable();
        }
        self.engine.write_batch(&batch)
    }

    /// The value of `key`, or `None`. The record's checksum is verified; a mismatch is
    /// [`Error::Corruption`], never wrong bytes.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.engine.get(key)
    }

    /// Calls `f` with the value of `key` without copying it: the slice is borrowed from the
    /// datafile's memory map (or from a read buffer when maps are off). The checksum is
    /// verified first. `None` when the key is absent.
    ///
    /// ```
    /// # let tmp = tempfile::tempdir()?;
    /// # let db = bitcask_core::Bitcask::open(tmp.path(), Default::default())?;
    /// db.put(b"k", b"hello")?;
    /// assert_eq!(db.get_with(b"k", |v| v.len())?, Some(5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_with<R>(&self, key: &[u8], f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>> {
        self.engine.get_with(key, f)
    }

    /// Copies the value of `key` into `buf` and returns its length; `None` when the key is
    /// absent. When the value is longer than `buf`, nothing is copied and the returned length
    /// says how much room it needs.
    pub fn get_into(&self, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>> {
        self.engine.get_with(key, |v| {
            if let Some(dst) = buf.get_mut(..v.len()) {
                dst.copy_from_slice(v);
            }
            v.len()
        })
    }

    /// Calls `f(i, value)` for each of `keys` in order, the value borrowed (`None`: absent),
    /// without allocating. Faster than a loop of [`get_with`](Self::get_with): the keydir
    /// lookups and the record loads of all keys are issued before the first record is
    /// checked, so their memory waits overlap. A damaged record stops it with the error.
    ///
    /// ```
    /// # let tmp = tempfile::tempdir()?;
    /// # let db = bitcask_core::Bitcask::open(tmp.path(), Default::default())?;
    /// db.put(b"a", b"1")?;
    /// db.put(b"c", b"333")?;
    /// let mut lens = Vec::new();
    /// db.get_many_with(&[&b"a"[..], b"b", b"c"], |_, v| lens.push(v.map(<[u8]>::len)))?;
    /// assert_eq!(lens, [Some(1), None, Some(3)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_many_with<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        f: impl FnMut(usize, Option<&[u8]>),
    ) -> Result<()> {
        self.engine.get_many_with(keys, f)
    }

    /// The values of `keys`, in order (`None` for each absent key).
    pub fn get_many<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Option<Vec<u8>>>> {
        let mut out = vec![None; keys.len()];
        self.engine.get_many_with(keys, |i, v| out[i] = v.map(<[u8]>::to_vec))?;
        Ok(out)
    }

    /// The remaining time to live of `key`: `None` when the key is absent, `Some(None)` when
    /// it has no expiry, `Some(Some(d))` when it expires in `d`.
    pub fn ttl(&self, key: &[u8]) -> Result<Option<Option<Duration>>> {
        self.engine.ttl(key)
    }

    /// When `key` expires: `None` when the key is absent, `Some(None)` when it has no
    /// expiry. Unlike [`ttl`](Self::ttl) this does not move with the clock, so a value
    /// rewritten with [`put_expiring_at`](Self::put_expiring_at) keeps its exact deadline.
    pub fn expires_at(&self, key: &[u8]) -> Result<Option<Option<SystemTime>>> {
        self.engine.life.check_open()?;
        let now = now_ms();
        Ok(self.engine.index.keydir.get(key).filter(|l| !l.expired(now)).map(|l| {
            (l.expiry != 0).then(|| std::time::UNIX_EPOCH + Duration::from_millis(l.expiry))
        }))
    }

    /// Sets `key` to `new` (`None`: deletes it) only if its current value is `expected`
    /// (`None`: the key is absent), atomically: no other write can come between the
    /// comparison and the write. Returns whether it swapped. The new value has no expiry.
    ///
    /// ```
    /// # let tmp = tempfile::tempdir()?;
    /// # let db = bitcask_core::Bitcask::open(tmp.path(), Default::default())?;
    /// assert!(db.compare_and_swap(b"k", None, Some(b"1"))?);       // create if absent
    /// assert!(!db.compare_and_swap(b"k", Some(b"0"), Some(b"2"))?); // not the current value
    /// assert!(db.compare_and_swap(b"k", Some(b"1"), None)?);        // delete if still 1
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compare_and_swap(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool> {
        self.engine.compare_and_swap(key, expected, new)
    }

    /// Whether `key` is present (keydir only, no disk read).
    pub fn contains(&self, key: &[u8]) -> Result<bool> {
        self.engine.life.check_open()?;
        Ok(self.engine.index.keydir.get(key).is_some_and(|l| l.expiry == 0 || !l.expired(now_ms())))
    }

    /// Makes every acknowledged write durable (`fdatasync` of the active file). When
    /// every write is durable already (an earlier sync covered it), nothing is synced.
    pub fn sync(&self) -> Result<()> {
        self.engine.life.check_writable()?;
        if !self.engine.log.has_unsynced() {
            return Ok(());
        }
        self.engine.sync_now()
    }

    /// Calls `done` once every write made before this call is durable, or with the error
    /// that made it not ([`Error::NotDurable`] after a failed sync, [`Error::Closed`] when
    /// the store closed first). It never blocks: the sync runs on the store's sync thread,
    /// one `fdatasync` for every caller waiting then and for the writers of
    /// [`SyncPolicy::Always`](crate::SyncPolicy::Always) (one group commit). `done` runs on
    /// that thread, or here when nothing needs syncing. For callers that must not block, an
    /// event loop answering a client only once its write is durable:
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let db = bitcask_core::Bitcask::open(dir.path(), Default::default())?;
    /// db.put(b"k", b"v")?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// db.when_synced(move |r| tx.send(r).unwrap());
    /// rx.recv()??; // an async caller awaits a oneshot channel instead
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn when_synced(&self, done: impl FnOnce(Result<()>) + Send + 'static) {
        let seq = self.engine.log.written();
        if self.engine.life.read_only() || self.engine.log.commit().covers(seq) {
            return done(Ok(()));
        }
        if let Err(e) = self.engine.life.check_open() {
            return done(Err(e));
        }
        self.threads.start_syncer(&self.engine);
        if let Err(done) = self.engine.log.commit().enqueue(seq, Box::new(done)) {
            done(Err(Error::Closed));
        }
    }

    /// Whether a write made before this call is not durable yet.
    pub fn has_unsynced(&self) -> bool {
        !self.engine.life.read_only() && self.engine.log.has_unsynced()
    }

    /// A snapshot of the keys present now, sorted.
    ///
    /// Cost: the whole key set is copied and sorted when this is called (O(n log n) time,
    /// O(n) memory for n keys); the iterator then yields from the copy. Use
    /// [`scan_prefix`](Self::scan_prefix) or [`range`](Self::range) to copy only part.
    pub fn keys(&self) -> Result<Keys> {
        self.engine.life.check_open()?;
        let (items, _) = self.engine.snapshot();
        Ok(Keys { inner: items.into_iter() })
    }

    /// A snapshot of the keys present now that `keep` accepts, sorted. Every key is
    /// visited once (O(n)); only the accepted ones are copied and sorted.
    pub fn keys_where(&self, keep: impl FnMut(&[u8]) -> bool) -> Result<Keys> {
        self.engine.life.check_open()?;
        let (items, _) = self.engine.snapshot_where(keep);
        Ok(Keys { inner: items.into_iter() })
    }

    /// A snapshot of the key/value pairs present now, sorted by key; values are read lazily.
    ///
    /// Cost: as [`keys`](Self::keys), the whole key set is copied and sorted up front (the
    /// values are not: each is read when the iterator reaches it).
    pub fn iter(&self) -> Result<Iter> {
        self.engine.life.check_open()?;
        let (items, files) = self.engine.snapshot();
        Ok(Iter::new(items, files))
    }

    /// Up to about `count` keys from `cursor` on (start with 0), and the cursor to pass
    /// next (0 when every key was visited): a walk over the keydir that holds nothing
    /// between calls and locks one part of the keydir at a time, for at most
    /// `10 * count + 64` entries, so writers never wait long. Every key present from the
    /// first call to the last is returned at least once; a key written or deleted meanwhile
    /// may or may not be; a key may be returned twice only if it was deleted and written
    /// again. Cursors are valid for this open of the store only. Keys come in no order.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let db = bitcask_core::Bitcask::open(dir.path(), Default::default())?;
    /// for i in 0..100 {
    ///     db.put(format!("k{i}").as_bytes(), b"v")?;
    /// }
    /// let (mut cursor, mut seen) = (0, 0);
    /// loop {
    ///     let (keys, next) = db.scan_keys(cursor, 10)?;
    ///     seen += keys.len();
    ///     if next == 0 {
    ///         break;
    ///     }
    ///     cursor = next;
    /// }
    /// assert_eq!(seen, 100);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scan_keys(&self, cursor: u64, count: usize) -> Result<(Vec<Vec<u8>>, u64)> {
        self.engine.life.check_open()?;
        Ok(self.engine.scan_keys(cursor, count.max(1)))
    }

    /// Up to about `count` keys whose expiry has passed (readers see them absent; they
    /// still hold a keydir entry until deleted or merged away) from `cursor` on, and the
    /// next cursor (0: done), with [`scan_keys`](Self::scan_keys)'s bounds; at once done
    /// when no key has an expiry.
    ///
    /// ```
    /// # let tmp = tempfile::tempdir()?;
    /// # let db = bitcask_core::Bitcask::open(tmp.path(), Default::default())?;
    /// let past = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
    /// db.put_expiring_at(b"gone", b"v", past)?;
    /// db.put(b"kept", b"v")?;
    /// let (keys, _) = db.scan_expired(0, 10)?;
    /// assert_eq!(keys, vec![b"gone".to_vec()]);
    /// assert!(db.delete_expired(b"gone")?);
    /// assert!(!db.delete_expired(b"kept")?);
    /// assert_eq!(db.scan_expired(0, 10)?.0.len(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scan_expired(&self, cursor: u64, count: usize) -> Result<(Vec<Vec<u8>>, u64)> {
        self.engine.life.check_open()?;
        Ok(self.engine.scan_expired(cursor, count.max(1)))
    }

    /// Deletes `key` if its expiry has passed, writing a tombstone (frees its keydir entry
    /// now rather than at the next merge); false when it is absent or still lives (a write
    /// since the scan that found it wins).
    pub fn delete_expired(&self, key: &[u8]) -> Result<bool> {
        self.engine.check_key(key)?;
        self.engine.delete_expired(key)
    }

    /// A snapshot iterator over the pairs whose key starts with `prefix`, in key order.
    /// Every key is visited once, but only the matching ones are copied and sorted.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Iter> {
        self.engine.life.check_open()?;
        let (items, files) = self.engine.snapshot_where(|k| k.starts_with(prefix));
        Ok(Iter::new(items, files))
    }

    /// A snapshot iterator over the pairs whose key lies in `range`, in key order (byte-wise
    /// comparison). Only the keys in the range are copied and sorted.
    ///
    /// ```
    /// # let tmp = tempfile::tempdir()?;
    /// # let db = bitcask_core::Bitcask::open(tmp.path(), Default::default())?;
    /// for k in [&b"a"[..], b"b", b"c", b"d"] {
    ///     db.put(k, b"v")?;
    /// }
    /// let keys: Vec<Vec<u8>> = db.range(&b"b"[..]..&b"d"[..])?.map(|kv| kv.map(|(k, _)| k)).collect::<Result<_, _>>()?;
    /// assert_eq!(keys, vec![b"b".to_vec(), b"c".to_vec()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn range<K: AsRef<[u8]>>(&self, range: impl RangeBounds<K>) -> Result<Iter> {
        self.engine.life.check_open()?;
        let within = |k: &[u8]| {
            let above = match range.start_bound() {
                Bound::Included(s) => k >= s.as_ref(),
                Bound::Excluded(s) => k > s.as_ref(),
                Bound::Unbounded => true,
            };
            let below = match range.end_bound() {
                Bound::Included(e) => k <= e.as_ref(),
                Bound::Excluded(e) => k < e.as_ref(),
                Bound::Unbounded => true,
            };
            above && below
        };
        let (items, files) = self.engine.snapshot_where(within);
        Ok(Iter::new(items, files))
    }

    /// Number of live keys. O(1) while no key has a TTL; once some do, expired keys are
    /// left out by counting over the keydir (O(n)).
    pub fn len(&self) -> usize {
        self.engine.len()
    }

    /// Number of live keys that have an expiry (O(n) once some key has one, else O(1)).
    pub fn len_expiring(&self) -> usize {
        self.engine.len_expiring()
    }

    /// True when no key is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes a consistent, openable copy of the store into the directory `dest` (which
    /// must not exist) while reads and writes go on: the copy holds exactly the store's
    /// state at one moment of the call (a prefix of the history). Sealed files are
    /// hard-linked where the file system allows it, the active file is copied. Merges wait
    /// until it is done. An interrupted backup leaves only a `*.backup-tmp` directory beside
    /// `dest` (removed by the next backup to `dest`) and never touches the store.
    pub fn backup_to(&self, dest: impl AsRef<Path>) -> Result<BackupReport> {
        self.engine.backup_to(dest.as_ref())
    }

    /// Statistics: keys, and live/dead bytes and counts of every datafile.
    pub fn stats(&self) -> Stats {
        self.engine.stats()
    }

    /// Merges every sealed datafile (the active one is sealed first if it holds records)
    /// into new files holding only live data, then deletes the inputs.
    pub fn merge(&self) -> Result<MergeReport> {
        crate::merge::merge_all(&self.engine, &mut |_| {})
    }

    /// [`merge`](Self::merge), calling `progress` as input bytes are processed.
    pub fn merge_with_progress(
        &self,
        mut progress: impl FnMut(MergeProgress),
    ) -> Result<MergeReport> {
        crate::merge::merge_all(&self.engine, &mut progress)
    }

    /// Merges only the sealed files among `files` (each extended to its whole generation).
    pub fn merge_files(&self, files: &[FileId]) -> Result<MergeReport> {
        crate::merge::merge_files(&self.engine, files, &mut |_| {})
    }

    /// Which files the merge triggers in [`MergeOptions`](crate::MergeOptions) select now.
    pub fn needs_merge(&self) -> MergePlan {
        crate::merge_plan::plan(&self.engine)
    }

    /// Merges the files the triggers select, if any.
    pub fn merge_if_needed(&self) -> Result<Option<MergeReport>> {
        crate::merge::merge_needed(&self.engine, &mut |_| {})
    }

    /// Syncs the active file, writes its hint, stops the background threads and releases
    /// the lock. Afterwards every call on this handle (and its clones behind an `Arc`)
    /// returns [`Error::Closed`]; closing again returns `Ok`.
    ///
    /// `Ok` means everything acknowledged is durable. After a failed write or sync the
    /// store is poisoned and close returns [`Error::Poisoned`]: what was acknowledged since
    /// the last successful sync may not be durable, and reopening recovers a prefix of it.
    ///
    /// Dropping the last handle closes the store too, but a drop cannot report an error:
    /// call `close` to learn whether it succeeded.
    pub fn close(&self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&self) -> Result<()> {
        if !self.engine.life.begin_close() {
            return Ok(());
        }
        self.threads.stop(&self.engine);
        let _merge = lock(&self.engine.merge_lock);
        // A poisoned store cannot promise that what it acknowledged is durable (a write or
        // an fsync failed), so close says so instead of Ok, and writes nothing more.
        let result = self.engine.log.close(&self.engine.life).map(|last| {
            // The hint is a cache: everything is durable already. A hint that cannot be
            // built (a record damaged at rest, which a get reports) or written leaves the
            // older hint, which still describes a prefix of the file.
            if let Some(active) = last {
                let _ = self.engine.write_hint(&active);
            }
        });
        lock(&self.engine.lock_guard).take();
        result
    }
}

impl Drop for Bitcask {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Creates the store directory if it is missing (never for a read-only open).
pub(crate) fn prepare_dir(storage: &dyn Storage, dir: &Path, read_only: bool) -> Result<()> {
    match storage.is_dir(dir) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::NotADirectory { path: dir.to_path_buf() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if read_only {
                return Err(Error::NotFound { path: dir.to_path_buf() });
            }
            storage.create_dir_all(dir).map_err(|e| Error::io("creating directory", dir, e))?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                let _ = storage.sync_dir(parent);
            }
            Ok(())
        }
        Err(e) => Err(Error::io("inspecting", dir, e)),
    }
}

/// The writer's lock on the store, or [`Error::Locked`].
fn take_lock(storage: &dyn Storage, dir: &Path) -> Result<LockGuard> {
    let lock_path = join(dir, LOCK_NAME);
    match storage.try_lock(&lock_path).map_err(|e| Error::io("locking", &lock_path, e))? {
        Some(g) => Ok(g),
        None => Err(Error::Locked { path: dir.to_path_buf() }),
    }
}

/// Recovers the store. A read-only open may race a merge that removes files: it starts
/// again (up to five times) if a file vanished.
fn recover_retrying(
    storage: &dyn Storage,
    dir: &Path,
    options: &Options,
    read_only: bool,
) -> Result<Recovered> {
    let mut attempt = 0;
    loop {
        match recovery::recover(storage, dir, options, read_only) {
            Err(Error::Io { source, .. })
                if read_only && source.kind() == std::io::ErrorKind::NotFound && attempt < 5 =>
            {
                attempt += 1;
            }
            other => return other,
        }
    }
}
