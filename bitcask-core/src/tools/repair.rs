//! `repair`: rewrites damaged datafiles with every valid record (a batch whole or not at
//! all) and sets damaged or orphaned hint files aside, keeping the originals in a backup
//! folder.

use std::path::Path;
use std::sync::Arc;

use bitcask_format::{FileHeader, FileKind, Record};

use super::check::{check_one, check_with_storage, CheckReport, CheckedKind, FileCheck};
use super::rollback::{classify, latest_positions, lost_records, LostRecord, Rollback};
use super::{exists, read_all, store_files, walk, Problem};
use crate::error::{Error, Result};
use crate::files::{hint_name, join, parse_name, tmp_name, Name, LOCK_NAME};
use crate::storage::{OpenMode, OsStorage, Storage};

/// What `repair` did to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairedFile {
    /// The file (now replaced, or removed for a hint file).
    pub path: std::path::PathBuf,
    /// Where the original was moved.
    pub backup: std::path::PathBuf,
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
    /// What the records it could not save mean for their keys (as far as a hint or the
    /// damaged headers name them; a record nothing names is not in these lists).
    pub rollback: Rollback,
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

/// [`repair`], asking first: with the store's lock held (so no writer can change what was
/// checked), `confirm` sees the check's findings and says whether to go on. A locked store
/// is [`Error::Locked`] before anything is checked or announced; a clean store or a `false`
/// from `confirm` changes nothing.
pub fn repair_confirmed(
    dir: impl AsRef<Path>,
    backup_dir: impl AsRef<Path>,
    confirm: impl FnOnce(&CheckReport) -> bool,
) -> Result<Option<RepairReport>> {
    let storage = OsStorage;
    repair_locked(&storage, dir.as_ref(), backup_dir.as_ref(), confirm)
}

/// [`repair`] through another storage.
pub fn repair_with_storage(
    storage: Arc<dyn Storage>,
    dir: &Path,
    backup_dir: &Path,
) -> Result<RepairReport> {
    Ok(repair_locked(storage.as_ref(), dir, backup_dir, |_| true)?.unwrap_or_default())
}

fn repair_locked(
    storage: &dyn Storage,
    dir: &Path,
    backup_dir: &Path,
    confirm: impl FnOnce(&CheckReport) -> bool,
) -> Result<Option<RepairReport>> {
    if !storage.is_dir(dir).unwrap_or(false) {
        // Let the check report a missing or wrong path.
        return check_with_storage(storage, dir, |_, _| {}).map(|_| None);
    }
    // A sharded store (a server's) is repaired shard by shard, every lock held first.
    let shards = crate::shard_layout::shard_dirs(storage, dir)?;
    let dirs = shards.clone().unwrap_or_else(|| vec![dir.to_path_buf()]);
    let mut _locks = Vec::with_capacity(dirs.len());
    for d in &dirs {
        let lock_path = join(d, LOCK_NAME);
        match storage.try_lock(&lock_path) {
            Ok(Some(g)) => _locks.push(g),
            Ok(None) => return Err(Error::Locked { path: dir.to_path_buf() }),
            Err(e) => return Err(Error::io("locking", &lock_path, e)),
        }
    }
    let checks =
        dirs.iter().map(|d| check_one(storage, d, |_, _| {})).collect::<Result<Vec<_>>>()?;
    let combined = CheckReport {
        files: checks.iter().flat_map(|c| c.files.clone()).collect(),
        quarantined: checks.iter().flat_map(|c| c.quarantined.clone()).collect(),
    };
    if combined.is_clean() {
        return Ok(Some(RepairReport::default()));
    }
    if !confirm(&combined) {
        return Ok(None);
    }
    let mut report = RepairReport::default();
    for (d, c) in dirs.iter().zip(&checks).filter(|(_, c)| !c.is_clean()) {
        let name = d.file_name().unwrap_or_default();
        let backup =
            if shards.is_some() { backup_dir.join(name) } else { backup_dir.to_path_buf() };
        let r = repair_checked(storage, d, &backup, c)?;
        report.files.extend(r.files);
        report.rollback.rolled_back.extend(r.rollback.rolled_back);
        report.rollback.uncertain.extend(r.rollback.uncertain);
        report.rollback.deletes_kept.extend(r.rollback.deletes_kept);
    }
    Ok(Some(report))
}

fn repair_checked(
    storage: &dyn Storage,
    dir: &Path,
    backup_dir: &Path,
    check: &CheckReport,
) -> Result<RepairReport> {
    let mut report = RepairReport::default();
    storage.create_dir_all(backup_dir).or_else(|e| {
        if storage.is_dir(backup_dir).unwrap_or(false) {
            Ok(())
        } else {
            Err(Error::io("creating", backup_dir, e))
        }
    })?;
    let r = Repair { storage, dir, backup_dir, check };
    let lost = r.lost_records()?;
    let keys = lost.iter().map(|l| l.key.clone()).collect();
    let latest = latest_positions(storage, dir, &store_files(storage, dir)?.0, &keys);
    report.rollback = classify(&lost, &latest);
    for f in check.files.iter().filter(|f| !f.problems.is_empty()) {
        let done = match f.kind {
            CheckedKind::Hint => Some(r.set_hint_aside(f)?),
            CheckedKind::Data => r.rewrite_datafile(f, &lost)?,
        };
        report.files.extend(done);
    }
    storage.sync_dir(backup_dir).map_err(|e| Error::io("syncing directory", backup_dir, e))?;
    storage.sync_dir(dir).map_err(|e| Error::io("syncing directory", dir, e))?;
    Ok(report)
}

struct Repair<'a> {
    storage: &'a dyn Storage,
    dir: &'a Path,
    backup_dir: &'a Path,
    check: &'a CheckReport,
}

impl Repair<'_> {
    fn backup_of(&self, path: &Path) -> std::path::PathBuf {
        self.backup_dir.join(path.file_name().unwrap_or_default())
    }

    fn move_aside(&self, path: &Path) -> Result<std::path::PathBuf> {
        let backup = self.backup_of(path);
        self.storage.rename(path, &backup).map_err(|e| Error::io("moving", path, e))?;
        Ok(backup)
    }

    /// A damaged hint file goes to the backup folder (open rebuilds it by scanning).
    fn set_hint_aside(&self, f: &FileCheck) -> Result<RepairedFile> {
        let backup = self.move_aside(&f.path)?;
        Ok(RepairedFile { path: f.path.clone(), backup, records_kept: 0, lost: Vec::new() })
    }

    /// The records in the damaged regions of every damaged datafile, in store order.
    fn lost_records(&self) -> Result<Vec<LostRecord>> {
        let mut lost = Vec::new();
        for f in self.check.files.iter().filter(|f| !f.problems.is_empty()) {
            let name = f.path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if let (CheckedKind::Data, Name::Data(id)) = (f.kind, parse_name(name)) {
                let buf = read_all(self.storage, &f.path)?;
                let (_, problems) = walk(&buf, true);
                lost.extend(lost_records(self.storage, self.dir, id, &buf, &problems));
            }
        }
        lost.sort_by_key(|l| (l.file, l.offset));
        Ok(lost)
    }

    /// Writes every valid entry of a damaged datafile to a temporary file, synced, then
    /// swaps it in; the original and its (now stale) hint go to the backup folder. A delete
    /// the hint names in a damaged region is written again in its place.
    fn rewrite_datafile(
        &self,
        f: &FileCheck,
        lost_records: &[LostRecord],
    ) -> Result<Option<RepairedFile>> {
        let name = f.path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let Name::Data(id) = parse_name(&name) else { return Ok(None) };
        let buf = read_all(self.storage, &f.path)?;
        // Zeros at the end are never data (preallocated space), whichever file this is.
        let (entries, lost) = walk(&buf, true);
        let deletes = lost_records.iter().filter(|l| l.file == id && l.tombstone && l.from_hint);
        let mut pieces: Vec<(u64, Vec<u8>, u64)> = entries
            .iter()
            .map(|e| {
                (
                    e.offset,
                    buf[e.offset as usize..(e.offset + e.len) as usize].to_vec(),
                    e.records.len() as u64,
                )
            })
            .collect();
        for l in deletes {
            let mut rec = Vec::new();
            Record::tombstone(&l.key).encode(&mut rec).map_err(|e| Error::format(&f.path, e))?;
            pieces.push((l.offset, rec, 1));
        }
        pieces.sort_by_key(|p| p.0);
        let mut out = Vec::with_capacity(buf.len());
        FileHeader::new(FileKind::Data, id.0).encode(&mut out);
        let mut kept = 0;
        for (_, bytes, records) in &pieces {
            out.extend_from_slice(bytes);
            kept += records;
        }
        let tmp = join(self.dir, &tmp_name(&name));
        let file = self
            .storage
            .open(&tmp, OpenMode::CreateTruncate)
            .map_err(|e| Error::io("creating", &tmp, e))?;
        file.write_at(&out, 0).map_err(|e| Error::io("writing", &tmp, e))?;
        file.sync_data().map_err(|e| Error::io("syncing", &tmp, e))?;
        let backup = self.move_aside(&f.path)?;
        self.storage.rename(&tmp, &f.path).map_err(|e| Error::io("renaming", &tmp, e))?;
        // Its hint (if any) describes the old layout.
        let hint = join(self.dir, &hint_name(id));
        let damaged_hint =
            self.check.files.iter().any(|c| c.path == hint && !c.problems.is_empty());
        if exists(self.storage, &hint) && !damaged_hint {
            self.move_aside(&hint)?;
        }
        Ok(Some(RepairedFile { path: f.path.clone(), backup, records_kept: kept, lost }))
    }
}
