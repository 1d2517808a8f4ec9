//! Offline tools: `check` verifies every record and hint entry of a store, `repair` rewrites
//! damaged datafiles keeping every valid record. This file holds what both read: a whole
//! datafile as valid entries and damaged regions (the format's walk), and the store's files.
//! [`replace_file`] writes a small file atomically and durably (the cluster's files).
//!
//! ```
//! use bitcask_core::tools::check;
//! # let dir = tempfile::tempdir()?;
//! let db = bitcask_core::Bitcask::open(dir.path(), Default::default())?;
//! db.put(b"k", b"v")?;
//! db.close()?;
//! let report = check(dir.path(), |_done, _total| {})?;
//! assert!(report.is_clean());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;

use bitcask_format::{Entry, FileHeader, Walked, FILE_HEADER_LEN};

use crate::error::{Error, Result};
use crate::files::{parse_name, FileId, Name};
use crate::storage::{OpenMode, Storage};

mod check;
mod repair;
mod rollback;

pub use check::{check, check_with_storage, CheckReport, CheckedKind, FileCheck, Quarantined};
pub use repair::{repair, repair_confirmed, repair_with_storage, RepairReport, RepairedFile};
pub use rollback::Rollback;

pub use crate::durable_file::replace_file;

/// A damaged region of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where it starts.
    pub offset: u64,
    /// How many bytes it spans.
    pub len: u64,
    /// What is wrong.
    pub detail: String,
}

/// What a hint entry must agree with: one record of a datafile.
#[derive(PartialEq, Eq)]
pub(crate) struct RecordInfo {
    pub offset: u64,
    pub len: u32,
    pub key: Vec<u8>,
    pub tombstone: bool,
    pub expiry: Option<u64>,
}

/// One valid entry of a datafile: raw bytes position and the records it holds.
pub(crate) struct ValidEntry {
    pub offset: u64,
    pub len: u64,
    pub records: Vec<RecordInfo>,
}

/// Splits `buf` (a whole datafile) into valid entries and damaged regions, resynchronizing
/// after each damaged region at the next offset where a valid entry starts.
pub(crate) fn walk(buf: &[u8], newest: bool) -> (Vec<ValidEntry>, Vec<Problem>) {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    if let Err(e) = FileHeader::decode(buf) {
        let n = buf.len().min(FILE_HEADER_LEN) as u64;
        problems.push(Problem { offset: 0, len: n, detail: format!("file header: {}", e.kind) });
    }
    let info = |offset: usize, len: usize, r: &bitcask_format::Record<'_>| RecordInfo {
        offset: offset as u64,
        len: len as u32,
        key: r.key.to_vec(),
        tombstone: r.tombstone,
        expiry: r.expiry,
    };
    for step in bitcask_format::walk(buf, newest) {
        match step {
            // A sync point carries no data.
            Walked::Entry { entry: Entry::SyncPoint { .. }, .. } | Walked::UnusedTail { .. } => {}
            Walked::Entry { offset, len, entry } => {
                let records = match entry {
                    Entry::Batch(b) => b
                        .records()
                        .map(|(at, l, r)| info(offset + b.body_offset + at, l, &r))
                        .collect(),
                    Entry::Record(r) => vec![info(offset, len, &r)],
                    Entry::SyncPoint { .. } => Vec::new(),
                };
                entries.push(ValidEntry { offset: offset as u64, len: len as u64, records });
            }
            Walked::Damaged { offset, len, error } => {
                let detail = if error.is_truncated() && offset + len == buf.len() {
                    "torn record at the end of the file".to_owned()
                } else {
                    error.kind.to_string()
                };
                problems.push(Problem { offset: offset as u64, len: len as u64, detail });
            }
        }
    }
    (entries, problems)
}

pub(crate) fn read_all(storage: &dyn Storage, path: &Path) -> Result<Vec<u8>> {
    let f = storage.open(path, OpenMode::Read).map_err(|e| Error::io("opening", path, e))?;
    let mut len = f.len().map_err(|e| Error::io("reading the length of", path, e))?;
    loop {
        // A running writer may cut its active file's unused tail meanwhile.
        let mut buf = vec![0u8; len as usize];
        if crate::datafile::read_shrinking(f.as_ref(), path, &mut buf, 0, &mut len)? {
            return Ok(buf);
        }
    }
}

pub(crate) fn exists(storage: &dyn Storage, path: &Path) -> bool {
    storage.is_dir(path).is_ok()
}

/// The quarantine files in `dir`: bytes an open cut or skipped, with where they came from.
pub(crate) fn quarantine_files(storage: &dyn Storage, dir: &Path) -> Result<Vec<Quarantined>> {
    let names = storage.list(dir).map_err(|e| Error::io("listing", dir, e))?;
    let mut out = Vec::new();
    for n in names {
        if let Name::Quarantine(file, offset) = parse_name(&n) {
            let path = dir.join(&n);
            let f =
                storage.open(&path, OpenMode::Read).map_err(|e| Error::io("opening", &path, e))?;
            let len = f.len().map_err(|e| Error::io("reading the length of", &path, e))?;
            out.push(Quarantined { path, file, offset, len });
        }
    }
    out.sort_by_key(|q| (q.file, q.offset));
    Ok(out)
}

pub(crate) fn store_files(storage: &dyn Storage, dir: &Path) -> Result<(Vec<FileId>, Vec<FileId>)> {
    match storage.is_dir(dir) {
        Ok(true) => {}
        Ok(false) => return Err(Error::NotADirectory { path: dir.to_path_buf() }),
        Err(_) => return Err(Error::NotFound { path: dir.to_path_buf() }),
    }
    let names = storage.list(dir).map_err(|e| Error::io("listing", dir, e))?;
    let mut data = Vec::new();
    let mut hints = Vec::new();
    for n in names {
        match parse_name(&n) {
            Name::Data(id) => data.push(id),
            Name::Hint(id) => hints.push(id),
            _ => {}
        }
    }
    data.sort();
    hints.sort();
    Ok((data, hints))
}
