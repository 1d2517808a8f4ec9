//! The active log: the one datafile that takes writes, the writes made to it (numbered in
//! order), and which of them are durable (the group commit). It appends (a copy into a
//! writable map, or one positioned write), rotates to a new file when one is full, and seals
//! a file one way for rotation, a merge and close: its unused preallocated tail cut, then
//! fsynced (at close, a sync point after it says all of it is durable). Its state is behind
//! the writer lock and private; the write path reaches it only through [`ActiveLog::append`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex};

use bitcask_format::{encode_sync_point, FILE_HEADER_LEN, SYNC_POINT_LEN};

use crate::append::Appender;
use crate::datafile::{create_datafile, DataFile};
use crate::error::{Error, Result};
use crate::files::FileId;
use crate::group_commit::GroupCommit;
use crate::index::Index;
use crate::lifecycle::Lifecycle;
use crate::options::{Options, MAX_FILE_SIZE};
use crate::storage::Storage;
use crate::util::lock;

/// The longest single write (a batch frame): one that fits in a fresh datafile.
pub(crate) const MAX_WRITE_LEN: u64 = MAX_FILE_SIZE - FILE_HEADER_LEN as u64;

/// The writer's state, behind the writer lock.
struct Writer {
    active: Arc<DataFile>,
    /// How writes reach the active file.
    appender: Appender,
    /// The encoding buffer every write reuses.
    buf: Vec<u8>,
    /// The generation of the next active file.
    next_gen: u64,
    /// The largest durable end a sync point in the active file records.
    marked: u64,
    /// The offset just after the last sync point appended (0: none yet). A point that would
    /// vouch for the file up to there vouches only for that point, and is not written.
    point_end: u64,
}

/// What the newest datafile of an open is to the log.
pub(crate) struct Newest {
    /// The file, when its records end cleanly.
    pub file: Option<Arc<DataFile>>,
    /// Whether it is of the current format version (an older file takes no new records).
    pub current: bool,
    /// How much of it is known durable (its hint's prefix, or its largest sync point).
    pub durable_mark: u64,
    /// The generation of the next new datafile.
    pub next_gen: u64,
}

/// What an append did.
pub(crate) struct Appended<R> {
    /// What the caller's `apply` returned.
    pub value: R,
    /// The write's number: durable once the group commit covers it.
    pub seq: u64,
    /// The file a rotation sealed before the write, whose hint is to be written.
    pub sealed: Option<Arc<DataFile>>,
}

/// The active log of a store.
pub(crate) struct ActiveLog {
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    opts: Options,
    writer: Mutex<Option<Writer>>,
    written: AtomicU64,
    commit: GroupCommit,
}

impl ActiveLog {
    /// The log of an opened store: the newest file goes on taking writes if it is of the
    /// current version and not full; otherwise it is sealed, and (for a writer) a new file
    /// is created. A read-only store has no writer.
    pub(crate) fn open(
        storage: Arc<dyn Storage>,
        dir: PathBuf,
        opts: &Options,
        mut newest: Newest,
        index: &Index,
        read_only: bool,
    ) -> Result<ActiveLog> {
        let full = |df: &Arc<DataFile>| df.end() >= opts.max_file_size;
        let reuse = newest.file.take().filter(|df| {
            let keep = newest.current && !full(df);
            if !keep {
                df.seal(opts.mmap_reads);
            }
            keep
        });
        let writer = if read_only {
            None
        } else {
            Some(Self::writer(storage.as_ref(), &dir, opts, reuse, &newest, index)?)
        };
        Ok(ActiveLog {
            storage,
            dir,
            opts: opts.clone(),
            writer: Mutex::new(writer),
            // 1, not 0: the first sync() after an open always fsyncs, covering what a
            // killed process left in the page cache (sync() skips when nothing is new).
            written: AtomicU64::new(1),
            commit: GroupCommit::default(),
        })
    }

    /// The writer of an open: on the reused newest file, or on a new one.
    fn writer(
        storage: &dyn Storage,
        dir: &std::path::Path,
        opts: &Options,
        reuse: Option<Arc<DataFile>>,
        newest: &Newest,
        index: &Index,
    ) -> Result<Writer> {
        let (active, next_gen, marked) = match reuse {
            Some(df) => {
                let marked = newest.durable_mark.min(df.end());
                (df, newest.next_gen, marked)
            }
            None => {
                let id = FileId::new(newest.next_gen, 0);
                let df = create_datafile(storage, dir, id, index.alloc_num())?;
                index.update_files(|t| t.insert(df.clone()));
                (df, newest.next_gen + 1, FILE_HEADER_LEN as u64)
            }
        };
        // Reads of the active file go through a mapping as long as the file (appended to,
        // never truncated while open) is within it.
        if opts.mmap_reads {
            active.map(opts.max_file_size);
        }
        let appender = Appender::new(&active, opts);
        // A file that ends with the point vouching for all before it needs no other.
        let point_end =
            if marked + SYNC_POINT_LEN as u64 == active.end() { active.end() } else { 0 };
        let buf = Vec::with_capacity(4096);
        Ok(Writer { active, appender, buf, next_gen, marked, point_end })
    }

    /// The group commit of the log's writes.
    pub(crate) fn commit(&self) -> &GroupCommit {
        &self.commit
    }

    /// The number of the last write made.
    pub(crate) fn written(&self) -> u64 {
        self.written.load(Acquire)
    }

    /// Whether a write made so far is not durable yet.
    pub(crate) fn has_unsynced(&self) -> bool {
        !self.commit.covers(self.written())
    }

    /// Records a failed write or sync: writes are refused from now on, and every waiter of
    /// the group commit looks again.
    pub(crate) fn poison(&self, life: &Lifecycle, e: &Error) {
        life.poison(e);
        self.commit.wake_all();
    }

    /// The active file's id (`None` once closed, or read-only).
    pub(crate) fn active_id(&self) -> Option<FileId> {
        lock(&self.writer).as_ref().map(|w| w.active.id)
    }

    /// The active file and the end of its last complete write, taken together.
    pub(crate) fn active_and_end(&self) -> Option<(Arc<DataFile>, u64)> {
        lock(&self.writer).as_ref().map(|w| (w.active.clone(), w.active.end()))
    }

    /// One write: under the writer lock, `encode` fills the buffer (or returns `None`: no
    /// write, nothing else happens), the bytes are appended at the end of the active file
    /// (rotating first if it is full), and `apply` is called with the active file and their
    /// offset (it points the index at them), before any other write can come between.
    #[inline(always)]
    pub(crate) fn append<T, R>(
        &self,
        life: &Lifecycle,
        index: &Index,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<Option<T>>,
        apply: impl FnOnce(&DataFile, u64, T) -> R,
    ) -> Result<Option<Appended<R>>> {
        life.check_writable()?;
        let mut guard = lock(&self.writer);
        life.check_writable()?;
        let w = guard.as_mut().ok_or(Error::Closed)?;
        w.buf.clear();
        let Some(t) = encode(&mut w.buf)? else { return Ok(None) };
        let (offset, sealed) = self.append_locked(w, life, index)?;
        let value = apply(&w.active, offset, t);
        let seq = self.written.fetch_add(1, AcqRel) + 1;
        Ok(Some(Appended { value, seq, sealed }))
    }

    /// Runs `f` with the active file under the writer lock, writing nothing (a change to
    /// the keydir that no record carries).
    pub(crate) fn locked<R>(&self, life: &Lifecycle, f: impl FnOnce(&DataFile) -> R) -> Result<R> {
        life.check_writable()?;
        let guard = lock(&self.writer);
        let w = guard.as_ref().ok_or(Error::Closed)?;
        Ok(f(&w.active))
    }

    /// Appends the bytes in `w.buf` at the end of the active file (rotating first if it is
    /// full); their offset, and the file sealed by a rotation. A failed write poisons.
    fn append_locked(
        &self,
        w: &mut Writer,
        life: &Lifecycle,
        index: &Index,
    ) -> Result<(u64, Option<Arc<DataFile>>)> {
        let total = w.buf.len() as u64;
        let mut sealed = None;
        if w.active.end() + total > self.opts.max_file_size
            && w.active.end() > FILE_HEADER_LEN as u64
        {
            sealed = Some(self.rotate(w, life, index)?);
        }
        let offset = w.active.end();
        if offset + total > MAX_FILE_SIZE {
            // Unreachable while max_file_size <= MAX_FILE_SIZE and batches are checked
            // against MAX_WRITE_LEN: refuse rather than write what the keydir cannot address.
            return Err(Error::BatchTooLarge { len: total, max: MAX_WRITE_LEN });
        }
        if let Err(e) = w.appender.append(&w.active, &w.buf, offset) {
            let e = Error::io("appending to", &w.active.path, e);
            self.poison(life, &e);
            return Err(e);
        }
        w.active.set_end(offset + total);
        Ok((offset, sealed))
    }

    /// Seals the active file and starts the next one (created, header synced, directory
    /// synced); returns the sealed file. Everything written so far is durable then.
    fn rotate(&self, w: &mut Writer, life: &Lifecycle, index: &Index) -> Result<Arc<DataFile>> {
        let old = w.active.clone();
        let next = FileId::new(w.next_gen, 0);
        let result = Self::seal(w).and_then(|()| {
            create_datafile(self.storage.as_ref(), &self.dir, next, index.alloc_num())
        });
        let new = match result {
            Ok(f) => f,
            Err(e) => {
                self.poison(life, &e);
                return Err(e);
            }
        };
        w.next_gen += 1;
        if self.opts.mmap_reads {
            new.map(self.opts.max_file_size);
        }
        index.update_files(|t| t.insert(new.clone()));
        w.appender = Appender::new(&new, &self.opts);
        w.active = new;
        w.marked = FILE_HEADER_LEN as u64;
        w.point_end = 0;
        self.commit.mark_synced(self.written());
        Ok(old)
    }

    /// The one way a file stops taking writes: the preallocated space past its records is
    /// cut (only the active file may end in unused space), then it is fsynced.
    fn seal(w: &mut Writer) -> Result<()> {
        let active = &w.active;
        w.appender.release(active).map_err(|e| Error::io("truncating", &active.path, e))?;
        active.file.sync_data().map_err(|e| Error::io("syncing", &active.path, e))
    }

    /// Seals the active file if it holds records (a merge then takes it), starting the next.
    pub(crate) fn seal_for_merge(&self, life: &Lifecycle, index: &Index) -> Result<()> {
        let mut guard = lock(&self.writer);
        let w = guard.as_mut().ok_or(Error::Closed)?;
        if w.active.end() > FILE_HEADER_LEN as u64 {
            // The merge rewrites the sealed file at once, so it gets no hint of its own.
            self.rotate(w, life, index)?;
        }
        Ok(())
    }

    /// Closes the log: the active file sealed and ended with a sync point saying all of it
    /// is durable (so that damage to it is never taken for a torn tail, even without its
    /// hint). Returns the last active file (its hint is to be written), `None` if closed
    /// already. A poisoned store writes nothing more and says so.
    pub(crate) fn close(&self, life: &Lifecycle) -> Result<Option<Arc<DataFile>>> {
        let Some(mut w) = lock(&self.writer).take() else { return Ok(None) };
        life.check_not_poisoned()?;
        Self::seal(&mut w)?;
        let active = w.active.clone();
        let appended = Self::append_sync_point(&mut w, active.end(), self.opts.max_file_size);
        if appended.map_err(|e| Error::io("appending to", &active.path, e))? {
            active.file.sync_data().map_err(|e| Error::io("syncing", &active.path, e))?;
        }
        self.commit.mark_synced(self.written());
        Ok(Some(active))
    }

    /// Appends to the active file a sync point saying that its first `end` bytes are
    /// durable, unless it would say nothing new (a point right after the last one vouches
    /// only for that point) or not fit in `max_file_size`; whether it was appended.
    fn append_sync_point(w: &mut Writer, end: u64, max_file_size: u64) -> std::io::Result<bool> {
        let offset = w.active.end();
        let news = end > w.marked && end != w.point_end;
        if !news || offset + SYNC_POINT_LEN as u64 > max_file_size {
            return Ok(false);
        }
        let mut point = Vec::with_capacity(SYNC_POINT_LEN);
        encode_sync_point(end, &mut point);
        w.appender.append(&w.active, &point, offset)?;
        w.active.set_end(offset + SYNC_POINT_LEN as u64);
        w.marked = end;
        w.point_end = offset + SYNC_POINT_LEN as u64;
        Ok(true)
    }

    /// Appends a sync point saying that the first `end` bytes of `file` are durable (an
    /// fsync that covered them returned), unless the active file is no longer `file`
    /// (rotation synced all of it) or an earlier point said as much. The point is no write
    /// of a caller's: it becomes durable with the next sync. A failure to append it poisons
    /// the store like any failed write.
    fn note_durable(&self, life: &Lifecycle, file: &Arc<DataFile>, end: u64) {
        let mut g = lock(&self.writer);
        let Some(w) = g.as_mut() else { return };
        if !Arc::ptr_eq(&w.active, file) || life.is_poisoned() {
            return;
        }
        if let Err(e) = Self::append_sync_point(w, end, self.opts.max_file_size) {
            self.poison(life, &Error::io("appending to", &w.active.path, e));
        }
    }

    /// One fdatasync of the active file; returns the last write it covers. A failure
    /// poisons the store.
    fn sync_active(&self, life: &Lifecycle) -> Result<u64> {
        let (file, upto, end) = {
            let w = lock(&self.writer);
            let w = w.as_ref().ok_or(Error::Closed)?;
            (w.active.clone(), self.written(), w.active.end())
        };
        if let Err(e) = file.file.sync_data() {
            let e = Error::io("syncing", &file.path, e);
            self.poison(life, &e);
            return Err(e);
        }
        self.note_durable(life, &file, end);
        Ok(upto)
    }

    /// Syncs the active file now, whether or not this process wrote to it (it may hold
    /// writes of a process that died), and counts every write made so far as durable.
    pub(crate) fn sync_now(&self, life: &Lifecycle) -> Result<()> {
        let upto = self.sync_active(life)?;
        self.commit.mark_synced(upto);
        Ok(())
    }

    /// Waits until write number `seq` is durable, syncing if no other thread is (group
    /// commit: one fdatasync covers every write made before it started).
    pub(crate) fn sync_to(&self, life: &Lifecycle, seq: u64) -> Result<()> {
        let refused = || match life.check_not_poisoned() {
            // This write is in the file already (sync_to runs after the append).
            Err(Error::Poisoned { cause, source }) => Err(Error::NotDurable { cause, source }),
            other => other,
        };
        self.commit.wait_for(seq, refused, || self.sync_active(life))
    }
}
