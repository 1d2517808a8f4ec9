//! Opening a store: completing or discarding an unfinished merge, then rebuilding the keydir
//! from hint files and datafiles, truncating a torn tail of the newest datafile. The steps of
//! docs/durability.md ("Recovery") are the methods of [`Recovery`], called in order by
//! [`recover`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use bitcask_format::{
    FileHeader, FileKind, HintWriter, ScanOutcome, ScannedRecord, FILE_HEADER_LEN,
};

use crate::accounting::{All, Delta};
use crate::active_log::Newest;
use crate::datafile::{durable_mark_after, resync, scan_chunks_marked, unused_from, DataFile};
use crate::error::{Error, Result};
use crate::file_table::FileTable;
use crate::files::{data_name, join, parse_name, tmp_name, FileId, Name, MANIFEST_NAME};
use crate::hint;
use crate::keydir::{Keydir, Loc};
use crate::manifest::Manifest;
use crate::options::{Options, RecoveryMode, MAX_FILE_SIZE};
use crate::quarantine;
pub use crate::recovery_report::{DamagedRegion, RecoveryReport};
use crate::storage::{OpenMode, Storage, StorageFile};
use crate::util::{io_err, now_ms};

/// What recovery hands to the engine.
pub(crate) struct Recovered {
    pub files: FileTable,
    pub keydir: Keydir,
    pub ttl_keys: u64,
    pub report: RecoveryReport,
    /// The newest datafile, for the active log.
    pub newest: Newest,
}

/// The accounting of the records applied, and how many, gathered while building (one per
/// thread when the build runs on two).
struct Tally {
    delta: Delta<All>,
    records: u64,
    now: u64,
}

impl Tally {
    fn new(now: u64) -> Tally {
        Tally { delta: Delta::default(), records: 0, now }
    }

    /// What the keydir is to hold for the record at `loc`: the record, or nothing for a
    /// tombstone or an expired record (which still hides older versions of its key: it acts
    /// as a delete).
    fn target(&self, loc: &Loc, tombstone: bool) -> Option<Loc> {
        let live = !tombstone && (loc.expiry == 0 || !loc.expired(self.now));
        live.then_some(*loc)
    }

    /// Counts the record at `loc` (live at `new`, or dead) superseding `old`.
    fn record(&mut self, loc: &Loc, new: Option<Loc>, old: Option<Loc>) {
        self.records += 1;
        self.delta.record(loc.file, loc.len, new, old);
    }

    /// Adds another thread's tally.
    fn absorb(&mut self, other: Tally) {
        self.delta.absorb(other.delta);
        self.records += other.records;
    }
}

/// Hint files with more entries than this are applied on two threads.
const PARALLEL_ENTRIES: usize = 1 << 16;

/// The keydir and per-file counts being built.
struct Builder {
    files: FileTable,
    keydir: Keydir,
    tally: Tally,
}

impl Builder {
    fn apply(
        &mut self,
        file: &DataFile,
        key: &[u8],
        offset: u64,
        len: u32,
        tombstone: bool,
        expiry: Option<u64>,
    ) {
        let loc = Loc { file: file.num, offset, len, expiry: expiry.unwrap_or(0) };
        let new = self.tally.target(&loc, tombstone);
        let old = self.keydir.set_mut(key, new);
        self.tally.record(&loc, new, old);
    }

    /// Applies a hint file's entries, in order: a large one on two threads, each building
    /// the keydir shards of its half (a key's versions stay in order within its shard).
    fn apply_hint(&mut self, file: &DataFile, entries: &[bitcask_format::HintEntry<'_>]) {
        if entries.len() < PARALLEL_ENTRIES {
            for e in entries {
                self.apply(file, e.key, e.offset, e.len, e.tombstone, e.expiry);
            }
            return;
        }
        let now = self.tally.now;
        let [mut lo, mut hi] = self.keydir.halves_mut();
        let tally = &mut self.tally;
        let build = |part: &mut crate::keydir::KeydirPart<'_>, t: &mut Tally| {
            for e in entries {
                let loc = Loc {
                    file: file.num,
                    offset: e.offset,
                    len: e.len,
                    expiry: e.expiry.unwrap_or(0),
                };
                let new = t.target(&loc, e.tombstone);
                if let Some(old) = part.set(e.key, new) {
                    t.record(&loc, new, old);
                }
            }
        };
        let other = std::thread::scope(|s| {
            let h = s.spawn(|| {
                let mut t = Tally::new(now);
                build(&mut hi, &mut t);
                t
            });
            build(&mut lo, tally);
            h.join()
        });
        match other {
            Ok(t) => self.tally.absorb(t),
            Err(p) => std::panic::resume_unwind(p),
        }
    }

    /// Moves the gathered counts into the files; returns the keys with an expiry.
    fn finish_counts(&mut self) -> u64 {
        let ttl_keys = AtomicU64::new(0);
        let delta = std::mem::take(&mut self.tally.delta);
        delta.apply(|n| self.files.get(&n).map(|f| &**f), &ttl_keys);
        ttl_keys.into_inner()
    }
}

/// Recovery in progress.
struct Recovery<'a> {
    storage: &'a dyn Storage,
    dir: &'a Path,
    opts: &'a Options,
    read_only: bool,
    report: RecoveryReport,
    b: Builder,
    /// The datafiles to load, by id, and the ids that have a hint file.
    data: BTreeMap<FileId, PathBuf>,
    hints: BTreeSet<FileId>,
    newest: Option<FileId>,
    reusable: Option<Arc<DataFile>>,
    /// The newest datafile's format version and how much of it is known durable.
    newest_version: u16,
    newest_mark: u64,
    /// Hints built while scanning sealed files that had none, written at the end.
    missing_hints: Vec<(FileId, Vec<u8>)>,
}

/// Opens the store in `dir`: the steps below, in order.
pub(crate) fn recover(
    storage: &dyn Storage,
    dir: &Path,
    opts: &Options,
    read_only: bool,
) -> Result<Recovered> {
    let mut r = Recovery {
        storage,
        dir,
        opts,
        read_only,
        report: RecoveryReport::default(),
        b: Builder {
            files: FileTable::default(),
            keydir: Keydir::new(),
            tally: Tally::new(now_ms()),
        },
        data: BTreeMap::new(),
        hints: BTreeSet::new(),
        newest: None,
        reusable: None,
        newest_version: 0,
        newest_mark: FILE_HEADER_LEN as u64,
        missing_hints: Vec::new(),
    };
    let (excluded, tmp_outputs) = r.finish_or_discard_merge()?;
    r.remove_leftovers()?;
    r.find_files(&excluded, tmp_outputs)?;
    r.size_keydir();
    for (id, path) in std::mem::take(&mut r.data) {
        r.load_datafile(id, &path)?;
    }
    r.make_entries_durable()?;
    Ok(r.finish())
}

impl Recovery<'_> {
    fn list(&self) -> Result<Vec<String>> {
        self.storage.list(self.dir).map_err(io_err("listing", self.dir))
    }

    /// Step 1: an unfinished merge is completed if its manifest was committed (its
    /// temporary outputs are otherwise removed with the leftovers). A read-only open changes
    /// nothing: it reads the pre-merge inputs' replacement as the manifest names them.
    /// Returns the inputs to leave out and the outputs to read under temporary names.
    fn finish_or_discard_merge(&mut self) -> Result<(BTreeSet<FileId>, BTreeSet<FileId>)> {
        let (mut excluded, mut tmp_outputs) = (BTreeSet::new(), BTreeSet::new());
        if !self.list()?.iter().any(|n| n == MANIFEST_NAME) {
            return Ok((excluded, tmp_outputs));
        }
        let manifest = Manifest::read(self.storage, self.dir)?;
        if self.read_only {
            excluded.extend(manifest.inputs.iter().copied());
            tmp_outputs.extend(manifest.outputs.iter().copied());
        } else {
            manifest.complete(self.storage, self.dir)?;
            self.report.merge_completed = true;
        }
        Ok((excluded, tmp_outputs))
    }

    /// Step 2: removes temporary files and hint files whose datafile is gone.
    fn remove_leftovers(&mut self) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        let names = self.list()?;
        let mut removed = 0;
        for n in &names {
            let stale_hint =
                matches!(parse_name(n), Name::Hint(id) if !names.contains(&data_name(id)));
            if parse_name(n) == Name::Tmp || stale_hint {
                let p = join(self.dir, n);
                self.storage.remove(&p).map_err(io_err("removing leftover", &p))?;
                removed += 1;
            }
        }
        if removed > 0 {
            self.storage.sync_dir(self.dir).map_err(io_err("syncing directory", self.dir))?;
            self.report.temp_files_removed = removed;
        }
        Ok(())
    }

    /// Step 3: the datafiles and hint files to load.
    fn find_files(
        &mut self,
        excluded: &BTreeSet<FileId>,
        tmp_outputs: BTreeSet<FileId>,
    ) -> Result<()> {
        let names = self.list()?;
        for n in &names {
            match parse_name(n) {
                Name::Data(id) if !excluded.contains(&id) => {
                    self.data.insert(id, join(self.dir, n));
                }
                Name::Hint(id) => {
                    self.hints.insert(id);
                }
                _ => {}
            }
        }
        for id in tmp_outputs {
            // Read-only view of a merge between its commit and its renames.
            let tmp = tmp_name(&data_name(id));
            if !self.data.contains_key(&id) && names.contains(&tmp) {
                self.data.insert(id, join(self.dir, &tmp));
            }
        }
        self.newest = self.data.keys().next_back().copied();
        Ok(())
    }

    /// Step 4: sizes the keydir once from the hint files' entry counts, so building it never
    /// rehashes.
    fn size_keydir(&mut self) {
        let expected: u64 = self
            .data
            .keys()
            .filter(|id| self.hints.contains(id))
            .map(|id| hint::count(self.storage, self.dir, *id).unwrap_or(0))
            .sum();
        self.b.keydir.reserve(expected.min(1 << 32) as usize);
    }

    /// Step 5, for each datafile in id order: its header, then its hint for the prefix the
    /// hint covers, then a scan of the rest. The newest file is recovered to a point in
    /// time (a torn or garbage tail is cut) and synced; older files are sealed.
    fn load_datafile(&mut self, id: FileId, path: &Path) -> Result<()> {
        let is_newest = Some(id) == self.newest;
        let writable = is_newest && !self.read_only && id.seq() == 0;
        let mode = if writable { OpenMode::ReadWrite } else { OpenMode::Read };
        let file = self.storage.open(path, mode).map_err(io_err("opening", path))?;
        let len = file.len().map_err(io_err("reading the length of", path))?;
        if !self.header_ok(id, path, &file, len, is_newest, writable)? {
            return Ok(());
        }
        if len > MAX_FILE_SIZE {
            return Err(Error::corruption(path, 0, "datafiles of 4 GiB or more are not supported"));
        }
        let num = self.b.files.next_num();
        let df = Arc::new(DataFile::new(id, num, path.to_path_buf(), file.clone(), len));
        self.b.files.insert(df.clone());
        let start = self.apply_hint(id, len, &df);
        if is_newest {
            // A hint is written only after its datafile prefix was synced.
            self.newest_mark = self.newest_mark.max(start);
        }
        if start < len || start == FILE_HEADER_LEN as u64 {
            self.scan_rest(&df, start, len, is_newest, writable)?;
        }
        if is_newest && !self.read_only {
            // It may hold writes of a process that died before syncing them; make them
            // durable before anything newer is acknowledged as synced.
            file.sync_data().map_err(io_err("syncing", path))?;
        }
        if writable {
            self.reusable = Some(df);
        } else if !(is_newest && self.read_only) {
            // Sealed: no one appends to it any more (a read-only open leaves the newest file
            // alone: a writer may be appending to it).
            df.seal(self.opts.mmap_reads);
        }
        Ok(())
    }

    /// Checks a datafile's header; false when the file is to be skipped (a damaged file in
    /// `SkipCorrupt` mode, or a newest file whose header never reached the disk, which the
    /// writer starts again).
    fn header_ok(
        &mut self,
        id: FileId,
        path: &Path,
        file: &Arc<dyn StorageFile>,
        len: u64,
        is_newest: bool,
        writable: bool,
    ) -> Result<bool> {
        let mut head = [0u8; FILE_HEADER_LEN];
        let checked = if len >= FILE_HEADER_LEN as u64 {
            file.read_at(&mut head, 0).map_err(io_err("reading", path))?;
            FileHeader::decode_expect(&head, FileKind::Data, id.0)
        } else {
            Err(bitcask_format::Error::new(
                bitcask_format::ErrorKind::Truncated { needed: FILE_HEADER_LEN as u64 },
                0,
            ))
        };
        let e = match checked {
            Ok(h) => {
                if is_newest {
                    self.newest_version = h.version;
                }
                return Ok(true);
            }
            Err(e) => e,
        };
        let damaged = |detail: &bitcask_format::Error| DamagedRegion {
            file: id,
            offset: 0,
            len,
            detail: detail.kind.to_string(),
            key: None,
            quarantine: None,
        };
        // A header is synced before any record is written after it: the newest file's
        // header is torn only when the file holds nothing else (shorter than a header, or
        // all zeros). Damage to a header with records after it is damage at rest.
        let torn = len < FILE_HEADER_LEN as u64 || unused_from(file.as_ref(), path, 0, len)?;
        if is_newest && torn {
            if writable {
                let region = self.set_aside(id, file.as_ref(), path, damaged(&e))?;
                rewrite_header(file.as_ref(), id, path)?;
                if len > 0 {
                    self.report.bytes_truncated += len;
                    self.report.truncated = Some(region);
                }
                let num = self.b.files.next_num();
                let df = Arc::new(DataFile::new(
                    id,
                    num,
                    path.to_path_buf(),
                    file.clone(),
                    FILE_HEADER_LEN as u64,
                ));
                self.b.files.insert(df.clone());
                self.reusable = Some(df);
                self.newest_version = bitcask_format::FORMAT_VERSION;
            }
            return Ok(false);
        }
        if let bitcask_format::ErrorKind::UnsupportedVersion { .. } = e.kind {
            return Err(Error::format(path, e));
        }
        if self.opts.recovery == RecoveryMode::SkipCorrupt && !torn {
            // Only the header is set aside: the records after it are read as usual (the
            // file's id is its name's; a file with a damaged header is never appended to).
            let region = DamagedRegion { len: FILE_HEADER_LEN as u64, ..damaged(&e) };
            let region = self.set_aside(id, file.as_ref(), path, region)?;
            self.report.skipped.push(region);
            return Ok(true);
        }
        if self.opts.recovery == RecoveryMode::SkipCorrupt {
            self.report.skipped.push(damaged(&e));
            return Ok(false);
        }
        Err(Error::format(path, e))
    }

    /// Applies the datafile's hint, if it has a usable one; returns where a scan must start
    /// (the end of the prefix the hint covers, or just after the header).
    fn apply_hint(&mut self, id: FileId, len: u64, df: &DataFile) -> u64 {
        if !self.hints.contains(&id) {
            return FILE_HEADER_LEN as u64;
        }
        let b = &mut self.b;
        let data = df.file.as_ref();
        let loaded = hint::load(self.storage, self.dir, id, data, len, |e| b.apply_hint(df, e));
        match loaded {
            Ok(hint::Loaded::Covers(covered)) => {
                self.report.hints_used += 1;
                covered
            }
            Ok(hint::Loaded::Foreign) => {
                self.report.hints_rejected += 1;
                self.report.foreign_hints.push(id);
                FILE_HEADER_LEN as u64
            }
            Ok(hint::Loaded::Damaged) | Err(_) => {
                self.report.hints_rejected += 1;
                FILE_HEADER_LEN as u64
            }
        }
    }

    /// Scans `[start, len)` of a datafile into the keydir (building its hint when a sealed
    /// file had none) and cuts the newest file's invalid tail.
    fn scan_rest(
        &mut self,
        df: &DataFile,
        start: u64,
        len: u64,
        is_newest: bool,
        writable: bool,
    ) -> Result<()> {
        self.report.files_scanned += 1;
        let build_hint = !self.read_only && !is_newest && start == FILE_HEADER_LEN as u64;
        let mut hint = build_hint.then(|| HintWriter::new(df.id.0));
        let end = self.scan_into(df, start, len, is_newest, hint.as_mut())?;
        if end < len && writable {
            // The newest file's torn tail (set aside already) or unused, preallocated space.
            df.file.set_len(end).map_err(io_err("truncating", &df.path))?;
            df.file.sync_data().map_err(io_err("syncing", &df.path))?;
        }
        df.set_end(end);
        if let Some(h) = hint {
            self.missing_hints.push((df.id, h.finish(end)));
        }
        Ok(())
    }

    /// Scans `[start, len)` of a datafile into the keydir. Returns the end of the valid
    /// prefix.
    ///
    /// Damage in the newest file after everything a sync point (or its hint) vouches for is
    /// a torn tail: unsynced writes may land out of order, so from it on everything is cut
    /// (set aside first). Damage before that point, or in any older file, is damage at rest:
    /// `Strict` refuses to open, `SkipCorrupt` sets the damaged region aside and keeps every
    /// valid entry after it.
    fn scan_into(
        &mut self,
        df: &DataFile,
        start: u64,
        len: u64,
        is_newest: bool,
        mut hint: Option<&mut HintWriter>,
    ) -> Result<u64> {
        let (file, path) = (df.file.as_ref(), df.path.as_path());
        let mut pos = start;
        loop {
            let b = &mut self.b;
            let mut mark = 0;
            let outcome = scan_chunks_marked(file, path, pos, len, &mut mark, |records| {
                for (r, _) in records {
                    apply_scanned(df, r, b, hint.as_deref_mut());
                }
                Ok(())
            })?;
            if is_newest {
                self.newest_mark = self.newest_mark.max(mark);
            }
            let (at, detail) = match outcome {
                ScanOutcome::Corrupt(e) => (e.offset, e.kind.to_string()),
                ScanOutcome::TornTail { offset } => {
                    (offset, "torn record at the end of the file".to_owned())
                }
                other => return Ok(other.valid_end().unwrap_or(len)),
            };
            if is_newest && unused_from(file, path, at, len)? {
                // Space preallocated for appends, never written: the end, not damage.
                return Ok(at);
            }
            let key = claimed_key(file, at, len);
            let region = DamagedRegion {
                file: df.id,
                offset: at,
                len: len - at,
                detail,
                key,
                quarantine: None,
            };
            let vouched = if is_newest {
                self.newest_mark.max(durable_mark_after(file, path, at + 1, len)?)
            } else {
                len
            };
            if vouched <= at {
                self.cut_tail(df, region)?;
                return Ok(at);
            }
            if self.opts.recovery == RecoveryMode::Strict {
                let detail = format!("{} (damage at rest: the bytes were synced)", region.detail);
                return Err(Error::corruption(path, at, detail));
            }
            // Skip to the next offset where a valid entry starts.
            let next = resync(file, path, at + 1, len)?;
            let region = DamagedRegion { len: next - at, ..region };
            let region = self.set_aside(df.id, file, path, region)?;
            self.report.skipped.push(region);
            if next >= len {
                return Ok(len);
            }
            pos = next;
        }
    }

    /// Reports the newest file's tail from `region.offset` on as cut; a writer's open sets
    /// its bytes aside (up to the last non-zero byte: the rest is unused space); `scan_rest`
    /// cuts it.
    fn cut_tail(&mut self, df: &DataFile, region: DamagedRegion) -> Result<()> {
        let (at, len) = (region.offset, region.len);
        // A read-only open sets nothing aside, and must not read the tail: a writer in
        // another process may be cutting its unused part right now.
        let mut region = if self.read_only {
            region
        } else {
            let used = used_end(df.file.as_ref(), &df.path, at, at + len)?;
            let shortened = DamagedRegion { len: used - at, ..region };
            self.set_aside(df.id, df.file.as_ref(), &df.path, shortened)?
        };
        region.len = len;
        self.report.bytes_truncated += len;
        self.report.truncated = Some(region);
        Ok(())
    }

    /// Copies a damaged region of datafile `id` into its quarantine file (a writer's open
    /// only).
    fn set_aside(
        &mut self,
        id: FileId,
        file: &dyn StorageFile,
        path: &Path,
        mut region: DamagedRegion,
    ) -> Result<DamagedRegion> {
        if !self.read_only && region.len > 0 {
            let (at, n) = (region.offset, region.len);
            region.quarantine =
                Some(quarantine::set_aside(self.storage, self.dir, id, file, path, at, n)?);
        }
        Ok(region)
    }

    /// Step 6: a crashed process may have created files (the newest datafile above all)
    /// whose directory entries never became durable; they are made durable before anything
    /// in them is acknowledged as synced. Then the hints built while scanning are written.
    fn make_entries_durable(&mut self) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        self.storage.sync_dir(self.dir).map_err(io_err("syncing directory", self.dir))?;
        for (id, bytes) in std::mem::take(&mut self.missing_hints) {
            if hint::write(self.storage, self.dir, id, &bytes).is_ok() {
                self.report.hints_written += 1;
            }
        }
        Ok(())
    }

    /// The rebuilt keydir and file table, with the file counts moved into the files, and
    /// the newest file for the log to go on with (or seal).
    fn finish(mut self) -> Recovered {
        self.report.records = self.b.tally.records;
        let ttl_keys = self.b.finish_counts();
        self.b.keydir.shrink();
        let newest = Newest {
            file: self.reusable.take(),
            // A file of an older format version takes no new entries (a version 1 file has
            // no sync points): the writer starts a new file.
            current: self.newest_version == bitcask_format::FORMAT_VERSION,
            durable_mark: self.newest_mark,
            next_gen: self.newest.map_or(1, |id| id.generation() + 1),
        };
        Recovered {
            files: self.b.files,
            keydir: self.b.keydir,
            ttl_keys,
            report: self.report,
            newest,
        }
    }
}

/// The key the damaged record at `at` claims, if its header and key can be read.
fn claimed_key(file: &dyn StorageFile, at: u64, len: u64) -> Option<Vec<u8>> {
    let n = (len - at).min(bitcask_format::MAX_KEY_LEN as u64 + 32);
    let mut buf = vec![0u8; n as usize];
    file.read_at(&mut buf, at).ok()?;
    bitcask_format::unverified_record_key(&buf).map(<[u8]>::to_vec)
}

/// The end of the last non-zero byte of `[from, to)` (or `from`): what follows it is unused.
fn used_end(file: &dyn StorageFile, path: &Path, from: u64, to: u64) -> Result<u64> {
    let mut end = to;
    let mut buf = Vec::new();
    while end > from {
        let n = (end - from).min(1 << 20);
        buf.resize(n as usize, 0);
        file.read_at(&mut buf, end - n).map_err(io_err("reading", path))?;
        if let Some(i) = buf.iter().rposition(|&b| b != 0) {
            return Ok(end - n + i as u64 + 1);
        }
        end -= n;
    }
    Ok(from)
}

fn rewrite_header(file: &dyn StorageFile, id: FileId, path: &Path) -> Result<()> {
    let mut head = Vec::with_capacity(FILE_HEADER_LEN);
    FileHeader::new(FileKind::Data, id.0).encode(&mut head);
    file.set_len(0).map_err(io_err("truncating", path))?;
    file.write_at(&head, 0).map_err(io_err("writing", path))?;
    file.sync_data().map_err(io_err("syncing", path))
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
        let _ = h.push(&hint::entry(rec, r.offset, r.len));
    }
}
