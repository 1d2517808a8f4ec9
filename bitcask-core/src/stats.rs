//! Store-wide statistics.

use crate::datafile::{dead_fraction, FileStats};
use crate::engine::Engine;
use crate::file_table::FileTable;
use crate::files::{hint_name, join};
use crate::storage::OpenMode;
use crate::util::now_ms;

/// Store-wide statistics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Live (unexpired) keys.
    pub keys: u64,
    /// Per-datafile statistics, oldest first.
    pub files: Vec<FileStats>,
    /// Sum of the files' live bytes.
    pub live_bytes: u64,
    /// Sum of the files' dead bytes.
    pub dead_bytes: u64,
    /// Sum of the datafiles' sizes.
    pub disk_bytes: u64,
    /// Sum of the hint files' sizes (disk use is `disk_bytes + hint_bytes`).
    pub hint_bytes: u64,
    /// Heap memory held by the keydir (allocated capacity, keys included).
    pub keydir_bytes: u64,
}

impl Stats {
    /// The statistics of several stores (the shards of a sharded store) as one: sums, and
    /// every file, shard after shard.
    pub fn combine(parts: impl IntoIterator<Item = Stats>) -> Stats {
        let mut all = Stats::default();
        for p in parts {
            all.keys += p.keys;
            all.files.extend(p.files);
            all.live_bytes += p.live_bytes;
            all.dead_bytes += p.dead_bytes;
            all.disk_bytes += p.disk_bytes;
            all.hint_bytes += p.hint_bytes;
            all.keydir_bytes += p.keydir_bytes;
        }
        all
    }

    /// Dead bytes as a fraction of all record bytes.
    pub fn fragmentation(&self) -> f64 {
        dead_fraction(self.live_bytes, self.dead_bytes)
    }
}
impl Engine {
    /// The sizes of the hint files of the files in `table` (a missing one counts 0).
    fn hint_bytes(&self, table: &FileTable) -> u64 {
        let storage = self.storage.as_ref();
        let len = |id| {
            let path = join(&self.dir, &hint_name(id));
            storage.open(&path, OpenMode::Read).and_then(|f| f.len()).unwrap_or(0)
        };
        table.values().iter().map(|f| len(f.id)).sum()
    }

    /// Statistics of every datafile, with expired records counted as dead.
    pub(crate) fn stats(&self) -> Stats {
        let table = self.index.file_table();
        let active = self.log.active_id();
        let mut files: Vec<FileStats> =
            table.values().into_iter().map(|f| f.stats(Some(f.id) == active)).collect();
        if self.index.ttl_keys() > 0 {
            // Expired records are dead even before a merge drops them.
            let now = now_ms();
            for (_, loc) in self.index.keydir.snapshot(|_, l| l.expired(now)) {
                let id = table.get(&loc.file).map(|f| f.id);
                if let Some(f) = files.iter_mut().find(|f| Some(f.file_id) == id) {
                    // Counters read while writers run may lag: never below zero.
                    f.live_keys = f.live_keys.saturating_sub(1);
                    f.live_bytes = f.live_bytes.saturating_sub(u64::from(loc.len));
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
            hint_bytes: self.hint_bytes(&table),
            keydir_bytes: self.index.keydir.heap_bytes() as u64,
            files,
        }
    }
}
