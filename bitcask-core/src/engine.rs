//! The engine: a store's parts put together. Each part keeps its state private: the
//! [`Lifecycle`] (open, poisoned, closing, closed), the [`Index`] (keydir, file table,
//! accounting), the [`ActiveLog`] (the file that takes writes, rotation and sealing, the
//! group commit of its writes), and the merge's own lock and clock. The paths — write, read,
//! open, merge — are functions over these parts, in write.rs, read.rs, recovery.rs and
//! merge.rs; docs/architecture.md draws them.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::active_log::ActiveLog;
use crate::datafile::DataFile;
use crate::error::{Error, Result};
use crate::hint;
use crate::index::Index;
use crate::lifecycle::Lifecycle;
use crate::options::Options;
use crate::recovery::{Recovered, RecoveryReport};
use crate::storage::{LockGuard, Storage};

/// The state every handle, background thread, writer and merge shares.
pub(crate) struct Engine {
    pub dir: PathBuf,
    pub storage: Arc<dyn Storage>,
    pub opts: Options,
    pub life: Lifecycle,
    pub index: Index,
    pub log: ActiveLog,
    /// One merge at a time (and none while a backup picks its files or the store closes).
    pub merge_lock: Mutex<()>,
    /// When the last merge finished (the scheduler waits `min_interval` after it).
    pub last_merge: Mutex<Option<Instant>>,
    /// The store directory's lock, released at close.
    pub lock_guard: Mutex<Option<LockGuard>>,
    /// What open found.
    pub report: RecoveryReport,
}

impl Engine {
    /// The engine of a recovered store.
    pub(crate) fn new(
        dir: PathBuf,
        storage: Arc<dyn Storage>,
        opts: Options,
        read_only: bool,
        rec: Recovered,
        lock_guard: Option<LockGuard>,
    ) -> Result<Engine> {
        let index = Index::new(rec.keydir, rec.files, rec.ttl_keys);
        let log =
            ActiveLog::open(storage.clone(), dir.clone(), &opts, rec.newest, &index, read_only)?;
        Ok(Engine {
            life: Lifecycle::new(read_only),
            dir,
            storage,
            index,
            log,
            merge_lock: Mutex::new(()),
            last_merge: Mutex::new(None),
            lock_guard: Mutex::new(lock_guard),
            report: rec.report,
            opts,
        })
    }

    /// Records a failed write, sync or merge: writes are refused until reopen.
    pub(crate) fn poison(&self, e: &Error) {
        self.log.poison(&self.life, e);
    }

    /// Waits until write number `seq` is durable (the group commit).
    pub(crate) fn sync_to(&self, seq: u64) -> Result<()> {
        self.log.sync_to(&self.life, seq)
    }

    /// Syncs the active file now and counts every write so far as durable.
    pub(crate) fn sync_now(&self) -> Result<()> {
        self.log.sync_now(&self.life)
    }

    /// Writes the hint file of `df`.
    pub(crate) fn write_hint(&self, df: &DataFile) -> Result<()> {
        let bytes = hint::build(df)?;
        hint::write(self.storage.as_ref(), &self.dir, df.id, &bytes)
    }
}
