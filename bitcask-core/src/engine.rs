//! The engine's shared state: the keydir, the file table, the writer (active file), group
//! commit, poisoning after a failed write or sync, and rotation of the active file.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use bitcask_format::{encode_sync_point, FILE_HEADER_LEN, SYNC_POINT_LEN};

use crate::accounting::Delta;
use crate::append::Appender;
use crate::datafile::{create_datafile, DataFile};
use crate::error::{Error, Result};
use crate::file_table::FileTable;
use crate::files::FileId;
use crate::group_commit::GroupCommit;
use crate::hint;
use crate::keydir::Keydir;
use crate::lifecycle::Lifecycle;
use crate::options::Options;
use crate::recovery::{Recovered, RecoveryReport};
use crate::storage::{LockGuard, Storage};
use crate::util::lock;

/// The writer's state, behind the engine's writer lock: the active file, the encoding
/// buffer reused by every write, and the next generation for a new active file.
pub(crate) struct Writer {
    pub active: Arc<DataFile>,
    /// How writes reach the active file.
    pub appender: Appender,
    pub buf: Vec<u8>,
    pub next_gen: u64,
    /// The largest durable end a sync point in the active file records.
    pub marked: u64,
    /// The offset just after the last sync point appended (0: none yet). A point that would
    /// vouch for the file up to there vouches only for that point, and is not written.
    pub point_end: u64,
}

impl Writer {
    /// Appends to the active file a sync point saying that its first `end` bytes are
    /// durable, unless it would say nothing new (a point right after the last one vouches
    /// only for that point) or not fit in `max_file_size`; whether it was appended.
    pub fn append_sync_point(&mut self, end: u64, max_file_size: u64) -> std::io::Result<bool> {
        let offset = self.active.end();
        let news = end > self.marked && end != self.point_end;
        if !news || offset + SYNC_POINT_LEN as u64 > max_file_size {
            return Ok(false);
        }
        let mut point = Vec::with_capacity(SYNC_POINT_LEN);
        encode_sync_point(end, &mut point);
        self.appender.append(&self.active, &point, offset)?;
        self.active.set_end(offset + SYNC_POINT_LEN as u64);
        self.marked = end;
        self.point_end = offset + SYNC_POINT_LEN as u64;
        Ok(true)
    }
}

/// The state every handle, background thread, writer and merge shares.
pub(crate) struct Engine {
    pub dir: PathBuf,
    pub storage: Arc<dyn Storage>,
    pub opts: Options,
    pub life: Lifecycle,
    pub keydir: Keydir,
    pub files: RwLock<Arc<FileTable>>,
    pub writer: Mutex<Option<Writer>>,
    pub written: AtomicU64,
    pub next_num: AtomicU32,
    pub commit: GroupCommit,
    pub ttl_keys: AtomicU64,
    pub merge_lock: Mutex<()>,
    pub last_merge: Mutex<Option<Instant>>,
    pub lock_guard: Mutex<Option<LockGuard>>,
    pub report: RecoveryReport,
}

impl Engine {
    /// The engine of a recovered store: for a writer, the active file is the recovered
    /// newest file if it can take more records, else a new one.
    pub(crate) fn new(
        dir: PathBuf,
        storage: Arc<dyn Storage>,
        opts: Options,
        read_only: bool,
        rec: Recovered,
        lock_guard: Option<LockGuard>,
    ) -> Result<Engine> {
        let mut files = rec.files;
        let writer = if read_only {
            None
        } else {
            let (active, next_gen, marked) = match rec.reusable {
                Some(df) => {
                    let marked = rec.durable_mark.min(df.end());
                    (df, rec.next_gen, marked)
                }
                None => {
                    let id = FileId::new(rec.next_gen, 0);
                    let df = create_datafile(storage.as_ref(), &dir, id, files.next_num())?;
                    files.insert(df.clone());
                    (df, rec.next_gen + 1, FILE_HEADER_LEN as u64)
                }
            };
            // Reads of the active file go through a mapping as long as the file (appended
            // to, never truncated while open) is within it.
            if opts.mmap_reads {
                active.map(opts.max_file_size);
            }
            let appender = Appender::new(&active, &opts);
            // A file that ends with the point vouching for all before it needs no other.
            let point_end =
                if marked + SYNC_POINT_LEN as u64 == active.end() { active.end() } else { 0 };
            let buf = Vec::with_capacity(4096);
            Some(Writer { active, appender, buf, next_gen, marked, point_end })
        };
        Ok(Engine {
            life: Lifecycle::new(read_only),
            dir,
            storage,
            keydir: rec.keydir,
            next_num: AtomicU32::new(files.next_num()),
            files: RwLock::new(Arc::new(files)),
            writer: Mutex::new(writer),
            // 1, not 0: the first sync() after an open always fsyncs, covering what a
            // killed process left in the page cache (sync() skips when nothing is new).
            written: AtomicU64::new(1),
            commit: GroupCommit::default(),
            ttl_keys: AtomicU64::new(rec.ttl_keys),
            merge_lock: Mutex::new(()),
            last_merge: Mutex::new(None),
            lock_guard: Mutex::new(lock_guard),
            report: rec.report,
            opts,
        })
    }

    /// A fresh file number.
    pub(crate) fn alloc_num(&self) -> u32 {
        self.next_num.fetch_add(1, AcqRel)
    }

    pub(crate) fn file_table(&self) -> Arc<FileTable> {
        self.files.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_file_table(&self, f: impl FnOnce(&mut FileTable)) {
        let mut g = self.files.write().unwrap_or_else(|e| e.into_inner());
        let mut table = (**g).clone();
        f(&mut table);
        *g = Arc::new(table);
    }

    /// Records a failed write or sync: from now on writes are refused until reopen.
    pub(crate) fn poison(&self, e: &Error) {
        self.life.poison(e);
        self.commit.wake_all();
    }

    /// Applies an accounting delta built by a write to `active`: files other than the
    /// active one are found in the file table (a file a merge removed is skipped).
    pub(crate) fn account(&self, delta: Delta, active: &DataFile) {
        if delta.touches_only(active.num) {
            return delta.apply(|_| Some(active), &self.ttl_keys);
        }
        let table = self.file_table();
        delta.apply(
            |n| if n == active.num { Some(active) } else { table.get(&n).map(|f| &**f) },
            &self.ttl_keys,
        );
    }

    /// Seals the active file (synced) and starts the next one (created, header synced,
    /// directory synced). Returns the sealed file.
    pub(crate) fn rotate(&self, w: &mut Writer) -> Result<Arc<DataFile>> {
        let old = w.active.clone();
        // Preallocated space past the records goes before the file is sealed: only the
        // active file may end in unused space.
        let released = w.appender.release(&old).map_err(|e| Error::io("truncating", &old.path, e));
        let result = released
            .and_then(|()| old.file.sync_data().map_err(|e| Error::io("syncing", &old.path, e)))
            .and_then(|()| {
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
        w.appender = Appender::new(&new, &self.opts);
        w.active = new;
        w.marked = FILE_HEADER_LEN as u64;
        w.point_end = 0;
        // Everything written so far is in the sealed file, which is synced.
        self.commit.mark_synced(self.written.load(Acquire));
        Ok(old)
    }

    pub(crate) fn write_hint(&self, df: &DataFile) -> Result<()> {
        let bytes = hint::build(df)?;
        hint::write(self.storage.as_ref(), &self.dir, df.id, &bytes)
    }

    /// Syncs the active file now, whether or not this process wrote to it (it may hold
    /// writes of a process that died), and counts every write made so far as durable.
    pub(crate) fn sync_now(&self) -> Result<()> {
        let upto = self.sync_active()?;
        self.commit.mark_synced(upto);
        Ok(())
    }

    /// Appends a sync point to the active file saying that its first `end` bytes are
    /// durable (an fsync that covered them returned), unless the active file is no longer
    /// `file` (rotation synced all of it) or an earlier point said as much. The point is no
    /// write of the caller's: it becomes durable with the next sync, and a `sync()` does not
    /// wait for it. A failure to append it poisons the store like any failed write.
    pub(crate) fn note_durable(&self, file: &Arc<DataFile>, end: u64) {
        let mut g = lock(&self.writer);
        let Some(w) = g.as_mut() else { return };
        if !Arc::ptr_eq(&w.active, file) || self.life.is_poisoned() {
            return;
        }
        if let Err(e) = w.append_sync_point(end, self.opts.max_file_size) {
            self.poison(&Error::io("appending to", &w.active.path, e));
        }
    }

    /// Waits until write number `seq` is durable, syncing if no other thread is (group
    /// commit: one fdatasync covers every write made before it started).
    pub(crate) fn sync_to(&self, seq: u64) -> Result<()> {
        let refused = || match self.life.check_not_poisoned() {
            // This write is in the file already (sync_to runs after the append).
            Err(Error::Poisoned { cause, source }) => Err(Error::NotDurable { cause, source }),
            other => other,
        };
        self.commit.wait_for(seq, refused, || self.sync_active())
    }

    /// One fdatasync of the active file; returns the last write it covers. A failure
    /// poisons the store.
    fn sync_active(&self) -> Result<u64> {
        let (file, upto, end) = {
            let w = lock(&self.writer);
            let w = w.as_ref().ok_or(Error::Closed)?;
            (w.active.clone(), self.written.load(Acquire), w.active.end())
        };
        if let Err(e) = file.file.sync_data() {
            let e = Error::io("syncing", &file.path, e);
            self.poison(&e);
            return Err(e);
        }
        self.note_durable(&file, end);
        Ok(upto)
    }
}
