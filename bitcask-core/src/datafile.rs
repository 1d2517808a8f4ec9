//! An open datafile: reading its records (through a map when it has one), its live/dead
//! accounting, creating one, and scanning its records in order.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use bitcask_format::{
    decode_record, FileHeader, FileKind, ScanOutcome, ScannedRecord, Scanner, FILE_HEADER_LEN,
};

use crate::error::{Error, Result};
use crate::files::{data_name, join, FileId};
use crate::keydir::Loc;
use crate::storage::{OpenMode, Storage, StorageFile};
use crate::util::io_err;

/// Datafiles are scanned through a buffer of this many bytes (grown for a larger record).
pub const SCAN_BUFFER_SIZE: usize = 1 << 20;

/// An open datafile and its accounting.
pub(crate) struct DataFile {
    pub id: FileId,
    /// Its number in the file table (what the keydir stores).
    pub num: u32,
    pub path: PathBuf,
    pub file: Arc<dyn StorageFile>,
    /// Signed: a write superseding a record that a merge has just repointed to this file
    /// may subtract before the merge adds (the sum is right once both are done).
    live_keys: AtomicI64,
    live_bytes: AtomicI64,
    dead_keys: AtomicU64,
    dead_bytes: AtomicU64,
    /// End of the valid records (the file's logical length).
    end: AtomicU64,
    /// The file's bytes, mapped once it is sealed.
    map: std::sync::OnceLock<crate::storage::Mapping>,
}

impl fmt::Debug for DataFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataFile").field("id", &self.id).field("end", &self.end()).finish()
    }
}

/// Statistics of one datafile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStats {
    /// The file's id.
    pub file_id: FileId,
    /// True for the file that receives writes.
    pub active: bool,
    /// Bytes in the file (header included).
    pub size: u64,
    /// Records that hold the current value of their key.
    pub live_keys: u64,
    /// Bytes of those records.
    pub live_bytes: u64,
    /// Records superseded, deleted, expired, or tombstones.
    pub dead_keys: u64,
    /// Bytes of those records.
    pub dead_bytes: u64,
}

/// A change to one file's counts.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Counts {
    pub live_keys: i64,
    pub live_bytes: i64,
    pub dead_keys: u64,
    pub dead_bytes: u64,
}

impl Counts {
    pub(crate) fn add(&mut self, o: &Counts) {
        self.live_keys += o.live_keys;
        self.live_bytes += o.live_bytes;
        self.dead_keys += o.dead_keys;
        self.dead_bytes += o.dead_bytes;
    }
}

/// `dead / (live + dead)`, or 0 when both are 0.
pub(crate) fn dead_fraction(live: u64, dead: u64) -> f64 {
    if live + dead == 0 {
        0.0
    } else {
        dead as f64 / (live + dead) as f64
    }
}

impl FileStats {
    /// Dead bytes as a fraction of record bytes (0 for an empty file).
    pub fn fragmentation(&self) -> f64 {
        dead_fraction(self.live_bytes, self.dead_bytes)
    }
}

impl DataFile {
    pub fn new(
        id: FileId,
        num: u32,
        path: PathBuf,
        file: Arc<dyn StorageFile>,
        end: u64,
    ) -> DataFile {
        DataFile {
            id,
            num,
            path,
            file,
            live_keys: AtomicI64::new(0),
            live_bytes: AtomicI64::new(0),
            dead_keys: AtomicU64::new(0),
            dead_bytes: AtomicU64::new(0),
            end: AtomicU64::new(end),
            map: std::sync::OnceLock::new(),
        }
    }

    /// Maps the first `len` bytes for reads, if the storage can; failures leave reads on
    /// `pread` (so do reads past the mapping). Callers check
    /// [`Options::mmap_reads`](crate::Options::mmap_reads).
    pub fn map(&self, len: u64) {
        if self.map.get().is_none() {
            if let Ok(Some(m)) = self.file.map(len) {
                let _ = self.map.set(m);
            }
        }
    }

    /// Maps a sealed file whole (with `mmap`, else nothing).
    pub fn seal(&self, mmap: bool) {
        if mmap {
            self.map(self.end());
        }
    }

    pub fn end(&self) -> u64 {
        self.end.load(Relaxed)
    }

    pub fn set_end(&self, end: u64) {
        self.end.store(end, Relaxed);
    }

    /// Applies a change to its counts (built by an accounting delta).
    #[inline]
    pub fn count(&self, c: &Counts) {
        // A write changes the live counts of one file and the dead counts of another: the
        // atomics of what does not change are left alone.
        if c.live_keys != 0 || c.live_bytes != 0 {
            self.live_keys.fetch_add(c.live_keys, Relaxed);
            self.live_bytes.fetch_add(c.live_bytes, Relaxed);
        }
        if c.dead_keys != 0 {
            self.dead_keys.fetch_add(c.dead_keys, Relaxed);
            self.dead_bytes.fetch_add(c.dead_bytes, Relaxed);
        }
    }

    pub fn stats(&self, active: bool) -> FileStats {
        FileStats {
            file_id: self.id,
            active,
            size: self.end(),
            // A transient negative count (see the field) reads as 0.
            live_keys: self.live_keys.load(Relaxed).max(0) as u64,
            live_bytes: self.live_bytes.load(Relaxed).max(0) as u64,
            dead_keys: self.dead_keys.load(Relaxed),
            dead_bytes: self.dead_bytes.load(Relaxed),
        }
    }

    /// Reads the record at `loc`, checks its checksum and key, and returns its value.
    pub fn read_value(&self, key: &[u8], loc: &Loc) -> Result<Vec<u8>> {
        let len = loc.len as usize;
        if let Some(m) = self.map.get() {
            let mapped =
                m.read(loc.offset, len, |rec| self.value_in(rec, key, loc).map(<[u8]>::to_vec));
            if let Some(value) = mapped {
                return value;
            }
        }
        let mut buf = vec![0u8; len];
        self.file
            .read_at(&mut buf, loc.offset)
            .map_err(|e| Error::io("reading a record from", &self.path, e))?;
        let (value_at, value_len) = {
            let value = self.value_in(&buf, key, loc)?;
            (len - value.len(), value.len())
        };
        buf.copy_within(value_at.., 0);
        buf.truncate(value_len);
        Ok(buf)
    }

    /// True when the record at `loc`, read through the map, claims to be `key`'s (its header
    /// is not verified here: the read that follows checks the checksum). False without a
    /// map.
    pub fn claims_key(&self, loc: &Loc, key: &[u8]) -> bool {
        let Some(m) = self.map.get() else { return false };
        m.read(loc.offset, loc.len as usize, |rec| {
            bitcask_format::unverified_record_key(rec) == Some(key)
        })
        .unwrap_or(false)
    }

    /// Loads the cache lines of the record at `loc` from its map (a no-op without one), so
    /// that reads of many records wait for memory together rather than one after another.
    pub fn touch(&self, loc: &Loc) -> u8 {
        let Some(m) = self.map.get() else { return 0 };
        m.read(loc.offset, loc.len as usize, |rec| {
            rec.iter().step_by(64).fold(0u8, |a, &b| a.wrapping_add(b))
        })
        .unwrap_or(0)
    }

    /// Calls `f` with the value of the record at `loc` (checksum and key checked), borrowed
    /// from the map when the file has one, else read with `pread` into a buffer.
    pub fn with_value<R>(&self, key: &[u8], loc: &Loc, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        let len = loc.len as usize;
        let mut f = Some(f);
        if let Some(m) = self.map.get() {
            let mapped = m.read(loc.offset, len, |rec| {
                self.value_in(rec, key, loc).map(|v| f.take().map(|f| f(v)))
            });
            if let Some(Some(r)) = mapped.transpose()? {
                return Ok(r);
            }
        }
        let mut buf = vec![0u8; len];
        self.file
            .read_at(&mut buf, loc.offset)
            .map_err(|e| Error::io("reading a record from", &self.path, e))?;
        let v = self.value_in(&buf, key, loc)?;
        f.take()
            .map(|f| f(v))
            .ok_or_else(|| Error::corruption(&self.path, loc.offset, "value read twice"))
    }

    /// The value of the encoded record `rec` read at `loc`, after checking its checksum,
    /// its length and its key.
    fn value_in<'b>(&self, rec: &'b [u8], key: &[u8], loc: &Loc) -> Result<&'b [u8]> {
        let (r, used) =
            decode_record(rec).map_err(|e| Error::format(&self.path, e.shifted(loc.offset)))?;
        if used != rec.len() || r.key != key || r.tombstone {
            return Err(Error::corruption(
                &self.path,
                loc.offset,
                "record does not match its keydir entry",
            ));
        }
        Ok(r.value)
    }
}

pub(crate) fn create_datafile(
    storage: &dyn Storage,
    dir: &Path,
    id: FileId,
    num: u32,
) -> Result<Arc<DataFile>> {
    create_datafile_at(storage, dir, id, num, &data_name(id), true)
}

/// Creates datafile `id` under `name` with its header synced; with `durable_entry` the
/// directory is synced too, so the file survives a power loss before any record is acked.
pub(crate) fn create_datafile_at(
    storage: &dyn Storage,
    dir: &Path,
    id: FileId,
    num: u32,
    name: &str,
    durable_entry: bool,
) -> Result<Arc<DataFile>> {
    let path = join(dir, name);
    let file =
        storage.open(&path, OpenMode::CreateNew).map_err(|e| Error::io("creating", &path, e))?;
    let mut head = Vec::with_capacity(FILE_HEADER_LEN);
    FileHeader::new(FileKind::Data, id.0).encode(&mut head);
    file.write_at(&head, 0).map_err(|e| Error::io("writing", &path, e))?;
    file.sync_data().map_err(|e| Error::io("syncing", &path, e))?;
    if durable_entry {
        storage.sync_dir(dir).map_err(|e| Error::io("syncing directory", dir, e))?;
    }
    Ok(Arc::new(DataFile::new(id, num, path, file, FILE_HEADER_LEN as u64)))
}

/// Calls `f` with the records of `[start, end)` of a datafile and their raw bytes, one
/// read buffer at a time (in order, `SCAN_BUFFER_SIZE` bytes or more for a larger entry),
/// so a caller can look them all up before using any; returns how the scan ended:
/// `Clean`, `TornTail` or `Corrupt`.
pub(crate) fn scan_chunks(
    file: &dyn StorageFile,
    path: &Path,
    start: u64,
    end: u64,
    f: impl FnMut(&[(ScannedRecord<'_>, &[u8])]) -> Result<()>,
) -> Result<ScanOutcome> {
    scan_chunks_marked(file, path, start, end, &mut 0, f)
}

/// [`scan_chunks`], also raising `*mark` to the largest durable end of the sync points
/// passed.
pub(crate) fn scan_chunks_marked(
    file: &dyn StorageFile,
    path: &Path,
    start: u64,
    end: u64,
    mark: &mut u64,
    mut f: impl FnMut(&[(ScannedRecord<'_>, &[u8])]) -> Result<()>,
) -> Result<ScanOutcome> {
    let mut pos = start;
    let mut buf = Vec::new();
    let mut want = SCAN_BUFFER_SIZE;
    let mut end = end;
    while pos < end {
        let n = want.min((end - pos) as usize);
        buf.resize(n, 0);
        if !read_shrinking(file, path, &mut buf, pos, &mut end)? {
            continue;
        }
        let mut scan = Scanner::new(&buf, pos, pos + n as u64 == end);
        let mut chunk = Vec::new();
        for r in scan.by_ref() {
            let at = (r.offset - pos) as usize;
            chunk.push((r, &buf[at..at + r.len as usize]));
        }
        f(&chunk)?;
        *mark = (*mark).max(scan.durable_mark());
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

/// Calls `f` with every record of `[FILE_HEADER_LEN, df.end())` and its raw bytes, in file
/// order. The range was validated when the file was opened or written, so any damage is
/// corruption.
pub(crate) fn for_each_record(
    df: &DataFile,
    mut f: impl FnMut(&ScannedRecord<'_>, &[u8]) -> Result<()>,
) -> Result<()> {
    for_each_chunk(df, |records| records.iter().try_for_each(|(r, raw)| f(r, raw)))
}

/// [`for_each_record`], a read buffer's records at a time.
pub(crate) fn for_each_chunk(
    df: &DataFile,
    f: impl FnMut(&[(ScannedRecord<'_>, &[u8])]) -> Result<()>,
) -> Result<()> {
    match scan_chunks(df.file.as_ref(), &df.path, FILE_HEADER_LEN as u64, df.end(), f)? {
        ScanOutcome::Clean { .. } => Ok(()),
        other => Err(Error::corruption(
            &df.path,
            other.valid_end().unwrap_or(FILE_HEADER_LEN as u64),
            "unreadable record in a sealed datafile",
        )),
    }
}

/// The largest durable end that a sync point at or after `from` records, looking past
/// damage (each damaged region is skipped to the next valid entry); 0 when there is none.
pub(crate) fn durable_mark_after(
    file: &dyn StorageFile,
    path: &Path,
    from: u64,
    len: u64,
) -> Result<u64> {
    let (mut mark, mut from) = (0, from);
    loop {
        let at = resync(file, path, from, len)?;
        if at >= len {
            return Ok(mark);
        }
        match scan_chunks_marked(file, path, at, len, &mut mark, |_| Ok(()))? {
            ScanOutcome::Corrupt(e) => from = e.offset + 1,
            ScanOutcome::TornTail { offset } => from = offset + 1,
            _ => return Ok(mark),
        }
    }
}

/// The first offset at or after `from` where a valid entry starts, or `len`.
pub(crate) fn resync(file: &dyn StorageFile, path: &Path, from: u64, len: u64) -> Result<u64> {
    if from >= len {
        return Ok(len);
    }
    let mut len = len;
    loop {
        let mut buf = vec![0u8; len.saturating_sub(from) as usize];
        if read_shrinking(file, path, &mut buf, from, &mut len)? {
            return Ok(from + bitcask_format::next_entry_start(&buf, 0) as u64);
        }
    }
}

/// Reads `buf.len()` bytes at `pos` of a file that is `*end` bytes long, or was: the
/// active file of a writer in another process shrinks when it is sealed (its unused,
/// preallocated tail is cut). A read past the new end lowers `*end` to it and returns
/// false (read again); other failures are errors.
pub(crate) fn read_shrinking(
    file: &dyn StorageFile,
    path: &Path,
    buf: &mut [u8],
    pos: u64,
    end: &mut u64,
) -> Result<bool> {
    match file.read_at(buf, pos) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            let now = file.len().map_err(io_err("reading the length of", path))?;
            if now >= *end {
                return Err(Error::io("reading", path, e));
            }
            *end = now;
            Ok(false)
        }
        Err(e) => Err(Error::io("reading", path, e)),
    }
}

/// True when `[from, len)` of the file is unused space: zeros to the end
/// ([`bitcask_format::is_unused_tail`]), read a buffer at a time.
pub(crate) fn unused_from(
    file: &dyn StorageFile,
    path: &Path,
    from: u64,
    len: u64,
) -> Result<bool> {
    let (mut pos, mut len, any) = (from, len, from < len);
    let mut buf = Vec::new();
    while pos < len {
        let n = SCAN_BUFFER_SIZE.min((len - pos) as usize);
        buf.resize(n, 0);
        if !read_shrinking(file, path, &mut buf, pos, &mut len)? {
            // Cut by the writer sealing the file: the cut part was unused.
            continue;
        }
        if !bitcask_format::is_unused_tail(&buf) {
            return Ok(false);
        }
        pos += n as u64;
    }
    Ok(any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct NoFile;

    impl StorageFile for NoFile {
        fn read_at(&self, _: &mut [u8], _: u64) -> std::io::Result<()> {
            Err(std::io::Error::other("no file"))
        }
        fn write_at(&self, _: &[u8], _: u64) -> std::io::Result<()> {
            Err(std::io::Error::other("no file"))
        }
        fn len(&self) -> std::io::Result<u64> {
            Ok(0)
        }
        fn set_len(&self, _: u64) -> std::io::Result<()> {
            Ok(())
        }
        fn sync_data(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_kill_before_its_add_reads_as_zero_not_as_a_wrapped_count() {
        // Found by the ops_model fuzzer with background merges: stats() summed a wrapped
        // counter and overflowed.
        let df = DataFile::new(FileId(1), 0, PathBuf::from("f"), Arc::new(NoFile), 20);
        let live = |keys, bytes| Counts { live_keys: keys, live_bytes: bytes, ..Counts::default() };
        df.count(&Counts { dead_keys: 1, dead_bytes: 100, ..live(-1, -100) });
        let s = df.stats(false);
        assert_eq!((s.live_keys, s.live_bytes), (0, 0));
        df.count(&live(1, 100));
        df.count(&live(1, 50));
        let s = df.stats(false);
        assert_eq!((s.live_keys, s.live_bytes), (1, 50));
    }
}
