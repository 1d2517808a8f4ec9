//! Merge: rewrite sealed datafiles into new ones holding only live data, online and
//! crash-safe.
//!
//! Protocol (see `docs/durability.md`):
//! 1. Outputs are written as `<id>.data.tmp` and `<id>.hint.tmp`, each synced, then the
//!    directory is synced.
//! 2. The manifest `MERGE` (inputs, outputs, checksum) is written to `MERGE.tmp`, synced,
//!    renamed into place, and the directory synced: the commit point.
//! 3. Outputs are renamed to their final names; the keydir is repointed (each key only if it
//!    still points where the merge read it); inputs leave the file table.
//! 4. Inputs are deleted, the directory synced, the manifest deleted, the directory synced.
//!
//! Open completes a committed merge from its manifest (steps 3–4) and removes the temporary
//! files of an uncommitted one, so a crash at any step reopens to the same key space.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcask_format::{HintEntry, HintWriter, Record, FILE_HEADER_LEN};

use crate::db::{create_datafile_at, lock, Inner};
use crate::error::{Error, Result};
use crate::files::{
    data_name, hint_name, join, tmp_name, DataFile, FileId, MANIFEST_NAME, MAX_SEQ,
};
use crate::keydir::Loc;
use crate::recovery::for_each_record;
use crate::storage::{OpenMode, Storage};
use crate::util::now_ms;

/// What a merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Datafiles merged (and deleted).
    pub files_in: usize,
    /// Datafiles written.
    pub files_out: usize,
    /// Bytes of the input files.
    pub bytes_read: u64,
    /// Bytes of the output files.
    pub bytes_written: u64,
    /// Disk bytes freed (input bytes minus output bytes).
    pub bytes_reclaimed: u64,
    /// Live records copied into the outputs.
    pub keys_moved: u64,
    /// Tombstones (and expired values) dropped for good.
    pub tombstones_dropped: u64,
    /// Tombstones carried into the outputs because an older value may remain elsewhere.
    pub tombstones_kept: u64,
    /// Copies that a concurrent write made obsolete before the merge finished.
    pub raced: u64,
    /// Wall-clock time of the merge.
    pub duration: Duration,
}

/// Progress of a running merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeProgress {
    /// Input bytes processed so far.
    pub bytes_done: u64,
    /// Input bytes in all.
    pub bytes_total: u64,
}

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

/// The committed record of a merge: which files it replaces and which it adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub inputs: Vec<FileId>,
    pub outputs: Vec<FileId>,
}

const MANIFEST_MAGIC: &[u8; 8] = b"BCMERGE1";

impl Manifest {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MANIFEST_MAGIC);
        out.extend_from_slice(&(self.inputs.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.outputs.len() as u32).to_le_bytes());
        for id in self.inputs.iter().chain(&self.outputs) {
            out.extend_from_slice(&id.0.to_le_bytes());
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(buf: &[u8]) -> Option<Manifest> {
        let (body, crc) = buf.split_at_checked(buf.len().checked_sub(4)?)?;
        if crc32fast::hash(body).to_le_bytes() != crc || body.get(..8)? != MANIFEST_MAGIC {
            return None;
        }
        let n_in = u32::from_le_bytes(body.get(8..12)?.try_into().ok()?) as usize;
        let n_out = u32::from_le_bytes(body.get(12..16)?.try_into().ok()?) as usize;
        let ids: Vec<FileId> = body
            .get(16..)?
            .chunks_exact(8)
            .map(|c| FileId(u64::from_le_bytes(c.try_into().unwrap_or_default())))
            .collect();
        if ids.len() != n_in + n_out || body.len() != 16 + 8 * ids.len() {
            return None;
        }
        Some(Manifest { inputs: ids[..n_in].to_vec(), outputs: ids[n_in..].to_vec() })
    }

    pub fn read(storage: &dyn Storage, dir: &Path) -> Result<Manifest> {
        let path = join(dir, MANIFEST_NAME);
        let f = storage.open(&path, OpenMode::Read).map_err(|e| Error::io("opening", &path, e))?;
        let len = f.len().map_err(|e| Error::io("reading the length of", &path, e))?;
        if len > 1 << 24 {
            return Err(Error::corruption(&path, 0, "merge manifest too large"));
        }
        let mut buf = vec![0u8; len as usize];
        f.read_at(&mut buf, 0).map_err(|e| Error::io("reading", &path, e))?;
        Manifest::decode(&buf).ok_or_else(|| Error::corruption(&path, 0, "damaged merge manifest"))
    }

    fn write(&self, storage: &dyn Storage, dir: &Path) -> Result<()> {
        let path = join(dir, MANIFEST_NAME);
        let tmp = join(dir, &tmp_name(MANIFEST_NAME));
        let f = storage
            .open(&tmp, OpenMode::CreateTruncate)
            .map_err(|e| Error::io("creating", &tmp, e))?;
        f.write_at(&self.encode(), 0).map_err(|e| Error::io("writing", &tmp, e))?;
        f.sync_data().map_err(|e| Error::io("syncing", &tmp, e))?;
        storage.rename(&tmp, &path).map_err(|e| Error::io("renaming", &tmp, e))?;
        storage.sync_dir(dir).map_err(|e| Error::io("syncing directory", dir, e))
    }

    /// Renames the outputs into place (steps already done are skipped).
    fn rename_outputs(&self, storage: &dyn Storage, dir: &Path) -> Result<()> {
        let names = storage.list(dir).map_err(|e| Error::io("listing", dir, e))?;
        for id in &self.outputs {
            for name in [data_name(*id), hint_name(*id)] {
                let tmp = tmp_name(&name);
                if names.contains(&tmp) {
                    let (from, to) = (join(dir, &tmp), join(dir, &name));
                    storage.rename(&from, &to).map_err(|e| Error::io("renaming", &from, e))?;
                }
            }
        }
        storage.sync_dir(dir).map_err(|e| Error::io("syncing directory", dir, e))
    }

    /// Deletes the inputs and then the manifest.
    fn delete_inputs(&self, storage: &dyn Storage, dir: &Path) -> Result<()> {
        let names = storage.list(dir).map_err(|e| Error::io("listing", dir, e))?;
        for id in &self.inputs {
            for name in [data_name(*id), hint_name(*id)] {
                if names.contains(&name) {
                    let p = join(dir, &name);
                    storage.remove(&p).map_err(|e| Error::io("removing", &p, e))?;
                }
            }
        }
        storage.sync_dir(dir).map_err(|e| Error::io("syncing directory", dir, e))?;
        let m = join(dir, MANIFEST_NAME);
        storage.remove(&m).map_err(|e| Error::io("removing", &m, e))?;
        storage.sync_dir(dir).map_err(|e| Error::io("syncing directory", dir, e))
    }

    /// Finishes a committed merge found on open. If an output is missing (the merge was
    /// being retracted), the merge is rolled back instead, as long as every input is still
    /// there; otherwise the directory is inconsistent and open fails.
    pub fn complete(&self, storage: &dyn Storage, dir: &Path) -> Result<()> {
        let names = storage.list(dir).map_err(|e| Error::io("listing", dir, e))?;
        let has = |n: &str| names.iter().any(|x| x == n);
        let outputs_there =
            self.outputs.iter().all(|id| has(&data_name(*id)) || has(&tmp_name(&data_name(*id))));
        if !outputs_there {
            if !self.inputs.iter().all(|id| has(&data_name(*id))) {
                return Err(Error::corruption(
                    join(dir, MANIFEST_NAME),
                    0,
                    "merge manifest names missing outputs and missing inputs",
                ));
            }
            for id in &self.outputs {
                for n in [data_name(*id), hint_name(*id)] {
                    for n in [tmp_name(&n), n] {
                        if has(&n) {
                            let p = join(dir, &n);
                            storage.remove(&p).map_err(|e| Error::io("removing", &p, e))?;
                        }
                    }
                }
            }
            let m = join(dir, MANIFEST_NAME);
            storage.remove(&m).map_err(|e| Error::io("removing", &m, e))?;
            return storage.sync_dir(dir).map_err(|e| Error::io("syncing directory", dir, e));
        }
        self.rename_outputs(storage, dir)?;
        self.delete_inputs(storage, dir)
    }
}

/// An output file being written.
struct Output {
    df: Arc<DataFile>,
    hint: HintWriter,
    /// Records not yet written, starting at file offset `flushed`.
    buf: Vec<u8>,
    flushed: u64,
}

const MERGE_WRITE_BUFFER: usize = 1 << 20;

impl Output {
    /// Writes the buffered records.
    fn flush(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            self.df
                .file
                .write_at(&self.buf, self.flushed)
                .map_err(|e| Error::io("writing", &self.df.path, e))?;
            self.flushed += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }
}

struct Pending {
    key: Box<[u8]>,
    old: Loc,
    /// The new location, or `None` when an expired value is dropped or turned into a
    /// tombstone.
    new: Option<Loc>,
}

/// Which files the triggers select now.
pub(crate) fn plan(inner: &Inner) -> MergePlan {
    let o = &inner.opts.merge;
    let active = lock(&inner.writer).as_ref().map(|w| w.active.id);
    let table = inner.file_table();
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

/// Merges what the triggers select, if anything.
pub(crate) fn merge_needed(
    inner: &Inner,
    progress: &mut dyn FnMut(MergeProgress),
) -> Result<Option<MergeReport>> {
    inner.check_writable()?;
    let p = plan(inner);
    if p.is_empty() {
        return Ok(None);
    }
    let ids: Vec<FileId> = p.files.iter().map(|(id, _)| *id).collect();
    merge_files(inner, &ids, progress).map(Some)
}

/// Seals the active file (if it holds records) and merges every sealed file.
pub(crate) fn merge_all(
    inner: &Inner,
    progress: &mut dyn FnMut(MergeProgress),
) -> Result<MergeReport> {
    inner.check_writable()?;
    {
        let mut guard = lock(&inner.writer);
        let w = guard.as_mut().ok_or(Error::Closed)?;
        if w.active.end() > FILE_HEADER_LEN as u64 {
            // The merge rewrites the sealed file at once, so it gets no hint of its own.
            inner.rotate(w)?;
        }
    }
    let ids: Vec<FileId> = inner.file_table().keys();
    merge_files(inner, &ids, progress)
}

/// Merges the sealed files among `selection` (extended to whole generations).
pub(crate) fn merge_files(
    inner: &Inner,
    selection: &[FileId],
    progress: &mut dyn FnMut(MergeProgress),
) -> Result<MergeReport> {
    let started = Instant::now();
    let _one_at_a_time = lock(&inner.merge_lock);
    inner.check_writable()?;
    let active = lock(&inner.writer).as_ref().map(|w| w.active.id).ok_or(Error::Closed)?;
    let table = inner.file_table();
    // A generation is merged whole, so that outputs (generation of the newest input, higher
    // sequence) sort exactly where their inputs were.
    let gens: BTreeSet<u64> =
        selection.iter().filter(|id| **id != active).map(|id| id.generation()).collect();
    let inputs: Vec<Arc<DataFile>> = table
        .values()
        .into_iter()
        .filter(|f| f.id != active && gens.contains(&f.id.generation()))
        .cloned()
        .collect();
    let mut report = MergeReport { files_in: inputs.len(), ..MergeReport::default() };
    let Some(last) = inputs.last().map(|f| f.id) else {
        return Ok(report);
    };
    let input_ids: BTreeSet<FileId> = inputs.iter().map(|f| f.id).collect();
    // A tombstone (or expired value) in file F may be dropped only if every file older than
    // F is an input: otherwise an older value of its key may survive outside the merge.
    let first_gap =
        table.keys().into_iter().find(|id| !input_ids.contains(id)).unwrap_or(FileId(u64::MAX));
    let out_gen = last.generation();
    let mut next_seq = last.seq() + 1;
    report.bytes_read = inputs.iter().map(|f| f.end()).sum();
    let total = report.bytes_read;

    let storage = inner.storage.as_ref();
    let dir = inner.dir.as_path();
    let mut outputs: Vec<Output> = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    let now = now_ms();
    let mut done = 0u64;

    let written = (|| -> Result<()> {
        let mut tomb_buf = Vec::new();
        let mut copy_buf = Vec::new();
        for input in &inputs {
            let droppable = input.id < first_gap;
            for_each_record(input, |r, raw| {
                let rec = &r.record;
                // A batch member is copied as a standalone record (its batch was applied
                // whole long ago), without the in-batch flag.
                let raw = if r.in_batch {
                    copy_buf.clear();
                    rec.encode(&mut copy_buf).map_err(|e| Error::format(&input.path, e))?;
                    &copy_buf[..]
                } else {
                    raw
                };
                let here = inner
                    .keydir
                    .get(rec.key)
                    .filter(|l| l.file == input.num && l.offset == r.offset);
                // A record that deletes its key: a tombstone, or a value that expired (on open
                // an expired value acts as a delete and is not in the keydir).
                let deleter = rec.tombstone
                    || (here.is_none() && rec.expiry.is_some_and(|e| e != 0 && e <= now));
                let (bytes, new_expiry, is_tomb, old) = if deleter {
                    if inner.keydir.get(rec.key).is_some() || droppable {
                        // A newer value exists, or no older value can remain: drop it.
                        report.tombstones_dropped += 1;
                        return Ok(());
                    }
                    report.tombstones_kept += 1;
                    if rec.tombstone {
                        (raw, None, true, None)
                    } else {
                        tomb_buf.clear();
                        Record::tombstone(rec.key)
                            .encode(&mut tomb_buf)
                            .map_err(|e| Error::format(&input.path, e))?;
                        (&tomb_buf[..], None, true, None)
                    }
                } else if let Some(old) = here {
                    if old.expired(now) {
                        pending.push(Pending { key: rec.key.into(), old, new: None });
                        if droppable {
                            report.tombstones_dropped += 1;
                            return Ok(());
                        }
                        // Keep hiding older values of the key.
                        tomb_buf.clear();
                        Record::tombstone(rec.key)
                            .encode(&mut tomb_buf)
                            .map_err(|e| Error::format(&input.path, e))?;
                        report.tombstones_kept += 1;
                        (&tomb_buf[..], None, true, None)
                    } else {
                        (raw, rec.expiry, false, Some(old))
                    }
                } else {
                    // Superseded or deleted: not copied.
                    return Ok(());
                };
                done += u64::from(r.len);
                let len = bytes.len() as u64;
                let need_new = match outputs.last() {
                    None => true,
                    Some(o) => {
                        o.df.end() + len > inner.opts.max_file_size
                            && o.df.end() > FILE_HEADER_LEN as u64
                    }
                };
                if need_new {
                    if let Some(prev) = outputs.last_mut() {
                        prev.flush()?;
                        prev.buf = Vec::new();
                    }
                    if next_seq > MAX_SEQ {
                        return Err(Error::InvalidOptions(
                            "merge sequence space of a generation exhausted".into(),
                        ));
                    }
                    let id = FileId::new(out_gen, next_seq);
                    next_seq += 1;
                    let df = create_datafile_at(
                        storage,
                        dir,
                        id,
                        inner.alloc_num(),
                        &tmp_name(&data_name(id)),
                        false,
                    )?;
                    outputs.push(Output {
                        df,
                        hint: HintWriter::new(id.0),
                        buf: Vec::with_capacity(MERGE_WRITE_BUFFER),
                        flushed: FILE_HEADER_LEN as u64,
                    });
                }
                let Some(out) = outputs.last_mut() else {
                    unreachable!("an output was just created")
                };
                // Records are buffered and written a megabyte at a time.
                let offset = out.df.end();
                out.buf.extend_from_slice(bytes);
                if out.buf.len() >= MERGE_WRITE_BUFFER {
                    out.flush()?;
                }
                out.df.set_end(offset + len);
                out.hint
                    .push(&HintEntry {
                        key: rec.key,
                        offset,
                        len: len as u32,
                        expiry: new_expiry,
                        tombstone: is_tomb,
                    })
                    .map_err(|e| Error::format(&out.df.path, e))?;
                if let Some(old) = old {
                    let new = Loc { file: out.df.num, offset, len: len as u32, expiry: old.expiry };
                    pending.push(Pending { key: rec.key.into(), old, new: Some(new) });
                } else {
                    out.df.add_dead(len as u32);
                }
                progress(MergeProgress { bytes_done: done, bytes_total: total });
                Ok(())
            })?;
            progress(MergeProgress { bytes_done: done, bytes_total: total });
        }
        // A record was dropped because a newer write superseded it: that write must be
        // durable before the inputs can go. Every such write precedes this point and lies in
        // the active file or in a file sealed (synced) by a rotation, so one fsync of the
        // active file covers them all.
        inner.sync_now()?;
        // Make the outputs and their hints durable under their temporary names.
        for out in &mut outputs {
            out.flush()?;
            let hint_tmp = join(dir, &tmp_name(&hint_name(out.df.id)));
            let hint = std::mem::replace(&mut out.hint, HintWriter::new(0)).finish(out.df.end());
            let h = storage
                .open(&hint_tmp, OpenMode::CreateTruncate)
                .map_err(|e| Error::io("creating", &hint_tmp, e))?;
            h.write_at(&hint, 0).map_err(|e| Error::io("writing", &hint_tmp, e))?;
            h.sync_data().map_err(|e| Error::io("syncing", &hint_tmp, e))?;
            out.df.file.sync_data().map_err(|e| Error::io("syncing", &out.df.path, e))?;
        }
        storage.sync_dir(dir).map_err(|e| Error::io("syncing directory", dir, e))?;
        let manifest = Manifest {
            inputs: input_ids.iter().copied().collect(),
            outputs: outputs.iter().map(|o| o.df.id).collect(),
        };
        manifest.write(storage, dir)
    })();
    if let Err(e) = written {
        // The manifest's rename is the commit point. If it happened, retract it durably
        // before touching the outputs; if that fails, leave everything for open to finish.
        let manifest_path = join(dir, MANIFEST_NAME);
        if storage.is_dir(&manifest_path).is_ok() {
            let retracted = storage.remove(&manifest_path).and_then(|()| storage.sync_dir(dir));
            if let Err(e2) = retracted {
                let e = Error::Poisoned {
                    cause: format!("merge failed ({e}) and its manifest could not be retracted ({e2}); reopen the store"),
                };
                inner.poison(&e);
                return Err(e);
            }
        }
        // Not committed: remove what was written; the store goes on as before.
        for out in &outputs {
            let _ = storage.remove(&out.df.path);
            let _ = storage.remove(&join(dir, &tmp_name(&hint_name(out.df.id))));
        }
        let _ = storage.remove(&join(dir, &tmp_name(MANIFEST_NAME)));
        let _ = storage.sync_dir(dir);
        return Err(e);
    }

    // Committed. From here a failure leaves the merge for the next open to finish, so the
    // store refuses writes until then.
    let manifest = Manifest {
        inputs: input_ids.iter().copied().collect(),
        outputs: outputs.iter().map(|o| o.df.id).collect(),
    };
    let finish = (|| -> Result<()> {
        manifest.rename_outputs(storage, dir)?;
        let outs: Vec<Arc<DataFile>> = outputs
            .iter()
            .map(|o| {
                let df = Arc::new(DataFile::new(
                    o.df.id,
                    o.df.num,
                    join(dir, &data_name(o.df.id)),
                    o.df.file.clone(),
                    o.df.end(),
                ));
                // Carried tombstones were accounted on the temporary handle.
                let s = o.df.stats(false);
                if s.dead_keys > 0 {
                    df.add_dead_n(s.dead_keys, s.dead_bytes);
                }
                df.seal(inner.opts.mmap_reads);
                df
            })
            .collect();
        inner.set_file_table(|t| {
            for df in &outs {
                t.insert(df.clone());
            }
        });
        let table = inner.file_table();
        for p in &pending {
            if inner.keydir.replace_if(&p.key, p.old, p.new) {
                inner.account_moved(Some(p.old), p.new, |n| table.get(&n).map(|f| &**f));
                if p.new.is_some() {
                    report.keys_moved += 1;
                }
            } else if let Some(new) = p.new {
                report.raced += 1;
                if let Some(f) = table.get(&new.file) {
                    f.add_dead(new.len);
                }
            }
        }
        inner.set_file_table(|t| {
            for f in &inputs {
                t.remove(&f.num);
            }
        });
        manifest.delete_inputs(storage, dir)?;
        report.files_out = outs.len();
        report.bytes_written = outs.iter().map(|f| f.end()).sum();
        Ok(())
    })();
    if let Err(e) = finish {
        let e = Error::Poisoned {
            cause: format!("merge committed but not finished ({e}); reopen the store to finish it"),
        };
        inner.poison(&e);
        return Err(e);
    }
    *lock(&inner.last_merge) = Some(Instant::now());
    report.bytes_reclaimed = report.bytes_read.saturating_sub(report.bytes_written);
    report.duration = started.elapsed();
    Ok(report)
}
