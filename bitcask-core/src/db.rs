//! The store: open, writes, reads, sync, iteration, close.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bitcask_format::{
    batch_frame_len, encode_batch, FileHeader, FileKind, Record, FILE_HEADER_LEN,
};

use crate::batch::{BatchOp, WriteBatch};
use crate::error::{Error, Result};
use crate::files::{data_name, join, DataFile, FileId, FileStats, FileTable, LOCK_NAME};
use crate::keydir::{Keydir, Loc};
use crate::merge::{MergePlan, MergeProgress, MergeReport};
use crate::options::{Options, SyncPolicy, MAX_FILE_SIZE};

/// The longest single write (a batch frame): one that fits in a fresh datafile.
const MAX_WRITE_LEN: u64 = MAX_FILE_SIZE - FILE_HEADER_LEN as u64;
use crate::recovery::{self, RecoveryReport};
use crate::storage::{LockGuard, OpenMode, OsStorage, Storage};
use crate::util::now_ms;

type Snapshot = Vec<(Box<[u8]>, Loc)>;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) struct Writer {
    pub active: Arc<DataFile>,
    buf: Vec<u8>,
    pub next_gen: u64,
}

#[derive(Default)]
struct SyncState {
    synced: u64,
    in_progress: bool,
}

pub(crate) struct Inner {
    pub dir: PathBuf,
    pub storage: Arc<dyn Storage>,
    pub opts: Options,
    pub read_only: bool,
    pub keydir: Keydir,
    pub files: RwLock<Arc<FileTable>>,
    pub writer: Mutex<Option<Writer>>,
    written: AtomicU64,
    next_num: std::sync::atomic::AtomicU32,
    sync_state: Mutex<SyncState>,
    sync_cv: Condvar,
    poisoned: AtomicBool,
    poison_cause: Mutex<Option<String>>,
    closed: AtomicBool,
    pub ttl_keys: AtomicU64,
    pub merge_lock: Mutex<()>,
    pub last_merge: Mutex<Option<Instant>>,
    lock_guard: Mutex<Option<LockGuard>>,
    report: RecoveryReport,
    stop: Mutex<bool>,
    stop_cv: Condvar,
}

/// A Bitcask store.
///
/// `Bitcask` is `Send + Sync` and every method takes `&self`: share it with `Arc`. Readers run
/// in parallel with the writer; a `get` never waits for a disk write or an fsync.
pub struct Bitcask {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Bitcask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bitcask")
            .field("dir", &self.inner.dir)
            .field("read_only", &self.inner.read_only)
            .finish()
    }
}

/// Store-wide statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Live (unexpired) keys.
    pub keys: u64,
    /// Per-datafile statistics, oldest first.
    pub files: Vec<FileStats>,
    /// Sum of the files' live bytes.
    pub live_bytes: u64,
    /// Sum of the files' dead bytes.
    pub dead_bytes: u64,
    /// Sum of the files' sizes.
    pub disk_bytes: u64,
    /// Heap memory held by the keydir (allocated capacity, keys included).
    pub keydir_bytes: u64,
}

impl Stats {
    /// Dead bytes as a fraction of all record bytes.
    pub fn fragmentation(&self) -> f64 {
        crate::files::dead_fraction(self.live_bytes, self.dead_bytes)
    }
}

/// A snapshot of the key set, sorted by key.
#[derive(Debug)]
pub struct Keys {
    inner: std::vec::IntoIter<(Box<[u8]>, Loc)>,
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
    items: std::vec::IntoIter<(Box<[u8]>, Loc)>,
    files: Arc<FileTable>,
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
        let expiry = self.iter.items.as_slice().first().map(|(_, l)| l.expiry)?;
        let expires_at =
            (expiry != 0).then(|| std::time::UNIX_EPOCH + Duration::from_millis(expiry));
        Some(self.iter.next()?.map(|(key, value)| Entry { key, value, expires_at }))
    }
}

impl Iterator for Iter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;
    fn next(&mut self) -> Option<Self::Item> {
        let (key, loc) = self.items.next()?;
        let Some(file) = self.files.get(&loc.file) else {
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
    /// the simulated disk of the `testing` feature).
    pub fn open_with_storage(
        storage: Arc<dyn Storage>,
        path: impl AsRef<Path>,
        options: Options,
        read_only: bool,
    ) -> Result<Bitcask> {
        options.validate()?;
        let dir = path.as_ref().to_path_buf();
        match storage.is_dir(&dir) {
            Ok(true) => {}
            Ok(false) => return Err(Error::NotADirectory { path: dir }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if read_only {
                    return Err(Error::NotFound { path: dir });
                }
                storage
                    .create_dir_all(&dir)
                    .map_err(|e| Error::io("creating directory", &dir, e))?;
                if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                    let _ = storage.sync_dir(parent);
                }
            }
            Err(e) => return Err(Error::io("inspecting", &dir, e)),
        }
        let lock_guard = if read_only {
            None
        } else {
            let lock_path = join(&dir, LOCK_NAME);
            match storage.try_lock(&lock_path).map_err(|e| Error::io("locking", &lock_path, e))? {
                Some(g) => Some(g),
                None => return Err(Error::Locked { path: dir }),
            }
        };

        // A read-only open may race a merge that removes files: start again if a file vanished.
        let mut attempt = 0;
        let rec = loop {
            match recovery::recover(storage.as_ref(), &dir, &options, read_only) {
                Err(Error::Io { source, .. })
                    if read_only
                        && source.kind() == std::io::ErrorKind::NotFound
                        && attempt < 5 =>
                {
                    attempt += 1;
                }
                other => break other?,
            }
        };
        let mut files = rec.files;
        let writer = if read_only {
            None
        } else {
            let (active, next_gen) = match rec.reusable {
                Some(df) => (df, rec.next_gen),
                None => {
                    let num = files.next_num();
                    let df =
                        create_datafile(storage.as_ref(), &dir, FileId::new(rec.next_gen, 0), num)?;
                    files.insert(df.clone());
                    (df, rec.next_gen + 1)
                }
            };
            // Reads of the active file go through a mapping as long as the file (appended
            // to, never truncated while open) is within it.
            if options.mmap_reads {
                active.map(options.max_file_size);
            }
            Some(Writer { active, buf: Vec::with_capacity(4096), next_gen })
        };
        let next_num = files.next_num();
        let inner = Arc::new(Inner {
            dir,
            storage,
            read_only,
            keydir: rec.keydir,
            files: RwLock::new(Arc::new(files)),
            writer: Mutex::new(writer),
            written: AtomicU64::new(0),
            next_num: std::sync::atomic::AtomicU32::new(next_num),
            sync_state: Mutex::new(SyncState::default()),
            sync_cv: Condvar::new(),
            poisoned: AtomicBool::new(false),
            poison_cause: Mutex::new(None),
            closed: AtomicBool::new(false),
            ttl_keys: AtomicU64::new(rec.ttl_keys),
            merge_lock: Mutex::new(()),
            last_merge: Mutex::new(None),
            lock_guard: Mutex::new(lock_guard),
            report: rec.report,
            stop: Mutex::new(false),
            stop_cv: Condvar::new(),
            opts: options,
        });
        let db = Bitcask { inner, threads: Mutex::new(Vec::new()) };
        if !read_only {
            db.start_threads();
        }
        Ok(db)
    }

    fn start_threads(&self) {
        let mut threads = lock(&self.threads);
        if let SyncPolicy::EveryMillis(ms) = self.inner.opts.sync {
            let inner = self.inner.clone();
            threads.push(std::thread::spawn(move || {
                let every = Duration::from_millis(ms);
                while inner.sleep(every) {
                    if inner.written.load(Acquire) > lock(&inner.sync_state).synced {
                        let _ = inner.sync_to(inner.written.load(Acquire));
                    }
                }
            }));
        }
        if self.inner.opts.merge.background {
            let inner = self.inner.clone();
            threads.push(std::thread::spawn(move || {
                let every = inner.opts.merge.check_interval;
                while inner.sleep(every) {
                    let due = lock(&inner.last_merge)
                        .is_none_or(|t| t.elapsed() >= inner.opts.merge.min_interval);
                    if due && !inner.poisoned.load(Acquire) {
                        let _ = crate::merge::merge_needed(&inner, &mut |_| {});
                    }
                }
            }));
        }
    }

    /// The directory of the store.
    pub fn path(&self) -> &Path {
        &self.inner.dir
    }

    /// What open found and repaired.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.report
    }

    /// Stores `value` under `key`.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.inner.write_one(key, Some(value), 0).map(|_| ())
    }

    /// Stores `value` under `key`; the key disappears `ttl` from now.
    pub fn put_with_ttl(&self, key: &[u8], value: &[u8], ttl: Duration) -> Result<()> {
        let expiry =
            now_ms().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)).max(1);
        self.inner.write_one(key, Some(value), expiry).map(|_| ())
    }

    /// Deletes `key`; returns whether it was present. Nothing is written when it was not.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        self.inner.check_key(key)?;
        if !self.contains(key)? {
            self.inner.check_writable()?;
            return Ok(false);
        }
        let old = self.inner.write_one(key, None, 0)?;
        Ok(old.is_some_and(|l| !l.expired(now_ms())))
    }

    /// Applies `batch` atomically: all of it or (also after a crash) none of it.
    pub fn write(&self, batch: WriteBatch) -> Result<()> {
        if batch.is_empty() {
            return self.inner.check_writable();
        }
        self.inner.write_batch(&batch)
    }

    /// The value of `key`, or `None`. The record's checksum is verified; a mismatch is
    /// [`Error::Corruption`], never wrong bytes.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get(key)
    }

    /// Whether `key` is present (keydir only, no disk read).
    pub fn contains(&self, key: &[u8]) -> Result<bool> {
        self.inner.check_open()?;
        Ok(self.inner.keydir.get(key).is_some_and(|l| l.expiry == 0 || !l.expired(now_ms())))
    }

    /// Makes every acknowledged write durable (`fdatasync` of the active file).
    pub fn sync(&self) -> Result<()> {
        self.inner.check_writable()?;
        self.inner.sync_now()
    }

    /// A snapshot of the keys present now, sorted.
    pub fn keys(&self) -> Result<Keys> {
        self.inner.check_open()?;
        let (items, _) = self.inner.snapshot();
        Ok(Keys { inner: items.into_iter() })
    }

    /// A snapshot of the key/value pairs present now, sorted by key; values are read lazily.
    pub fn iter(&self) -> Result<Iter> {
        self.inner.check_open()?;
        let (items, files) = self.inner.snapshot();
        Ok(Iter { items: items.into_iter(), files })
    }

    /// Number of live keys.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True when no key is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Statistics: keys, and live/dead bytes and counts of every datafile.
    pub fn stats(&self) -> Stats {
        let files = self.inner.file_table();
        let active = lock(&self.inner.writer).as_ref().map(|w| w.active.id);
        let mut files: Vec<FileStats> =
            files.values().into_iter().map(|f| f.stats(Some(f.id) == active)).collect();
        if self.inner.ttl_keys.load(Acquire) > 0 {
            // Expired records are dead even before a merge drops them.
            let now = now_ms();
            let table = self.inner.file_table();
            for (_, loc) in self.inner.keydir.snapshot(|_, l| l.expired(now)) {
                let id = table.get(&loc.file).map(|f| f.id);
                if let Some(f) = files.iter_mut().find(|f| Some(f.file_id) == id) {
                    f.live_keys -= 1;
                    f.live_bytes -= u64::from(loc.len);
                    f.dead_keys += 1;
                    f.dead_bytes += u64::from(loc.len);
                }
            }
        }
        Stats {
            keys: self.len() as u64,
            live_bytes: files.iter().map(|f| f.live_bytes).sum(),
            dead_bytes: files.iter().map(|f| f.dead_bytes).sum(),
            disk_bytes: files.iter().map(|f| f.size).sum(),
            keydir_bytes: self.inner.keydir.heap_bytes() as u64,
            files,
        }
    }

    /// Merges every sealed datafile (the active one is sealed first if it holds records)
    /// into new files holding only live data, then deletes the inputs.
    pub fn merge(&self) -> Result<MergeReport> {
        crate::merge::merge_all(&self.inner, &mut |_| {})
    }

    /// [`merge`](Self::merge), calling `progress` as input bytes are processed.
    pub fn merge_with_progress(
        &self,
        mut progress: impl FnMut(MergeProgress),
    ) -> Result<MergeReport> {
        crate::merge::merge_all(&self.inner, &mut progress)
    }

    /// Merges only the sealed files among `files` (each extended to its whole generation).
    pub fn merge_files(&self, files: &[FileId]) -> Result<MergeReport> {
        crate::merge::merge_files(&self.inner, files, &mut |_| {})
    }

    /// Which files the merge triggers in [`MergeOptions`](crate::MergeOptions) select now.
    pub fn needs_merge(&self) -> MergePlan {
        crate::merge::plan(&self.inner)
    }

    /// Merges the files the triggers select, if any.
    pub fn merge_if_needed(&self) -> Result<Option<MergeReport>> {
        crate::merge::merge_needed(&self.inner, &mut |_| {})
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
        if self.inner.closed.swap(true, AcqRel) {
            return Ok(());
        }
        *lock(&self.inner.stop) = true;
        self.inner.stop_cv.notify_all();
        for t in lock(&self.threads).drain(..) {
            let _ = t.join();
        }
        let _merge = lock(&self.inner.merge_lock);
        let writer = lock(&self.inner.writer).take();
        let mut result = Ok(());
        if let Some(w) = writer {
            // A poisoned store cannot promise that what it acknowledged is durable (a write
            // or an fsync failed), so close says so instead of Ok.
            result = self.inner.check_not_poisoned().and_then(|()| {
                w.active
                    .file
                    .sync_data()
                    .map_err(|e| Error::io("syncing", &w.active.path, e))
                    .and_then(|()| self.inner.write_hint(&w.active))
            });
        }
        lock(&self.inner.lock_guard).take();
        result
    }
}

impl Drop for Bitcask {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// The record of a put (`value` with an expiry, 0 for none) or of a delete (`None`).
fn record<'a>(key: &'a [u8], value: Option<&'a [u8]>, expiry: u64) -> Record<'a> {
    match value {
        Some(v) if expiry != 0 => Record::put_expiring(key, v, expiry),
        Some(v) => Record::put(key, v),
        None => Record::tombstone(key),
    }
}

pub(crate) fn create_datafile(
    storage: &dyn Storage,
    dir: &Path,
    id: FileId,
    num: u32,
) -> Result<Arc<DataFile>> {
    create_datafile_at(storage, dir, id, num, &data_name(id), true)
}

/// Creates datafile `id` under `name` with its header synced; with `durable_entry` the
/// directory is synced too, so the file survives a power loss before any record is acked.
pub(crate) fn create_datafile_at(
    storage: &dyn Storage,
    dir: &Path,
    id: FileId,
    num: u32,
    name: &str,
    durable_entry: bool,
) -> Result<Arc<DataFile>> {
    let path = join(dir, name);
    let file =
        storage.open(&path, OpenMode::CreateNew).map_err(|e| Error::io("creating", &path, e))?;
    let mut head = Vec::with_capacity(FILE_HEADER_LEN);
    FileHeader::new(FileKind::Data, id.0).encode(&mut head);
    file.write_at(&head, 0).map_err(|e| Error::io("writing", &path, e))?;
    file.sync_data().map_err(|e| Error::io("syncing", &path, e))?;
    if durable_entry {
        storage.sync_dir(dir).map_err(|e| Error::io("syncing directory", dir, e))?;
    }
    Ok(Arc::new(DataFile::new(id, num, path, file, FILE_HEADER_LEN as u64)))
}

impl Inner {
    /// Sleeps up to `d`; false once the store is closing.
    fn sleep(&self, d: Duration) -> bool {
        let stop = lock(&self.stop);
        if *stop {
            return false;
        }
        let (stop, _) = self.stop_cv.wait_timeout(stop, d).unwrap_or_else(|e| e.into_inner());
        !*stop
    }

    /// A fresh file number.
    pub fn alloc_num(&self) -> u32 {
        self.next_num.fetch_add(1, AcqRel)
    }

    pub fn file_table(&self) -> Arc<FileTable> {
        self.files.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_file_table(&self, f: impl FnOnce(&mut FileTable)) {
        let mut g = self.files.write().unwrap_or_else(|e| e.into_inner());
        let mut table = (**g).clone();
        f(&mut table);
        *g = Arc::new(table);
    }

    pub fn check_open(&self) -> Result<()> {
        if self.closed.load(Acquire) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    pub fn check_writable(&self) -> Result<()> {
        self.check_open()?;
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        self.check_not_poisoned()
    }

    /// `Error::Poisoned` once a write or sync has failed.
    pub fn check_not_poisoned(&self) -> Result<()> {
        if self.poisoned.load(Acquire) {
            let cause = lock(&self.poison_cause).clone().unwrap_or_default();
            return Err(Error::Poisoned { cause });
        }
        Ok(())
    }

    /// Records a failed write or sync: from now on writes are refused until reopen.
    pub fn poison(&self, e: &Error) {
        let mut cause = lock(&self.poison_cause);
        if cause.is_none() {
            *cause = Some(e.to_string());
        }
        self.poisoned.store(true, Release);
        drop(cause);
        self.sync_cv.notify_all();
    }

    fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.is_empty() {
            return Err(Error::EmptyKey);
        }
        if key.len() > self.opts.max_key_size {
            return Err(Error::KeyTooLarge { len: key.len(), max: self.opts.max_key_size });
        }
        Ok(())
    }

    fn check_value(&self, value: &[u8]) -> Result<()> {
        if value.len() > self.opts.max_value_size {
            return Err(Error::ValueTooLarge { len: value.len(), max: self.opts.max_value_size });
        }
        Ok(())
    }

    fn write_one(&self, key: &[u8], value: Option<&[u8]>, expiry: u64) -> Result<Option<Loc>> {
        self.check_key(key)?;
        if let Some(v) = value {
            self.check_value(v)?;
        }
        let rec = record(key, value, expiry);
        // The common case without the batch path's vectors.
        self.check_writable()?;
        let mut guard = lock(&self.writer);
        self.check_writable()?;
        let w = guard.as_mut().ok_or(Error::Closed)?;
        w.buf.clear();
        let len = rec.encode(&mut w.buf).map_err(|e| Error::InvalidOptions(e.to_string()))? as u32;
        let (offset, rotated) = self.append_locked(w)?;
        let active = &w.active;
        let new = value.is_some().then_some(Loc { file: active.num, offset, len, expiry });
        let old = self.keydir.set(key, new);
        self.account(active, old, new, len);
        let seq = self.written.fetch_add(1, AcqRel) + 1;
        drop(guard);
        self.after_append(rotated, seq)?;
        Ok(old)
    }

    fn write_batch(&self, batch: &WriteBatch) -> Result<()> {
        let now = now_ms();
        let mut ops = Vec::with_capacity(batch.ops.len());
        for op in &batch.ops {
            self.check_key(op.key())?;
            let (value, expiry) = match op {
                BatchOp::Put { value, expiry, .. } => {
                    self.check_value(value)?;
                    (
                        Some(value.as_slice()),
                        if *expiry == 0 { 0 } else { now.saturating_add(*expiry) },
                    )
                }
                BatchOp::Delete { .. } => (None, 0),
            };
            ops.push((op.key(), value, expiry));
        }
        let records: Vec<Record<'_>> = ops.iter().map(|&(k, v, e)| record(k, v, e)).collect();
        // A frame must fit in a fresh datafile, so that every offset stays addressable.
        let frame_len = batch_frame_len(&records);
        if frame_len > MAX_WRITE_LEN {
            return Err(Error::BatchTooLarge { len: frame_len, max: MAX_WRITE_LEN });
        }
        let meta: Vec<(&[u8], bool, u64)> =
            ops.iter().map(|&(k, v, e)| (k, v.is_some(), e)).collect();
        self.append(
            |buf| {
                let (_, positions) = encode_batch(&records, buf).map_err(|e| match e.kind {
                    bitcask_format::ErrorKind::BatchTooLarge { len } => {
                        Error::BatchTooLarge { len, max: MAX_WRITE_LEN }
                    }
                    _ => Error::InvalidOptions(e.to_string()),
                })?;
                Ok(positions)
            },
            &meta,
        )?;
        Ok(())
    }

    /// The write path: encode under the writer lock, rotate if the active file is full,
    /// append with one positioned write, point the keydir at the new records, account, and
    /// (for `SyncPolicy::Always`) wait for a shared fsync.
    ///
    /// `ops` holds (key, is_put, expiry) for each record the encoder writes, in order.
    fn append(
        &self,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<Vec<(usize, usize)>>,
        ops: &[(&[u8], bool, u64)],
    ) -> Result<Vec<Option<Loc>>> {
        self.check_writable()?;
        let mut guard = lock(&self.writer);
        self.check_writable()?;
        let w = guard.as_mut().ok_or(Error::Closed)?;
        w.buf.clear();
        let positions = encode(&mut w.buf)?;
        let (offset, rotated) = self.append_locked(w)?;
        let active = &w.active;
        let changes: Vec<(&[u8], Option<Loc>)> = ops
            .iter()
            .zip(&positions)
            .map(|(&(key, is_put, expiry), &(at, len))| {
                let loc =
                    Loc { file: active.num, offset: offset + at as u64, len: len as u32, expiry };
                (key, is_put.then_some(loc))
            })
            .collect();
        let olds = self.keydir.set_all(&changes);
        for ((_, new), (old, &(_, len))) in changes.iter().zip(olds.iter().zip(&positions)) {
            self.account(active, *old, *new, len as u32);
        }
        let seq = self.written.fetch_add(1, AcqRel) + 1;
        drop(guard);
        self.after_append(rotated, seq)?;
        Ok(olds)
    }

    /// Writes the encoded bytes in `w.buf` at the end of the active file (rotating first if
    /// it is full) with one positioned write. Returns their offset and the file sealed by a
    /// rotation. A failed write poisons the store.
    fn append_locked(&self, w: &mut Writer) -> Result<(u64, Option<Arc<DataFile>>)> {
        let total = w.buf.len() as u64;
        let mut rotated = None;
        if w.active.end() + total > self.opts.max_file_size
            && w.active.end() > FILE_HEADER_LEN as u64
        {
            rotated = Some(self.rotate(w)?);
        }
        let offset = w.active.end();
        if offset + total > MAX_FILE_SIZE {
            // Unreachable while max_file_size <= MAX_FILE_SIZE and batches are checked
            // against MAX_WRITE_LEN: refuse rather than write what the keydir cannot address.
            return Err(Error::BatchTooLarge { len: total, max: MAX_WRITE_LEN });
        }
        if let Err(e) = w.active.file.write_at(&w.buf, offset) {
            let e = Error::io("appending to", &w.active.path, e);
            self.poison(&e);
            return Err(e);
        }
        w.active.set_end(offset + total);
        Ok((offset, rotated))
    }

    /// Work after the writer lock is released: the sealed file's hint, and the shared sync
    /// under `SyncPolicy::Always`.
    fn after_append(&self, rotated: Option<Arc<DataFile>>, seq: u64) -> Result<()> {
        if let Some(old) = rotated {
            // Off the lock: other writers go on while the sealed file's hint is written.
            let _ = self.write_hint(&old);
        }
        if self.opts.sync == SyncPolicy::Always {
            self.sync_to(seq)?;
        }
        Ok(())
    }

    /// Accounts a record of `len` bytes just written to `active` (live at `new`, or a
    /// tombstone) that supersedes `old`.
    fn account(&self, active: &DataFile, old: Option<Loc>, new: Option<Loc>, len: u32) {
        self.account_moved(old, new, |n| (n == active.num).then_some(active));
        if new.is_none() {
            active.add_dead(len);
        }
    }

    /// Moves live/dead accounting from `old` to `new` and keeps the count of keys with a
    /// TTL. `near` resolves file numbers without the file table when it can.
    pub fn account_moved<'a>(
        &self,
        old: Option<Loc>,
        new: Option<Loc>,
        near: impl Fn(u32) -> Option<&'a DataFile>,
    ) {
        let with_file = |num: u32, f: &dyn Fn(&DataFile)| match near(num) {
            Some(df) => f(df),
            None => {
                let table = self.files.read().unwrap_or_else(|e| e.into_inner());
                if let Some(df) = table.get(&num) {
                    f(df);
                }
            }
        };
        if let Some(old) = old {
            with_file(old.file, &|f| f.kill(old.len));
            if old.expiry != 0 {
                self.ttl_keys.fetch_sub(1, AcqRel);
            }
        }
        if let Some(new) = new {
            with_file(new.file, &|f| f.add_live(new.len));
            if new.expiry != 0 {
                self.ttl_keys.fetch_add(1, AcqRel);
            }
        }
    }

    /// Seals the active file (synced) and starts the next one (created, header synced,
    /// directory synced). Returns the sealed file.
    pub fn rotate(&self, w: &mut Writer) -> Result<Arc<DataFile>> {
        let old = w.active.clone();
        let result =
            old.file.sync_data().map_err(|e| Error::io("syncing", &old.path, e)).and_then(|()| {
                create_datafile(
                    self.storage.as_ref(),
                    &self.dir,
                    FileId::new(w.next_gen, 0),
                    self.alloc_num(),
                )
            });
        let new = match result {
            Ok(f) => f,
            Err(e) => {
                self.poison(&e);
                return Err(e);
            }
        };
        w.next_gen += 1;
        if self.opts.mmap_reads {
            new.map(self.opts.max_file_size);
        }
        self.set_file_table(|t| {
            t.insert(new.clone());
        });
        w.active = new;
        // Everything written so far is in the sealed file, which is synced.
        let written = self.written.load(Acquire);
        let mut st = lock(&self.sync_state);
        st.synced = st.synced.max(written);
        Ok(old)
    }

    pub fn write_hint(&self, df: &DataFile) -> Result<()> {
        let bytes = recovery::build_hint(df)?;
        recovery::write_hint_file(self.storage.as_ref(), &self.dir, df.id, &bytes)
    }

    /// Syncs the active file now, whether or not this process wrote to it (it may hold
    /// writes of a process that died), and counts every write made so far as durable.
    pub fn sync_now(&self) -> Result<()> {
        let (file, upto) = {
            let w = lock(&self.writer);
            let w = w.as_ref().ok_or(Error::Closed)?;
            (w.active.clone(), self.written.load(Acquire))
        };
        if let Err(e) = file.file.sync_data() {
            let e = Error::io("syncing", &file.path, e);
            self.poison(&e);
            return Err(e);
        }
        let mut st = lock(&self.sync_state);
        st.synced = st.synced.max(upto);
        Ok(())
    }

    /// Waits until write number `seq` is durable, syncing if no other thread is (group
    /// commit: one fdatasync covers every write made before it started).
    fn sync_to(&self, seq: u64) -> Result<()> {
        let mut st = lock(&self.sync_state);
        loop {
            self.check_not_poisoned()?;
            if st.synced >= seq {
                return Ok(());
            }
            if st.in_progress {
                st = self.sync_cv.wait(st).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            st.in_progress = true;
            drop(st);
            let target = {
                let w = lock(&self.writer);
                w.as_ref().map(|w| (w.active.clone(), self.written.load(Acquire)))
            };
            let result = match &target {
                Some((file, _)) => {
                    file.file.sync_data().map_err(|e| Error::io("syncing", &file.path, e))
                }
                None => Err(Error::Closed),
            };
            st = lock(&self.sync_state);
            st.in_progress = false;
            match result {
                Ok(()) => {
                    if let Some((_, upto)) = target {
                        st.synced = st.synced.max(upto);
                    }
                    self.sync_cv.notify_all();
                }
                Err(e) => {
                    drop(st);
                    self.poison(&e);
                    self.sync_cv.notify_all();
                    return Err(e);
                }
            }
        }
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_open()?;
        // A merge may retire the file between the keydir lookup and the file lookup; the
        // keydir then already points elsewhere, so look again.
        for _ in 0..16 {
            let Some(loc) = self.keydir.get(key) else { return Ok(None) };
            if loc.expiry != 0 && loc.expired(now_ms()) {
                return Ok(None);
            }
            // The table's read lock is held only while reading (rotation and merge take the
            // write lock just to swap the table, never across I/O).
            let files = self.files.read().unwrap_or_else(|e| e.into_inner());
            if let Some(file) = files.get(&loc.file) {
                return file.read_value(key, &loc).map(Some);
            }
        }
        Err(Error::corruption(&self.dir, 0, "keydir points at a datafile that is gone"))
    }

    /// A consistent snapshot of the live entries (sorted by key) and the files they are in.
    fn snapshot(&self) -> (Snapshot, Arc<FileTable>) {
        let now = now_ms();
        // Holding the file table's read lock keeps a merge from retiring a file the snapshot
        // points into (outputs are added to the table before the keydir points at them).
        let files = self.files.read().unwrap_or_else(|e| e.into_inner());
        let mut items = self.keydir.snapshot(|_, l| !l.expired(now));
        let table = files.clone();
        drop(files);
        items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        (items, table)
    }

    fn len(&self) -> usize {
        if self.ttl_keys.load(Acquire) == 0 {
            self.keydir.len()
        } else {
            let now = now_ms();
            self.keydir.count(|l| !l.expired(now))
        }
    }
}
