//! `check`: verifies every record of every datafile and every hint entry against the
//! record it describes. Read-only: it takes no lock and changes nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bitcask_format::{FileHeader, FileKind, HintReader, FILE_HEADER_LEN};

use super::{read_all, store_files, walk, Problem, RecordInfo};
use crate::error::{Error, Result};
use crate::files::{data_name, hint_name, join, FileId};
use crate::storage::{OpenMode, OsStorage, Storage};

/// The kind of a checked file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckedKind {
    /// A datafile.
    Data,
    /// A hint file.
    Hint,
}

/// What `check` found in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    /// The file.
    pub path: PathBuf,
    /// Datafile or hint file.
    pub kind: CheckedKind,
    /// Its size.
    pub bytes: u64,
    /// Valid records (datafile) or entries (hint file).
    pub records: u64,
    /// Damage found, in file order.
    pub problems: Vec<Problem>,
    /// For a damaged datafile: the keys whose records lie in the damaged regions, as its
    /// hint file names them; without a hint, as the damaged records' own headers claim
    /// (unverified: the damage may be in the key itself).
    pub damaged_keys: Vec<Vec<u8>>,
}

/// Bytes an open cut (a torn tail) or skipped (damage at rest) from a datafile, kept in a
/// quarantine file of the store's directory. They are no longer part of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// The quarantine file.
    pub path: PathBuf,
    /// The datafile the bytes came from.
    pub file: FileId,
    /// Where in it they were.
    pub offset: u64,
    /// How many bytes it keeps.
    pub len: u64,
}

/// What `check` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Every datafile and hint file, datafiles first within each id.
    pub files: Vec<FileCheck>,
    /// Quarantine files: bytes earlier opens set aside (they do not make the store unclean).
    pub quarantined: Vec<Quarantined>,
}

impl CheckReport {
    /// True when no file has a problem.
    pub fn is_clean(&self) -> bool {
        self.files.iter().all(|f| f.problems.is_empty())
    }

    /// Number of problems in all files.
    pub fn problem_count(&self) -> usize {
        self.files.iter().map(|f| f.problems.len()).sum()
    }
}

/// Verifies every record checksum of every datafile and every entry of every hint file
/// (against the datafile it describes) of the store in `dir`. Read-only: it takes no lock
/// and changes nothing. `progress` gets (bytes done, bytes total).
pub fn check(dir: impl AsRef<Path>, progress: impl FnMut(u64, u64)) -> Result<CheckReport> {
    check_with_storage(&OsStorage, dir.as_ref(), progress)
}

/// [`check`] through another storage.
///
/// A sharded store (a server's) is checked shard by shard, as one report.
pub fn check_with_storage(
    storage: &dyn Storage,
    dir: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<CheckReport> {
    let Some(shards) = crate::shard_layout::shard_dirs(storage, dir)? else {
        return check_one(storage, dir, progress);
    };
    let mut all = CheckReport::default();
    for d in shards {
        let r = check_one(storage, &d, &mut progress)?;
        all.files.extend(r.files);
        all.quarantined.extend(r.quarantined);
    }
    Ok(all)
}

/// [`check_with_storage`] of one plain store directory.
pub(crate) fn check_one(
    storage: &dyn Storage,
    dir: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<CheckReport> {
    let (data, hints) = store_files(storage, dir)?;
    let mut report =
        CheckReport { quarantined: super::quarantine_files(storage, dir)?, ..Default::default() };
    let total = total_bytes(storage, dir, &data)?;
    let mut done = 0;
    for id in &data {
        let path = join(dir, &data_name(*id));
        let buf = read_all(storage, &path)?;
        let newest = data.last() == Some(id);
        let (mut file, records) = check_datafile(*id, path, &buf, newest);
        if !file.problems.is_empty() {
            file.damaged_keys = if hints.contains(id) {
                keys_in(storage, dir, *id, buf.len() as u64, &file.problems)
            } else {
                keys_claimed(&buf, &file.problems)
            };
        }
        report.files.push(file);
        done += buf.len() as u64;
        progress(done, total);
        if hints.contains(id) {
            let index: HashMap<u64, &RecordInfo> =
                records.iter().flat_map(|e| e.records.iter().map(|r| (r.offset, r))).collect();
            report.files.push(check_hint(storage, dir, *id, buf.len() as u64, &index)?);
        }
    }
    for id in hints.iter().filter(|h| !data.contains(h)) {
        report.files.push(FileCheck {
            path: join(dir, &hint_name(*id)),
            kind: CheckedKind::Hint,
            bytes: 0,
            records: 0,
            problems: vec![Problem {
                offset: 0,
                len: 0,
                detail: "hint file without its datafile".into(),
            }],
            damaged_keys: Vec::new(),
        });
    }
    Ok(report)
}

/// The keys the hint of datafile `id` places inside the `problems` regions.
fn keys_in(
    storage: &dyn Storage,
    dir: &Path,
    id: FileId,
    data_len: u64,
    problems: &[Problem],
) -> Vec<Vec<u8>> {
    let Ok(buf) = read_all(storage, &join(dir, &hint_name(id))) else { return Vec::new() };
    let Ok(reader) = HintReader::new(&buf, id.0, data_len) else { return Vec::new() };
    let damaged = |at: u64| problems.iter().any(|p| at >= p.offset && at < p.offset + p.len.max(1));
    reader.flatten().filter(|h| damaged(h.offset)).map(|h| h.key.to_vec()).collect()
}

/// Without a hint: the keys the damaged records' own headers claim (unverified).
fn keys_claimed(buf: &[u8], problems: &[Problem]) -> Vec<Vec<u8>> {
    let at = |p: &Problem| buf.get(usize::try_from(p.offset).ok()?..);
    problems
        .iter()
        .filter(|p| p.offset >= FILE_HEADER_LEN as u64)
        .filter_map(|p| bitcask_format::unverified_record_key(at(p)?))
        .map(<[u8]>::to_vec)
        .collect()
}

fn total_bytes(storage: &dyn Storage, dir: &Path, data: &[FileId]) -> Result<u64> {
    let mut total = 0;
    for id in data {
        let p = join(dir, &data_name(*id));
        let f = storage.open(&p, OpenMode::Read).map_err(|e| Error::io("opening", &p, e))?;
        total += f.len().map_err(|e| Error::io("reading the length of", &p, e))?;
    }
    Ok(total)
}

/// Checks datafile `id` (its bytes in `buf`); returns its report and its valid entries.
/// Only the newest file may end in unused (preallocated) space.
fn check_datafile(
    id: FileId,
    path: PathBuf,
    buf: &[u8],
    newest: bool,
) -> (FileCheck, Vec<super::ValidEntry>) {
    let (entries, mut problems) = walk(buf, newest);
    if let Ok(h) = FileHeader::decode(buf) {
        if h.kind != FileKind::Data || h.file_id != id.0 {
            let detail = "file header names another file".into();
            problems.insert(0, Problem { offset: 0, len: FILE_HEADER_LEN as u64, detail });
        }
    }
    let records = entries.iter().map(|e| e.records.len() as u64).sum();
    let bytes = buf.len() as u64;
    let damaged_keys = Vec::new();
    let file = FileCheck { path, kind: CheckedKind::Data, bytes, records, problems, damaged_keys };
    (file, entries)
}

/// Checks the hint file of datafile `id` (of `data_len` bytes) against its records.
fn check_hint(
    storage: &dyn Storage,
    dir: &Path,
    id: FileId,
    data_len: u64,
    records: &HashMap<u64, &RecordInfo>,
) -> Result<FileCheck> {
    let path = join(dir, &hint_name(id));
    let buf = read_all(storage, &path)?;
    let mut problems = Vec::new();
    let mut count = 0;
    match HintReader::new(&buf, id.0, data_len) {
        Err(e) => problems.push(Problem {
            offset: e.offset,
            len: buf.len() as u64 - e.offset.min(buf.len() as u64),
            detail: e.kind.to_string(),
        }),
        Ok(reader) => {
            for entry in reader {
                let h = match entry {
                    Ok(h) => h,
                    Err(e) => {
                        let detail = e.kind.to_string();
                        problems.push(Problem { offset: e.offset, len: 0, detail });
                        break;
                    }
                };
                count += 1;
                let matches = records.get(&h.offset).is_some_and(|r| {
                    r.len == h.len
                        && r.key == h.key
                        && r.tombstone == h.tombstone
                        && r.expiry == h.expiry
                });
                if !matches {
                    problems.push(Problem {
                        offset: h.offset,
                        len: u64::from(h.len),
                        detail: "hint entry does not match the datafile's record".into(),
                    });
                }
            }
        }
    }
    Ok(FileCheck {
        path,
        kind: CheckedKind::Hint,
        bytes: buf.len() as u64,
        records: count,
        problems,
        damaged_keys: Vec::new(),
    })
}
