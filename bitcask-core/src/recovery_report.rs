//! What open found and did: the report every front end shows an operator (the CLI warns,
//! the server logs it and shows it in `INFO`, the C ABI returns it).

use std::fmt;
use std::path::PathBuf;

use crate::files::FileId;
use crate::options::RecoveryMode;

/// A region of a datafile that open skipped or cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedRegion {
    /// The datafile.
    pub file: FileId,
    /// Where the region starts.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
    /// What was wrong there.
    pub detail: String,
    /// The key the damaged record's header claims (unverified: the damage may be in the key
    /// itself), when its header could be read.
    pub key: Option<Vec<u8>>,
    /// Where the region's bytes were set aside before they were cut or skipped (a writer's
    /// open; a read-only open changes nothing and sets nothing aside).
    pub quarantine: Option<PathBuf>,
}

/// What open found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Datafiles read record by record (no usable hint, or past the hint's prefix).
    pub files_scanned: usize,
    /// Datafiles whose keydir entries came from a hint file.
    pub hints_used: usize,
    /// Hint files found unusable (damaged, stale) and ignored.
    pub hints_rejected: usize,
    /// Records (and hint entries) applied to the keydir.
    pub records: u64,
    /// Bytes cut from the tail of the newest datafile (a torn or garbage tail).
    pub bytes_truncated: u64,
    /// The torn tail that was cut, if any.
    pub truncated: Option<DamagedRegion>,
    /// Regions of damage at rest skipped in [`RecoveryMode::SkipCorrupt`].
    pub skipped: Vec<DamagedRegion>,
    /// An unfinished merge that open completed from its manifest.
    pub merge_completed: bool,
    /// Leftover temporary files (an unfinished merge or hint) removed.
    pub temp_files_removed: usize,
    /// Hint files written for datafiles that had none.
    pub hints_written: usize,
    /// Hint files that did not describe their datafile (another store's hint, or one the
    /// datafile disagrees with): ignored, the datafile scanned instead.
    pub foreign_hints: Vec<FileId>,
}

impl RecoveryReport {
    /// True when open found no damage: nothing cut but unused space, nothing skipped, no
    /// hint file ignored.
    pub fn is_clean(&self) -> bool {
        self.truncated.is_none() && self.skipped.is_empty() && self.hints_rejected == 0
    }

    /// Every damaged region open found, cut or skipped.
    pub fn damaged(&self) -> impl Iterator<Item = &DamagedRegion> {
        self.truncated.iter().chain(&self.skipped)
    }
}

impl fmt::Display for DamagedRegion {
    /// One line: where, how much, what, which key, where the bytes went.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.data at offset {} ({} bytes): {}",
            self.file, self.offset, self.len, self.detail
        )?;
        if let Some(k) = &self.key {
            let shown: String =
                String::from_utf8_lossy(&k[..k.len().min(64)]).escape_debug().collect();
            write!(f, "; the damaged record claims key \"{shown}\"")?;
        }
        match &self.quarantine {
            Some(q) => write!(f, "; bytes kept in {}", q.display()),
            None => Ok(()),
        }
    }
}

impl RecoveryReport {
    /// One line per thing an operator should hear about: each region cut or skipped, each
    /// hint file ignored. Empty when open found nothing wrong.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(r) = &self.truncated {
            out.push(format!("cut a torn tail (writes never synced): {r}"));
        }
        for r in &self.skipped {
            out.push(format!(
                "skipped damage at rest ({:?} recovery): {r}",
                RecoveryMode::SkipCorrupt
            ));
        }
        for id in &self.foreign_hints {
            out.push(format!(
                "ignored {id}.hint: it does not describe {id}.data (scanned instead)"
            ));
        }
        let damaged = self.hints_rejected.saturating_sub(self.foreign_hints.len());
        if damaged > 0 {
            out.push(format!(
                "ignored {damaged} damaged hint file(s) (their datafiles were scanned)"
            ));
        }
        out
    }
}
