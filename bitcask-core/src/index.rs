//! The index: the keydir (key → where its newest record lies), the file table (the open
//! datafiles by the number the keydir stores), the numbers of new files, and the accounting
//! applied to them. What is in RAM about the store, as opposed to the log itself.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use crate::accounting::{Delta, PerFile};
use crate::datafile::DataFile;
use crate::file_table::FileTable;
use crate::keydir::Keydir;

/// The store's index.
pub(crate) struct Index {
    /// Key → location. It locks its own parts; writers change it under the writer lock.
    pub keydir: Keydir,
    files: RwLock<Arc<FileTable>>,
    next_num: AtomicU32,
    ttl_keys: AtomicU64,
}

impl Index {
    /// The index an open rebuilt.
    pub(crate) fn new(keydir: Keydir, files: FileTable, ttl_keys: u64) -> Index {
        Index {
            keydir,
            next_num: AtomicU32::new(files.next_num()),
            files: RwLock::new(Arc::new(files)),
            ttl_keys: AtomicU64::new(ttl_keys),
        }
    }

    /// A fresh file number.
    pub(crate) fn alloc_num(&self) -> u32 {
        self.next_num.fetch_add(1, AcqRel)
    }

    /// The file table now (a snapshot: later changes make a new table).
    pub(crate) fn file_table(&self) -> Arc<FileTable> {
        self.files.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The file table, read-locked: a merge cannot retire a file while it is held (a read
    /// through it finds every file the keydir points at; hold it only for one lookup).
    pub(crate) fn files_locked(&self) -> RwLockReadGuard<'_, Arc<FileTable>> {
        self.files.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the file table (copy on write: snapshots keep the table they took).
    pub(crate) fn update_files(&self, f: impl FnOnce(&mut FileTable)) {
        let mut g = self.files.write().unwrap_or_else(|e| e.into_inner());
        let mut table = (**g).clone();
        f(&mut table);
        *g = Arc::new(table);
    }

    /// How many keys have an expiry.
    pub(crate) fn ttl_keys(&self) -> u64 {
        self.ttl_keys.load(Acquire)
    }

    /// Applies an accounting delta built by a write to `active`: files other than the
    /// active one are found in the file table (a file a merge removed is skipped), read-locked
    /// only if the delta touches one.
    #[inline]
    pub(crate) fn account(&self, delta: &Delta, active: &DataFile) {
        let table = std::cell::OnceCell::new();
        let file = |n| match n == active.num {
            true => Some(active),
            false => table.get_or_init(|| self.files_locked()).get(&n).map(|f| &**f),
        };
        delta.apply(file, &self.ttl_keys);
    }

    /// Applies an accounting delta to the files of the file table.
    pub(crate) fn account_all<M: PerFile>(&self, delta: &Delta<M>) {
        let table = self.file_table();
        delta.apply(|n| table.get(&n).map(|f| &**f), &self.ttl_keys);
    }
}
