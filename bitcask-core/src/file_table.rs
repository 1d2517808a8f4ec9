//! The open datafiles, by number.

use std::sync::Arc;

use crate::datafile::DataFile;
use crate::files::FileId;

/// The open datafiles, indexed by their number (the keydir stores numbers, 4 bytes, not
/// ids). Numbers are never reused within a process.
#[derive(Clone, Default)]
pub(crate) struct FileTable {
    by_num: Vec<Option<Arc<DataFile>>>,
}

impl FileTable {
    pub fn get(&self, num: &u32) -> Option<&Arc<DataFile>> {
        self.by_num.get(*num as usize)?.as_ref()
    }

    pub fn insert(&mut self, df: Arc<DataFile>) {
        let n = df.num as usize;
        if self.by_num.len() <= n {
            self.by_num.resize(n + 1, None);
        }
        self.by_num[n] = Some(df);
    }

    pub fn remove(&mut self, num: &u32) {
        if let Some(slot) = self.by_num.get_mut(*num as usize) {
            *slot = None;
        }
    }

    /// The files, oldest (lowest id) first.
    pub fn values(&self) -> Vec<&Arc<DataFile>> {
        let mut v: Vec<&Arc<DataFile>> = self.by_num.iter().flatten().collect();
        v.sort_by_key(|f| f.id);
        v
    }

    /// The ids, sorted.
    pub fn keys(&self) -> Vec<FileId> {
        self.values().iter().map(|f| f.id).collect()
    }

    /// One more than the highest number in use.
    pub fn next_num(&self) -> u32 {
        self.by_num.len() as u32
    }
}
