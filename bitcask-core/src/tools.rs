//! Offline tools: `check` verifies every record and hint entry of a store, `repair` rewrites
//! damaged datafiles keeping every valid record.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bitcask_format::{decode_entry, Entry, FileHeader, FileKind, HintReader, FILE_HEADER_LEN};

use crate::error::{Error, Result};
use crate::files::{data_name, hint_name, join, parse_name, tmp_name, FileId, Name, LOCK_NAME};
use crate::storage::{OpenMode, OsStorage, Storage};

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
}

/// What `check` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Every datafile and hint file, datafiles first within each id.
    pub files: Vec<FileCheck>,
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

/// What a hint entry must agree with: one record of a datafile.
#[derive(PartialEq, Eq)]
struct RecordInfo {
    offset: u64,
    len: u32,
    key: Vec<u8>,
    tombstone: bool,
    expiry: Option<u64>,
}

/// One valid entry of a datafile: raw bytes position and the records it holds.
struct ValidEntry {
    offset: u64,
    len: u64,
    records: Vec<RecordInfo>,
}

/// Splits `buf` (a whole datafile) into valid entries and damaged regions, resynchronizing
/// after each damaged region at the next offset where a valid entry starts.
fn walk(buf: &[u8]) -> (Vec<ValidEntry>, Vec<Problem>) {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let mut pos = FILE_HEADER_LEN;
    if let Err(e) = FileHeader::decode(buf) {
        let n = buf.len().min(FILE_HEADER_LEN) as u64;
        problems.push(Problem { offset: 0, len: n, detail: format!("file header: {}", e.kind) });
    }
    while pos < buf.len() {
        match decode_entry(&buf[pos..]) {
            Ok((entry, len)) => {
                let info = |offset: usize, len: usize, r: &bitcask_format::Record<'_>| RecordInfo {
                    offset: offset as u64,
                    len: len as u32,
                    key: r.key.to_vec(),
                    tombstone: r.tombstone,
                    expiry: r.expiry,
                };
                let records = match entry {
                    Entry::Record(r) => vec![info(pos, len, &r)],
                    Entry::Batch(b) => b
                        .records()
                        .map(|(at, l, r)| info(pos + b.body_offset + at, l, &r))
                        .collect(),
                };
                entries.push(ValidEntry { offset: pos as u64, len: len as u64, records });
                pos += len;
            }
            Err(e) => {
                let next = bitcask_format::next_entry_start(buf, pos + 1);
                let detail = if e.is_truncated() && next == buf.len() {
                    "torn record at the end of the file".to_owned()
                } else {
                    e.kind.to_string()
                };
                problems.push(Problem { offset: pos as u64, len: (next - pos) as u64, detail });
                pos = next;
            }
        }
    }
    (entries, problems)
}

fn read_all(storage: &dyn Storage, path: &Path) -> Result<Vec<u8>> {
    let f = storage.open(path, OpenMode::Read).map_err(|e| Error::io("opening", path, e))?;
    let len = f.len().map_err(|e| Error::io("reading the length of", path, e))?;
    let mut buf = vec![0u8; len as usize];
    f.read_at(&mut buf, 0).map_err(|e| Error::io("reading", path, e))?;
    Ok(buf)
}

fn exists(storage: &dyn Storage, path: &Path) -> bool {
    storage.is_dir(path).is_ok()
}

fn store_files(storage: &dyn Storage, dir: &Path) -> Result<(Vec<FileId>, Vec<FileId>)> {
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

/// Verifies every record checksum of every datafile and every entry of every hint file
/// (against the datafile it describes) of the store in `dir`. Read-only: it takes no lock
/// and changes nothing. `progress` gets (bytes done, bytes total).
pub fn check(dir: impl AsRef<Path>, progress: impl FnMut(u64, u64)) -> Result<CheckReport> {
    check_with_storage(&OsStorage, dir.as_ref(), progress)
}

/// [`check`] through another storage.
pub fn check_with_storage(
    storage: &dyn Storage,
    dir: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<CheckReport> {
    let (data, hints) = store_files(storage, dir)?;
    let mut report = CheckReport::default();
    let mut total = 0;
    for id in &data {
        let p = join(dir, &data_name(*id));
        let f = storage.open(&p, OpenMode::Read).map_err(|e| Error::io("opening", &p, e))?;
        total += f.len().map_err(|e| Error::io("reading the length of", &p, e))?;
    }
    let mut done = 0;
    for id in &data {
        let path = join(dir, &data_name(*id));
        let buf = read_all(storage, &path)?;
        let (entries, mut problems) = walk(&buf);
        if let Ok(h) = FileHeader::decode(&buf) {
            if h.kind != FileKind::Data || h.file_id != id.0 {
                problems.insert(
                    0,
                    Problem {
                        offset: 0,
                        len: FILE_HEADER_LEN as u64,
                        detail: "file header names another file".into(),
                    },
                );
            }
        }
        let records: HashMap<u64, &RecordInfo> =
            entries.iter().flat_map(|e| e.records.iter().map(|r| (r.offset, r))).collect();
        report.files.push(FileCheck {
            path,
            kind: CheckedKind::Data,
            bytes: buf.len() as u64,
            records: records.len() as u64,
            problems,
        });
        done += buf.len() as u64;
        progress(done, total);
        if hints.contains(id) {
            let hpath = join(dir, &hint_name(*id));
            let hbuf = read_all(storage, &hpath)?;
            let mut problems = Vec::new();
            let mut count = 0;
            match HintReader::new(&hbuf, id.0, buf.len() as u64) {
                Err(e) => problems.push(Problem {
                    offset: e.offset,
                    len: hbuf.len() as u64 - e.offset.min(hbuf.len() as u64),
                    detail: e.kind.to_string(),
                }),
                Ok(reader) => {
                    for entry in reader {
                        match entry {
                            Err(e) => {
                                problems.push(Problem {
                                    offset: e.offset,
                                    len: 0,
                                    detail: e.kind.to_string(),
                                });
                                break;
                            }
                            Ok(h) => {
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
                                        detail: "hint entry does not match the datafile's record"
                                            .into(),
                                    });
                                }
                            }
                        }
                    }
                }
            }
            report.files.push(FileCheck {
                path: hpath,
                kind: CheckedKind::Hint,
                bytes: hbuf.len() as u64,
                records: count,
                problems,
            });
        }
    }
    for id in hints.iter().filter(|h| !data.contains(h)) {
        let hpath = join(dir, &hint_name(*id));
        report.files.push(FileCheck {
            path: hpath,
            kind: CheckedKind::Hint,
            bytes: 0,
            records: 0,
            problems: vec![Problem {
                offset: 0,
                len: 0,
                detail: "hint file without its datafile".into(),
            }],
        });
    }
    Ok(report)
}

/// What `repair` did to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairedFile {
    /// The file (now replaced, or removed for a hint file).
    pub path: PathBuf,
    /// Where the original was moved.
    pub backup: PathBuf,
    /// Records kept (datafiles).
    pub records_kept: u64,
    /// Regions that could not be saved.
    pub lost: Vec<Problem>,
}

/// What `repair` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// Each file rewritten or set aside.
    pub files: Vec<RepairedFile>,
}

impl RepairReport {
    /// Bytes that could not be saved.
    pub fn bytes_lost(&self) -> u64 {
        self.files.iter().flat_map(|f| &f.lost).map(|p| p.len).sum()
    }
}

/// Rewrites every damaged datafile of the store in `dir` with all its valid records (a
/// batch is kept whole or not at all), and sets damaged or orphaned hint files aside. The
/// originals are moved into `backup_dir` (created if missing). Takes the store's lock:
/// fails with [`Error::Locked`] while a writer has it open.
pub fn repair(dir: impl AsRef<Path>, backup_dir: impl AsRef<Path>) -> Result<RepairReport> {
    repair_with_storage(Arc::new(OsStorage), dir.as_ref(), backup_dir.as_ref())
}

/// [`repair`] through another storage.
pub fn repair_with_storage(
    storage: Arc<dyn Storage>,
    dir: &Path,
    backup_dir: &Path,
) -> Result<RepairReport> {
    let storage = storage.as_ref();
    let check = check_with_storage(storage, dir, |_, _| {})?;
    let lock_path = join(dir, LOCK_NAME);
    let _lock =
        match storage.try_lock(&lock_path).map_err(|e| Error::io("locking", &lock_path, e))? {
            Some(g) => g,
            None => return Err(Error::Locked { path: dir.to_path_buf() }),
        };
    let mut report = RepairReport::default();
    if check.is_clean() {
        return Ok(report);
    }
    storage.create_dir_all(backup_dir).or_else(|e| {
        if storage.is_dir(backup_dir).unwrap_or(false) {
            Ok(())
        } else {
            Err(Error::io("creating", backup_dir, e))
        }
    })?;
    let backup_of = |path: &Path| backup_dir.join(path.file_name().unwrap_or_default());
    for f in check.files.iter().filter(|f| !f.problems.is_empty()) {
        let backup = backup_of(&f.path);
        match f.kind {
            CheckedKind::Hint => {
                storage.rename(&f.path, &backup).map_err(|e| Error::io("moving", &f.path, e))?;
                report.files.push(RepairedFile {
                    path: f.path.clone(),
                    backup,
                    records_kept: 0,
                    lost: Vec::new(),
                });
            }
            CheckedKind::Data => {
                let name =
                    f.path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
                let Name::Data(id) = parse_name(&name) else { continue };
                let buf = read_all(storage, &f.path)?;
                let (entries, lost) = walk(&buf);
                let mut out = Vec::with_capacity(buf.len());
                FileHeader::new(FileKind::Data, id.0).encode(&mut out);
                let mut kept = 0;
                for e in &entries {
                    out.extend_from_slice(&buf[e.offset as usize..(e.offset + e.len) as usize]);
                    kept += e.records.len() as u64;
                }
                let tmp = join(dir, &tmp_name(&name));
                let file = storage
                    .open(&tmp, OpenMode::CreateTruncate)
                    .map_err(|e| Error::io("creating", &tmp, e))?;
                file.write_at(&out, 0).map_err(|e| Error::io("writing", &tmp, e))?;
                file.sync_data().map_err(|e| Error::io("syncing", &tmp, e))?;
                storage.rename(&f.path, &backup).map_err(|e| Error::io("moving", &f.path, e))?;
                storage.rename(&tmp, &f.path).map_err(|e| Error::io("renaming", &tmp, e))?;
                // Its hint (if any) describes the old layout.
                let hint = join(dir, &hint_name(id));
                if exists(storage, &hint)
                    && !check.files.iter().any(|c| c.path == hint && !c.problems.is_empty())
                {
                    storage
                        .rename(&hint, &backup_of(&hint))
                        .map_err(|e| Error::io("moving", &hint, e))?;
                }
                report.files.push(RepairedFile {
                    path: f.path.clone(),
                    backup,
                    records_kept: kept,
                    lost,
                });
            }
        }
    }
    storage.sync_dir(backup_dir).map_err(|e| Error::io("syncing directory", backup_dir, e))?;
    storage.sync_dir(dir).map_err(|e| Error::io("syncing directory", dir, e))?;
    Ok(report)
}
