//! Opening a store: completing or discarding an unfinished merge, then rebuilding the keydir
//! from hint files and datafiles, truncating a torn tail of the newest datafile.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bitcask_format::{
    FileHeader, FileKind, HintEntry, HintReader, HintWriter, ScanOutcome, ScannedRecord, Scanner,
    FILE_HEADER_LEN,
};

use crate::error::{Error, Result};
use crate::files::{
    data_name, hint_name, join, parse_name, tmp_name, DataFile, FileId, FileTable, Name,
};
use crate::keydir::{Keydir, Loc};
use crate::merge::Manifest;
use crate::options::{Options, RecoveryMode, MAX_FILE_SIZE};
use crate::storage::{OpenMode, Storage, StorageFile};
use crate::util::now_ms;

/// Datafiles are scanned through a buffer of this many bytes (grown for a larger record).
#[doc(hidden)]
pub const SCAN_BUFFER_SIZE: usize = 1 << 20;

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
    /// Corrupt regions skipped in [`RecoveryMode::SkipCorrupt`].
    pub skipped: Vec<DamagedRegion>,
    /// An unfinished merge that open completed from its manifest.
    pub merge_completed: bool,
    /// Leftover temporary files (an unfinished merge or hint) removed.
    pub temp_files_removed: usize,
    /// Hint files written for datafiles that had none.
    pub hints_written: usize,
}

pub(crate) struct Recovered {
    pub files: FileTable,
    pub keydir: Keydir,
    pub ttl_keys: u64,
    pub report: RecoveryReport,
    pub next_gen: u64,
    /// The newest datafile, when the writer may keep appending to it.
    pub reusable: Option<Arc<DataFile>>,
}

/// Live and dead record counts of one file, gathered while building.
#[derive(Default, Clone, Copy)]
struct Counts {
    live_keys: i64,
    live_bytes: i64,
    dead_keys: u64,
    dead_bytes: u64,
}

struct Builder {
    files: FileTable,
    keydir: Keydir,
    counts: Vec<Counts>,
    ttl_keys: u64,
    now: u64,
    records: u64,
}

impl Builder {
    fn count(&mut self, num: u32) -> &mut Counts {
        let n = num as usize;
        if self.counts.len() <= n {
            self.counts.resize(n + 1, Counts::default());
        }
        &mut self.counts[n]
    }

    fn apply(
        &mut self,
        file: &DataFile,
        key: &[u8],
        offset: u64,
        len: u32,
        tombstone: bool,
        expiry: Option<u64>,
    ) {
        self.records += 1;
        let loc = Loc { file: file.num, offset, len, expiry: expiry.unwrap_or(0) };
        // An expired record still hides older versions of its key: it acts as a delete.
        let live = !tombstone && (loc.expiry == 0 || !loc.expired(self.now));
        let old = self.keydir.set_mut(key, live.then_some(loc));
        if let Some(old) = old {
            if old.expiry != 0 {
                self.ttl_keys -= 1;
            }
            let c = self.count(old.file);
            c.live_keys -= 1;
            c.live_bytes -= i64::from(old.len);
            c.dead_keys += 1;
            c.dead_bytes += u64::from(old.len);
        }
        let c = self.count(file.num);
        if live {
            c.live_keys += 1;
            c.live_bytes += i64::from(len);
            if loc.expiry != 0 {
                self.ttl_keys += 1;
            }
        } else {
            c.dead_keys += 1;
            c.dead_bytes += u64::from(len);
        }
    }

    /// Moves the gathered counts into the files.
    fn finish_counts(&mut self) {
        for f in self.files.values() {
            if let Some(c) = self.counts.get(f.num as usize) {
                f.add_counts(
                    c.live_keys.max(0) as u64,
                    c.live_bytes.max(0) as u64,
                    c.dead_keys,
                    c.dead_bytes,
                );
            }
        }
    }
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |e| Error::io(op, path, e)
}

pub(crate) fn recover(
    storage: &dyn Storage,
    dir: &Path,
    opts: &Options,
    read_only: bool,
) -> Result<Recovered> {
    let mut report = RecoveryReport::default();
    let mut names = storage.list(dir).map_err(io_err("listing", dir))?;

    // 1. An unfinished merge: complete it if its manifest was committed, else discard it.
    let mut excluded = BTreeSet::new();
    let mut tmp_outputs = BTreeSet::new();
    if names.iter().any(|n| n == crate::files::MANIFEST_NAME) {
        let manifest = Manifest::read(storage, dir)?;
        if read_only {
            excluded.extend(manifest.inputs.iter().copied());
            tmp_outputs.extend(manifest.outputs.iter().copied());
        } else {
            manifest.complete(storage, dir)?;
            report.merge_completed = true;
            names = storage.list(dir).map_err(io_err("listing", dir))?;
        }
    }
    if !read_only {
        let mut removed = 0;
        for n in &names {
            let stale_hint =
                matches!(parse_name(n), Name::Hint(id) if !names.contains(&data_name(id)));
            if parse_name(n) == Name::Tmp || stale_hint {
                let p = join(dir, n);
                storage.remove(&p).map_err(io_err("removing leftover", &p))?;
                removed += 1;
            }
        }
        if removed > 0 {
            storage.sync_dir(dir).map_err(io_err("syncing directory", dir))?;
            report.temp_files_removed = removed;
            names = storage.list(dir).map_err(io_err("listing", dir))?;
        }
    }

    let mut data: BTreeMap<FileId, PathBuf> = BTreeMap::new();
    let mut hints = BTreeSet::new();
    for n in &names {
        match parse_name(n) {
            Name::Data(id) if !excluded.contains(&id) => {
                data.insert(id, join(dir, n));
            }
            Name::Hint(id) => {
                hints.insert(id);
            }
            _ => {}
        }
    }
    for id in tmp_outputs {
        // Read-only view of a merge between its commit and its renames.
        if !data.contains_key(&id) && names.contains(&tmp_name(&data_name(id))) {
            data.insert(id, join(dir, &tmp_name(&data_name(id))));
        }
    }

    let newest = data.keys().next_back().copied();
    let next_gen = newest.map_or(1, |id| id.generation() + 1);
    let mut b = Builder {
        files: FileTable::default(),
        counts: Vec::new(),
        keydir: Keydir::new(),
        ttl_keys: 0,
        now: now_ms(),
        records: 0,
    };
    let mut reusable = None;
    let mut missing_hints = Vec::new();

    // Size the keydir once from the hint files' entry counts, so building never rehashes.
    let mut expected = 0u64;
    for id in data.keys().filter(|id| hints.contains(id)) {
        expected += hint_count(storage, dir, *id).unwrap_or(0);
    }
    b.keydir.reserve(expected.min(1 << 32) as usize);

    for (&id, path) in &data {
        let is_newest = Some(id) == newest;
        let writable = is_newest && !read_only && id.seq() == 0;
        let mode = if writable { OpenMode::ReadWrite } else { OpenMode::Read };
        let file = storage.open(path, mode).map_err(io_err("opening", path))?;
        let len = file.len().map_err(io_err("reading the length of", path))?;

        // The header. A newest file whose header never fully reached the disk holds no
        // record: the writer starts it again.
        let mut head = [0u8; FILE_HEADER_LEN];
        let head_ok = if len >= FILE_HEADER_LEN as u64 {
            file.read_at(&mut head, 0).map_err(io_err("reading", path))?;
            FileHeader::decode_expect(&head, FileKind::Data, id.0)
        } else {
            Err(bitcask_format::Error::new(
                bitcask_format::ErrorKind::Truncated { needed: FILE_HEADER_LEN as u64 },
                0,
            ))
        };
        if let Err(e) = head_ok {
            let torn = e.is_truncated() || head.iter().all(|&b| b == 0);
            if is_newest && torn {
                if writable {
                    rewrite_header(file.as_ref(), id, path)?;
                    if len > 0 {
                        report.bytes_truncated += len;
                        report.truncated = Some(DamagedRegion {
                            file: id,
                            offset: 0,
                            len,
                            detail: e.kind.to_string(),
                        });
                    }
                    let df = Arc::new(DataFile::new(
                        id,
                        b.files.next_num(),
                        path.clone(),
                        file,
                        FILE_HEADER_LEN as u64,
                    ));
                    b.files.insert(df.clone());
                    reusable = Some(df);
                }
                continue;
            }
            if let bitcask_format::ErrorKind::UnsupportedVersion { .. } = e.kind {
                return Err(Error::format(path, e));
            }
            if opts.recovery == RecoveryMode::SkipCorrupt {
                report.skipped.push(DamagedRegion {
                    file: id,
                    offset: 0,
                    len,
                    detail: e.kind.to_string(),
                });
                continue;
            }
            return Err(Error::format(path, e));
        }

        if len > MAX_FILE_SIZE {
            return Err(Error::corruption(path, 0, "datafiles of 4 GiB or more are not supported"));
        }
        let df = Arc::new(DataFile::new(id, b.files.next_num(), path.clone(), file.clone(), len));
        b.files.insert(df.clone());

        // Hint first, for the prefix it covers.
        let mut start = FILE_HEADER_LEN as u64;
        if hints.contains(&id) {
            match load_hint(storage, dir, id, len, &df, &mut b) {
                Ok(Some(covered)) => {
                    start = covered;
                    report.hints_used += 1;
                }
                Ok(None) | Err(_) => report.hints_rejected += 1,
            }
        }
        if start < len || start == FILE_HEADER_LEN as u64 {
            report.files_scanned += 1;
            let mut hint = (!read_only && !is_newest && start == FILE_HEADER_LEN as u64)
                .then(|| HintWriter::new(id.0));
            let end = scan_into(
                file.as_ref(),
                path,
                &df,
                start,
                len,
                is_newest,
                opts,
                &mut b,
                &mut report,
                hint.as_mut(),
            )?;
            if end < len {
                // Only the newest file gets here (older files fail or skip above).
                if writable {
                    file.set_len(end).map_err(io_err("truncating", path))?;
                    file.sync_data().map_err(io_err("syncing", path))?;
                }
            }
            df.set_end(end);
            if let Some(h) = hint {
                missing_hints.push((id, h.finish(end)));
            }
        }
        if is_newest && !read_only {
            // It may hold writes of a process that died before syncing them; make them
            // durable before anything newer is acknowledged as synced.
            file.sync_data().map_err(io_err("syncing", path))?;
        }
        if writable {
            reusable = Some(df);
        } else if !(is_newest && read_only) {
            // Sealed: no one appends to it any more (a read-only open leaves the newest file
            // alone: a writer may be appending to it).
            df.seal(opts.mmap_reads);
        }
    }

    if !read_only {
        // A crashed process may have created files (the newest datafile above all) whose
        // directory entries never became durable; make them durable before anything in them
        // is acknowledged as synced.
        storage.sync_dir(dir).map_err(io_err("syncing directory", dir))?;
        for (id, bytes) in missing_hints {
            if write_hint_file(storage, dir, id, &bytes).is_ok() {
                report.hints_written += 1;
            }
        }
    }
    report.records = b.records;
    b.finish_counts();
    b.keydir.shrink();
    if let Some(df) = &reusable {
        if df.end() >= opts.max_file_size {
            reusable = None;
        }
    }
    Ok(Recovered {
        files: b.files,
        keydir: b.keydir,
        ttl_keys: b.ttl_keys,
        report,
        next_gen,
        reusable,
    })
}

/// The entry count in a hint file's trailer, as a sizing hint only. It is not verified yet,
/// so it is capped by what the file could hold (an entry takes at least 5 bytes): a damaged
/// count cannot drive a large allocation.
fn hint_count(storage: &dyn Storage, dir: &Path, id: FileId) -> Option<u64> {
    let f = storage.open(&join(dir, &hint_name(id)), OpenMode::Read).ok()?;
    let len = f.len().ok()?;
    let mut t = [0u8; bitcask_format::HINT_TRAILER_LEN];
    let at = len.checked_sub(t.len() as u64)?;
    f.read_at(&mut t, at).ok()?;
    let count = u64::from_le_bytes(t.get(1..9)?.try_into().ok()?);
    Some(count.min(len / 5))
}

fn rewrite_header(file: &dyn StorageFile, id: FileId, path: &Path) -> Result<()> {
    let mut head = Vec::with_capacity(FILE_HEADER_LEN);
    FileHeader::new(FileKind::Data, id.0).encode(&mut head);
    file.set_len(0).map_err(io_err("truncating", path))?;
    file.write_at(&head, 0).map_err(io_err("writing", path))?;
    file.sync_data().map_err(io_err("syncing", path))
}

/// Applies a usable hint file; returns the datafile prefix it covered, or `None` when the
/// hint is unusable (its entries are then not applied: the file is validated whole first).
fn load_hint(
    storage: &dyn Storage,
    dir: &Path,
    id: FileId,
    data_len: u64,
    df: &DataFile,
    b: &mut Builder,
) -> Result<Option<u64>> {
    let path = join(dir, &hint_name(id));
    let file = storage.open(&path, OpenMode::Read).map_err(io_err("opening", &path))?;
    let len = file.len().map_err(io_err("reading the length of", &path))?;
    let mut buf = vec![0u8; len as usize];
    file.read_at(&mut buf, 0).map_err(io_err("reading", &path))?;
    let reader = match HintReader::new(&buf, id.0, data_len) {
        Ok(r) => r,
        Err(_) => return Ok(None),
    };
    let covered = reader.trailer().data_len;
    // Validate every entry before applying any, so a bad hint leaves no trace.
    if reader.clone().any(|e| e.is_err()) {
        return Ok(None);
    }
    for e in reader.flatten() {
        b.apply(df, e.key, e.offset, e.len, e.tombstone, e.expiry);
    }
    Ok(Some(covered))
}

/// Scans `[start, len)` of a datafile into the keydir. Returns the end of the valid prefix.
#[allow(clippy::too_many_arguments)]
fn scan_into(
    file: &dyn StorageFile,
    path: &Path,
    df: &DataFile,
    start: u64,
    len: u64,
    is_newest: bool,
    opts: &Options,
    b: &mut Builder,
    report: &mut RecoveryReport,
    mut hint: Option<&mut HintWriter>,
) -> Result<u64> {
    let mut pos = start;
    loop {
        let outcome = scan_range(file, path, pos, len, |r, _| {
            apply_scanned(df, r, b, hint.as_deref_mut());
            Ok(())
        })?;
        let (at, detail) = match outcome {
            ScanOutcome::Corrupt(e) => (e.offset, e.kind.to_string()),
            ScanOutcome::TornTail { offset } => {
                (offset, "torn record at the end of the file".to_owned())
            }
            other => return Ok(other.valid_end().unwrap_or(len)),
        };
        if is_newest {
            // Point-in-time recovery: unsynced writes may land out of order, so everything
            // from the first bad entry on is an incomplete tail.
            report.bytes_truncated += len - at;
            report.truncated =
                Some(DamagedRegion { file: df.id, offset: at, len: len - at, detail });
            return Ok(at);
        }
        if opts.recovery == RecoveryMode::Strict {
            return Err(Error::corruption(path, at, detail));
        }
        // Skip to the next offset where a valid entry starts.
        let next = resync(file, path, at + 1, len)?;
        report.skipped.push(DamagedRegion { file: df.id, offset: at, len: next - at, detail });
        if next >= len {
            return Ok(len);
        }
        pos = next;
    }
}

/// Calls `f` with every record of `[start, end)` of a datafile and its raw bytes, reading
/// `SCAN_BUFFER_SIZE` bytes at a time (more for a larger entry), and returns how the scan
/// ended: `Clean`, `TornTail` or `Corrupt`.
fn scan_range(
    file: &dyn StorageFile,
    path: &Path,
    start: u64,
    end: u64,
    mut f: impl FnMut(&ScannedRecord<'_>, &[u8]) -> Result<()>,
) -> Result<ScanOutcome> {
    let mut pos = start;
    let mut buf = Vec::new();
    let mut want = SCAN_BUFFER_SIZE;
    while pos < end {
        let n = want.min((end - pos) as usize);
        buf.resize(n, 0);
        file.read_at(&mut buf, pos).map_err(io_err("reading", path))?;
        let mut scan = Scanner::new(&buf, pos, pos + n as u64 == end);
        for r in scan.by_ref() {
            let at = (r.offset - pos) as usize;
            f(&r, &buf[at..at + r.len as usize])?;
        }
        match scan.outcome() {
            ScanOutcome::NeedMore { offset, needed } => {
                want = SCAN_BUFFER_SIZE
                    .max(needed as usize)
                    .max((pos + n as u64 - offset) as usize + 1);
                pos = offset;
            }
            ScanOutcome::Running => unreachable!("scanner stopped while running"),
            done => return Ok(done),
        }
    }
    Ok(ScanOutcome::Clean { end: pos })
}

fn apply_scanned(
    df: &DataFile,
    r: &ScannedRecord<'_>,
    b: &mut Builder,
    hint: Option<&mut HintWriter>,
) {
    let rec = &r.record;
    b.apply(df, rec.key, r.offset, r.len, rec.tombstone, rec.expiry);
    if let Some(h) = hint {
        let _ = h.push(&HintEntry {
            key: rec.key,
            offset: r.offset,
            len: r.len,
            expiry: rec.expiry,
            tombstone: rec.tombstone,
        });
    }
}

/// The first offset at or after `from` where a valid entry starts, or `len`.
fn resync(file: &dyn StorageFile, path: &Path, from: u64, len: u64) -> Result<u64> {
    if from >= len {
        return Ok(len);
    }
    let mut buf = vec![0u8; (len - from) as usize];
    file.read_at(&mut buf, from).map_err(io_err("reading", path))?;
    Ok(from + bitcask_format::next_entry_start(&buf, 0) as u64)
}

/// Writes a hint file atomically: a temporary file, synced, renamed into place.
pub(crate) fn write_hint_file(
    storage: &dyn Storage,
    dir: &Path,
    id: FileId,
    bytes: &[u8],
) -> Result<()> {
    let path = join(dir, &hint_name(id));
    let tmp = join(dir, &tmp_name(&hint_name(id)));
    let result = (|| {
        let f = storage.open(&tmp, OpenMode::CreateTruncate).map_err(io_err("creating", &tmp))?;
        f.write_at(bytes, 0).map_err(io_err("writing", &tmp))?;
        f.sync_data().map_err(io_err("syncing", &tmp))?;
        storage.rename(&tmp, &path).map_err(io_err("renaming", &tmp))
    })();
    if result.is_err() {
        let _ = storage.remove(&tmp);
    }
    result
}

/// Calls `f` with every record of `[FILE_HEADER_LEN, df.end())` and its raw bytes, in file
/// order. The range was validated when the file was opened or written, so any damage is
/// corruption.
pub(crate) fn for_each_record(
    df: &DataFile,
    f: impl FnMut(&ScannedRecord<'_>, &[u8]) -> Result<()>,
) -> Result<()> {
    match scan_range(df.file.as_ref(), &df.path, FILE_HEADER_LEN as u64, df.end(), f)? {
        ScanOutcome::Clean { .. } => Ok(()),
        other => Err(Error::corruption(
            &df.path,
            other.valid_end().unwrap_or(FILE_HEADER_LEN as u64),
            "unreadable record in a sealed datafile",
        )),
    }
}

/// Builds the hint file of a whole datafile by scanning it.
pub(crate) fn build_hint(df: &DataFile) -> Result<Vec<u8>> {
    let mut w = HintWriter::new(df.id.0);
    for_each_record(df, |r, _| {
        let rec = r.record;
        w.push(&HintEntry {
            key: rec.key,
            offset: r.offset,
            len: r.len,
            expiry: rec.expiry,
            tombstone: rec.tombstone,
        })
        .map_err(|e| Error::format(&df.path, e))
    })?;
    Ok(w.finish(df.end()))
}
