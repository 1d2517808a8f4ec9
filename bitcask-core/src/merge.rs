//! Merge: rewrite sealed datafiles into new ones holding only live data, online and
//! crash-safe. Each step of the protocol in docs/durability.md ("Merge protocol") is a
//! method of [`Merge`] named after it:
//!
//! 1. [`Merge::copy_live_records`], then [`Merge::sync_superseding_writes`];
//! 2. [`Merge::write_outputs_durably`];
//! 3. [`Merge::commit`] (the manifest: the commit point);
//! 4. [`Merge::install_outputs`];
//! 5. [`Merge::delete_inputs`].
//!
//! A failure before the commit is undone by [`Merge::abort`]; after it, the store is
//! poisoned and the next open finishes the merge from its manifest.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcask_format::{HintWriter, Record, ScannedRecord, FILE_HEADER_LEN};

use crate::accounting::Delta;
use crate::datafile::{create_datafile_at, for_each_chunk, DataFile};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::files::{data_name, hint_name, join, tmp_name, FileId, MANIFEST_NAME, MAX_SEQ};
use crate::keydir::Loc;
use crate::manifest::Manifest;
use crate::merge_plan::plan;
use crate::storage::OpenMode;
use crate::util::{lock, now_ms};

pub use crate::merge_plan::{MergePlan, MergeReason};

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

impl MergeReport {
    /// The merges of several stores (the shards of a sharded store) as one: sums.
    pub fn combine(parts: impl IntoIterator<Item = MergeReport>) -> MergeReport {
        let mut all = MergeReport::default();
        for p in parts {
            all.files_in += p.files_in;
            all.files_out += p.files_out;
            all.bytes_read += p.bytes_read;
            all.bytes_written += p.bytes_written;
            all.bytes_reclaimed += p.bytes_reclaimed;
            all.keys_moved += p.keys_moved;
            all.tombstones_dropped += p.tombstones_dropped;
            all.tombstones_kept += p.tombstones_kept;
            all.raced += p.raced;
            all.duration += p.duration;
        }
        all
    }
}

/// Progress of a running merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeProgress {
    /// Input bytes processed so far.
    pub bytes_done: u64,
    /// Input bytes in all.
    pub bytes_total: u64,
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
/// Records looked up together when judging (each keydir shard read-locked once per run,
/// so writers wait at most one run's lookups).
const LOOKUP_RUN: usize = 256;

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

/// A key the merge copied (or dropped): the keydir is repointed from `old` to `new` when
/// the outputs are installed, unless a racing write moved it.
struct Pending {
    key: Box<[u8]>,
    old: Loc,
    /// The new location, or `None` when an expired value is dropped or turned into a
    /// tombstone.
    new: Option<Loc>,
}

/// What to do with one input record.
enum Verdict {
    /// Superseded, deleted, or a tombstone no longer needed: not copied.
    Drop,
    /// The current value of its key (at `Loc`): copied.
    Live(Loc),
    /// A tombstone (or an expired value turned into one) still hiding an older value that
    /// lies outside the merge.
    Tombstone,
}

/// A merge in progress.
pub(crate) struct Merge<'e> {
    engine: &'e Engine,
    inputs: Vec<Arc<DataFile>>,
    input_ids: BTreeSet<FileId>,
    /// The oldest file that is not an input: a tombstone older than it may be dropped.
    first_gap: FileId,
    out_gen: u64,
    next_seq: u64,
    outputs: Vec<Output>,
    pending: Vec<Pending>,
    /// The accounting of the outputs and of the keys repointed, applied once installed.
    delta: Delta,
    report: MergeReport,
    now: u64,
    done: u64,
    /// Scratch for a record re-encoded (a batch member, or a tombstone made for an expired
    /// value).
    scratch: Vec<u8>,
}

/// Merges what the triggers select, if anything.
pub(crate) fn merge_needed(
    engine: &Engine,
    progress: &mut dyn FnMut(MergeProgress),
) -> Result<Option<MergeReport>> {
    engine.life.check_writable()?;
    let p = plan(engine);
    if p.is_empty() {
        return Ok(None);
    }
    let ids: Vec<FileId> = p.files.iter().map(|(id, _)| *id).collect();
    merge_files(engine, &ids, progress).map(Some)
}

/// Seals the active file (if it holds records) and merges every sealed file.
pub(crate) fn merge_all(
    engine: &Engine,
    progress: &mut dyn FnMut(MergeProgress),
) -> Result<MergeReport> {
    engine.life.check_writable()?;
    engine.log.seal_for_merge(&engine.life, &engine.index)?;
    let ids: Vec<FileId> = engine.index.file_table().keys();
    merge_files(engine, &ids, progress)
}

/// Merges the sealed files among `selection` (extended to whole generations).
pub(crate) fn merge_files(
    engine: &Engine,
    selection: &[FileId],
    progress: &mut dyn FnMut(MergeProgress),
) -> Result<MergeReport> {
    let started = Instant::now();
    let _one_at_a_time = lock(&engine.merge_lock);
    engine.life.check_writable()?;
    let Some(mut m) = Merge::select_inputs(engine, selection)? else {
        return Ok(MergeReport::default());
    };
    let written = m
        .copy_live_records(progress)
        .and_then(|()| m.sync_superseding_writes())
        .and_then(|()| m.write_outputs_durably())
        .and_then(|()| m.commit());
    if let Err(e) = written {
        return Err(m.abort(e));
    }
    // Committed. From here a failure leaves the merge for the next open to finish, so the
    // store refuses writes until then.
    if let Err(e) = m.install_outputs().and_then(|()| m.delete_inputs()) {
        let e = Error::Poisoned {
            cause: format!("merge committed but not finished ({e}); reopen the store to finish it"),
            source: e.os_source(),
        };
        engine.poison(&e);
        return Err(e);
    }
    *lock(&engine.last_merge) = Some(Instant::now());
    let mut report = m.report;
    report.bytes_reclaimed = report.bytes_read.saturating_sub(report.bytes_written);
    report.duration = started.elapsed();
    Ok(report)
}

impl<'e> Merge<'e> {
    /// The sealed files of every generation named in `selection`; `None` if there are none.
    /// A generation is merged whole, so that outputs (generation of the newest input, higher
    /// sequence) sort exactly where their inputs were.
    fn select_inputs(engine: &'e Engine, selection: &[FileId]) -> Result<Option<Merge<'e>>> {
        let active = engine.log.active_id().ok_or(Error::Closed)?;
        let table = engine.index.file_table();
        let gens: BTreeSet<u64> =
            selection.iter().filter(|id| **id != active).map(|id| id.generation()).collect();
        let inputs: Vec<Arc<DataFile>> = table
            .values()
            .into_iter()
            .filter(|f| f.id != active && gens.contains(&f.id.generation()))
            .cloned()
            .collect();
        let Some(last) = inputs.last().map(|f| f.id) else { return Ok(None) };
        let input_ids: BTreeSet<FileId> = inputs.iter().map(|f| f.id).collect();
        // A tombstone (or expired value) in file F may be dropped only if every file older
        // than F is an input: otherwise an older value of its key may survive outside.
        let first_gap =
            table.keys().into_iter().find(|id| !input_ids.contains(id)).unwrap_or(FileId(u64::MAX));
        let report = MergeReport {
            files_in: inputs.len(),
            bytes_read: inputs.iter().map(|f| f.end()).sum(),
            ..MergeReport::default()
        };
        Ok(Some(Merge {
            engine,
            inputs,
            input_ids,
            first_gap,
            out_gen: last.generation(),
            next_seq: last.seq() + 1,
            outputs: Vec::new(),
            pending: Vec::new(),
            delta: Delta::default(),
            report,
            now: now_ms(),
            done: 0,
            scratch: Vec::new(),
        }))
    }

    /// Step 1: reads each input and copies a record only if the keydir still points at it
    /// (live), or if it deletes its key and an older file outside the merge may still hold
    /// a value of that key.
    fn copy_live_records(&mut self, progress: &mut dyn FnMut(MergeProgress)) -> Result<()> {
        let total = self.report.bytes_read;
        for input in self.inputs.clone() {
            let droppable = input.id < self.first_gap;
            for_each_chunk(&input, |records| {
                // Look a run of records up together so the keydir's cache misses overlap;
                // a write racing the merge after the lookup loses to it at install
                // (`replace_if`), as it always could.
                for run in records.chunks(LOOKUP_RUN) {
                    let items: Vec<(&[u8], u32, u64)> =
                        run.iter().map(|(r, _)| (r.record.key, input.num, r.offset)).collect();
                    let heres = self.engine.index.keydir.get_at_many(&items);
                    for ((r, raw), here) in run.iter().zip(heres) {
                        self.copy_record(&input, droppable, r, raw, here)?;
                        progress(MergeProgress { bytes_done: self.done, bytes_total: total });
                    }
                }
                Ok(())
            })?;
            progress(MergeProgress { bytes_done: self.done, bytes_total: total });
        }
        Ok(())
    }

    fn copy_record(
        &mut self,
        input: &DataFile,
        droppable: bool,
        r: &ScannedRecord<'_>,
        raw: &[u8],
        here: Option<Loc>,
    ) -> Result<()> {
        let rec = &r.record;
        let verdict = self.judge(droppable, r, here);
        let fmt = |e| Error::format(&input.path, e);
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let (bytes, expiry, old): (&[u8], _, _) = match verdict {
            Verdict::Drop => {
                self.scratch = scratch;
                return Ok(());
            }
            // A batch member is copied as a standalone record (its batch was applied whole
            // long ago), without the in-batch flag.
            Verdict::Live(old) if r.in_batch => {
                rec.encode(&mut scratch).map_err(fmt)?;
                (&scratch, rec.expiry, Some(old))
            }
            Verdict::Live(old) => (raw, rec.expiry, Some(old)),
            Verdict::Tombstone if rec.tombstone && !r.in_batch => (raw, None, None),
            Verdict::Tombstone => {
                Record::tombstone(rec.key).encode(&mut scratch).map_err(fmt)?;
                (&scratch, None, None)
            }
        };
        self.done += u64::from(r.len);
        let result = self.append_output(rec.key, bytes, expiry, old);
        self.scratch = scratch;
        result
    }

    /// Decides what to do with record `r`, whose key's keydir entry points at it (`here`)
    /// or not (`None`).
    fn judge(&mut self, droppable: bool, r: &ScannedRecord<'_>, here: Option<Loc>) -> Verdict {
        let rec = &r.record;
        let keydir = &self.engine.index.keydir;
        // A record that deletes its key: a tombstone, or a value that expired (on open an
        // expired value acts as a delete and is not in the keydir).
        let expired = rec.expiry.is_some_and(|e| e != 0 && e <= self.now);
        if rec.tombstone || (here.is_none() && expired) {
            if keydir.get(rec.key).is_some() || droppable {
                // A newer value exists, or no older value can remain: drop it.
                self.report.tombstones_dropped += 1;
                return Verdict::Drop;
            }
            self.report.tombstones_kept += 1;
            return Verdict::Tombstone;
        }
        let Some(old) = here else { return Verdict::Drop };
        if !old.expired(self.now) {
            return Verdict::Live(old);
        }
        self.pending.push(Pending { key: rec.key.into(), old, new: None });
        if droppable {
            self.report.tombstones_dropped += 1;
            return Verdict::Drop;
        }
        // Keep hiding older values of the key.
        self.report.tombstones_kept += 1;
        Verdict::Tombstone
    }

    /// Appends one record to the current output (starting a new one when it is full), with
    /// its hint entry, and notes the keydir change to make at install.
    fn append_output(
        &mut self,
        key: &[u8],
        bytes: &[u8],
        expiry: Option<u64>,
        old: Option<Loc>,
    ) -> Result<()> {
        let len = bytes.len() as u64;
        let max = self.engine.opts.max_file_size;
        let full = self
            .outputs
            .last()
            .is_none_or(|o| o.df.end() + len > max && o.df.end() > FILE_HEADER_LEN as u64);
        if full {
            self.start_output()?;
        }
        let Some(out) = self.outputs.last_mut() else { unreachable!("an output was just created") };
        // Records are buffered and written a megabyte at a time.
        let offset = out.df.end();
        out.buf.extend_from_slice(bytes);
        if out.buf.len() >= MERGE_WRITE_BUFFER {
            out.flush()?;
        }
        out.df.set_end(offset + len);
        let tombstone = old.is_none();
        let e = bitcask_format::HintEntry { key, offset, len: len as u32, expiry, tombstone };
        out.hint.push(&e).map_err(|e| Error::format(&out.df.path, e))?;
        match old {
            Some(old) => {
                let new = Loc { file: out.df.num, offset, len: len as u32, expiry: old.expiry };
                self.pending.push(Pending { key: key.into(), old, new: Some(new) });
            }
            None => self.delta.dead(out.df.num, len as u32),
        }
        Ok(())
    }

    /// Flushes the current output and creates the next, under a temporary name.
    fn start_output(&mut self) -> Result<()> {
        if let Some(prev) = self.outputs.last_mut() {
            prev.flush()?;
            prev.buf = Vec::new();
        }
        if self.next_seq > MAX_SEQ {
            return Err(Error::MergeSequenceExhausted { generation: self.out_gen });
        }
        let id = FileId::new(self.out_gen, self.next_seq);
        self.next_seq += 1;
        let (storage, dir) = (self.engine.storage.as_ref(), self.engine.dir.as_path());
        let name = tmp_name(&data_name(id));
        let df = create_datafile_at(storage, dir, id, self.engine.index.alloc_num(), &name, false)?;
        self.outputs.push(Output {
            df,
            hint: HintWriter::new(id.0),
            buf: Vec::with_capacity(MERGE_WRITE_BUFFER),
            flushed: FILE_HEADER_LEN as u64,
        });
        Ok(())
    }

    /// Step 1, end: a record was dropped because a newer write superseded it, and that
    /// write must be durable before the inputs can go. Every such write precedes this point
    /// and lies in the active file or in a file sealed (synced) by a rotation, so one fsync
    /// of the active file covers them all.
    fn sync_superseding_writes(&self) -> Result<()> {
        self.engine.sync_now()
    }

    /// Step 2: makes the outputs and their hints durable under their temporary names.
    fn write_outputs_durably(&mut self) -> Result<()> {
        let (storage, dir) = (self.engine.storage.as_ref(), self.engine.dir.as_path());
        for out in &mut self.outputs {
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
        storage.sync_dir(dir).map_err(|e| Error::io("syncing directory", dir, e))
    }

    fn manifest(&self) -> Manifest {
        Manifest {
            inputs: self.input_ids.iter().copied().collect(),
            outputs: self.outputs.iter().map(|o| o.df.id).collect(),
        }
    }

    /// Step 3, the commit point: the manifest, synced, renamed into place, directory synced.
    fn commit(&self) -> Result<()> {
        self.manifest().write(self.engine.storage.as_ref(), &self.engine.dir)
    }

    /// A failure before the commit completed: if the manifest's rename happened, retract it
    /// durably before touching the outputs (if that fails, poison and leave everything for
    /// open to finish); then remove what was written. The store goes on as before.
    fn abort(&self, e: Error) -> Error {
        let (storage, dir) = (self.engine.storage.as_ref(), self.engine.dir.as_path());
        let manifest_path = join(dir, MANIFEST_NAME);
        if storage.is_dir(&manifest_path).is_ok() {
            let retracted = storage.remove(&manifest_path).and_then(|()| storage.sync_dir(dir));
            if let Err(e2) = retracted {
                let e = Error::Poisoned {
                    cause: format!("merge failed ({e}) and its manifest could not be retracted ({e2}); reopen the store"),
                    source: Some(Arc::new(e2)),
                };
                self.engine.poison(&e);
                return e;
            }
        }
        for out in &self.outputs {
            let _ = storage.remove(&out.df.path);
            let _ = storage.remove(&join(dir, &tmp_name(&hint_name(out.df.id))));
        }
        let _ = storage.remove(&join(dir, &tmp_name(MANIFEST_NAME)));
        let _ = storage.sync_dir(dir);
        e
    }

    /// Step 4: renames the outputs into place, adds them to the file table, repoints each
    /// copied key that still points where the merge read it (a racing write wins), and
    /// removes the inputs from the file table.
    fn install_outputs(&mut self) -> Result<()> {
        let engine = self.engine;
        let dir = engine.dir.as_path();
        self.manifest().rename_outputs(engine.storage.as_ref(), dir)?;
        let outs: Vec<Arc<DataFile>> = self
            .outputs
            .iter()
            .map(|o| {
                let df = Arc::new(DataFile::new(
                    o.df.id,
                    o.df.num,
                    join(dir, &data_name(o.df.id)),
                    o.df.file.clone(),
                    o.df.end(),
                ));
                df.seal(engine.opts.mmap_reads);
                df
            })
            .collect();
        engine.index.update_files(|t| outs.iter().for_each(|df| t.insert(df.clone())));
        self.repoint_keys();
        engine.index.account_all(&self.delta);
        engine.index.update_files(|t| self.inputs.iter().for_each(|f| t.remove(&f.num)));
        self.report.files_out = outs.len();
        self.report.bytes_written = outs.iter().map(|f| f.end()).sum();
        Ok(())
    }

    fn repoint_keys(&mut self) {
        let engine = self.engine;
        let mut replaced = Vec::with_capacity(self.pending.len());
        for run in self.pending.chunks(LOOKUP_RUN) {
            let items: Vec<(&[u8], Loc, Option<Loc>)> =
                run.iter().map(|p| (&*p.key, p.old, p.new)).collect();
            replaced.extend(engine.index.keydir.replace_if_many(&items));
        }
        for (p, replaced) in self.pending.iter().zip(replaced) {
            if replaced {
                self.delta.supersede(p.old);
                if let Some(new) = p.new {
                    self.delta.live(new);
                    self.report.keys_moved += 1;
                }
            } else if let Some(new) = p.new {
                // A write superseded the key meanwhile: the copy never was its value.
                self.report.raced += 1;
                self.delta.dead(new.file, new.len);
            }
        }
    }

    /// Step 5: deletes the inputs' data and hint files, then the manifest.
    fn delete_inputs(&self) -> Result<()> {
        self.manifest().delete_inputs(self.engine.storage.as_ref(), &self.engine.dir)
    }
}
