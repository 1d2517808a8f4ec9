//! Merge triggers: which sealed files are worth merging now, and why.

use crate::engine::Engine;
use crate::files::FileId;

/// Why a file is a merge candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MergeReason {
    /// Its dead fraction reached [`MergeOptions::fragmentation`](crate::MergeOptions).
    Fragmentation(f64),
    /// Its dead bytes reached [`MergeOptions::dead_bytes`](crate::MergeOptions).
    DeadBytes(u64),
    /// It is smaller than [`MergeOptions::small_file`](crate::MergeOptions), and so is
    /// another file.
    SmallFile(u64),
    /// The dead bytes of all files reached
    /// [`MergeOptions::total_dead_bytes`](crate::MergeOptions).
    TotalDeadBytes(u64),
}

/// The files a merge would take now, and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MergePlan {
    /// Candidate files with their reasons, oldest first.
    pub files: Vec<(FileId, Vec<MergeReason>)>,
}

impl MergePlan {
    /// True when no trigger fired.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Which files the triggers select now.
pub(crate) fn plan(inner: &Engine) -> MergePlan {
    let o = &inner.opts.merge;
    let active = inner.log.active_id();
    let table = inner.index.file_table();
    let stats: Vec<_> = table
        .values()
        .into_iter()
        .filter(|f| Some(f.id) != active)
        .map(|f| f.stats(false))
        .collect();
    let total_dead: u64 = stats.iter().map(|s| s.dead_bytes).sum();
    let small = stats.iter().filter(|s| s.size < o.small_file).count();
    let mut files = Vec::new();
    for s in &stats {
        let mut why = Vec::new();
        if s.dead_bytes > 0 && s.fragmentation() >= o.fragmentation {
            why.push(MergeReason::Fragmentation(s.fragmentation()));
        }
        if s.dead_bytes > 0 && s.dead_bytes >= o.dead_bytes {
            why.push(MergeReason::DeadBytes(s.dead_bytes));
        }
        if small >= 2 && s.size < o.small_file {
            why.push(MergeReason::SmallFile(s.size));
        }
        if s.dead_bytes > 0 && total_dead >= o.total_dead_bytes {
            why.push(MergeReason::TotalDeadBytes(total_dead));
        }
        if !why.is_empty() {
            files.push((s.file_id, why));
        }
    }
    MergePlan { files }
}
