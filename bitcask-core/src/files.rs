//! Datafile ids, names, open datafiles and their live/dead accounting.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use bitcask_format::decode_record;

use crate::error::{Error, Result};
use crate::keydir::Loc;
use crate::storage::StorageFile;

/// A datafile id. The high 40 bits are the generation (each new active file takes the next
/// one), the low 24 bits a merge sequence (merge outputs take the generation of their newest
/// input and a higher sequence, so they sort exactly where their inputs were). Records are
/// ordered by (file id, offset).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u64);

const SEQ_BITS: u32 = 24;
pub(crate) const MAX_SEQ: u64 = (1 << SEQ_BITS) - 1;

impl FileId {
    pub(crate) fn new(generation: u64, seq: u64) -> FileId {
        FileId((generation << SEQ_BITS) | (seq & MAX_SEQ))
    }
    /// The generation.
    pub fn generation(self) -> u64 {
        self.0 >> SEQ_BITS
    }
    /// The merge sequence within the generation (0 for a file written by puts).
    pub fn seq(self) -> u64 {
        self.0 & MAX_SEQ
    }
}

impl fmt::Debug for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Name {
    Data(FileId),
    Hint(FileId),
    Tmp,
    Manifest,
    Lock,
    Other,
}

pub(crate) const LOCK_NAME: &str = "LOCK";
pub(crate) const MANIFEST_NAME: &str = "MERGE";

pub(crate) fn data_name(id: FileId) -> String {
    format!("{id}.data")
}

pub(crate) fn hint_name(id: FileId) -> String {
    format!("{id}.hint")
}

pub(crate) fn tmp_name(name: &str) -> String {
    format!("{name}.tmp")
}

pub(crate) fn parse_name(name: &str) -> Name {
    if name.ends_with(".tmp") {
        return Name::Tmp;
    }
    if name == MANIFEST_NAME {
        return Name::Manifest;
    }
    if name == LOCK_NAME {
        return Name::Lock;
    }
    let id = |stem: &str| {
        (stem.len() == 16 && stem.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| u64::from_str_radix(stem, 16).ok())
            .flatten()
            .map(FileId)
    };
    if let Some(stem) = name.strip_suffix(".data") {
        if let Some(id) = id(stem) {
            return Name::Data(id);
        }
    }
    if let Some(stem) = name.strip_suffix(".hint") {
        if let Some(id) = id(stem) {
            return Name::Hint(id);
        }
    }
    Name::Other
}

/// The open datafiles, indexed by their number (the keydir stores numbers, 4 bytes, not
/// ids). Numbers are never reused within a process.
#[derive(Clone, Default)]
pub(crate) struct FileTable {
    by_num: Vec<Option<Arc<DataFile>>>,
}

impl FileTable {
    pub fn get(&self, num: &u32) -> Option<&Arc<DataFile>> {
        self.by_num.get(*num as usize)?.as_ref()
    }

    pub fn insert(&mut self, df: Arc<DataFile>) {
        let n = df.num as usize;
        if self.by_num.len() <= n {
            self.by_num.resize(n + 1, None);
        }
        self.by_num[n] = Some(df);
    }

    pub fn remove(&mut self, num: &u32) {
        if let Some(slot) = self.by_num.get_mut(*num as usize) {
            *slot = None;
        }
    }

    /// The files, oldest (lowest id) first.
    pub fn values(&self) -> Vec<&Arc<DataFile>> {
        let mut v: Vec<&Arc<DataFile>> = self.by_num.iter().flatten().collect();
        v.sort_by_key(|f| f.id);
        v
    }

    /// The ids, sorted.
    pub fn keys(&self) -> Vec<FileId> {
        self.values().iter().map(|f| f.id).collect()
    }

    /// One more than the highest number in use.
    pub fn next_num(&self) -> u32 {
        self.by_num.len() as u32
    }
}

/// An open datafile and its accounting.
pub(crate) struct DataFile {
    pub id: FileId,
    /// Its number in the file table (what the keydir stores).
    pub num: u32,
    pub path: PathBuf,
    pub file: Arc<dyn StorageFile>,
    live_keys: AtomicU64,
    live_bytes: AtomicU64,
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
            live_keys: AtomicU64::new(0),
            live_bytes: AtomicU64::new(0),
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

    /// A record of `len` bytes became the current value of its key.
    pub fn add_live(&self, len: u32) {
        self.live_keys.fetch_add(1, Relaxed);
        self.live_bytes.fetch_add(u64::from(len), Relaxed);
    }

    /// A live record of `len` bytes was superseded.
    pub fn kill(&self, len: u32) {
        self.live_keys.fetch_sub(1, Relaxed);
        self.live_bytes.fetch_sub(u64::from(len), Relaxed);
        self.add_dead(len);
    }

    /// A record of `len` bytes that never was live (a tombstone, an expired or superseded
    /// record found on open).
    pub fn add_dead(&self, len: u32) {
        self.dead_keys.fetch_add(1, Relaxed);
        self.dead_bytes.fetch_add(u64::from(len), Relaxed);
    }

    /// Adds counts gathered elsewhere (by open, which counts without atomics).
    pub fn add_counts(&self, live_keys: u64, live_bytes: u64, dead_keys: u64, dead_bytes: u64) {
        self.live_keys.fetch_add(live_keys, Relaxed);
        self.live_bytes.fetch_add(live_bytes, Relaxed);
        self.dead_keys.fetch_add(dead_keys, Relaxed);
        self.dead_bytes.fetch_add(dead_bytes, Relaxed);
    }

    /// `n` never-live records of `bytes` bytes in all.
    pub fn add_dead_n(&self, n: u64, bytes: u64) {
        self.dead_keys.fetch_add(n, Relaxed);
        self.dead_bytes.fetch_add(bytes, Relaxed);
    }

    pub fn stats(&self, active: bool) -> FileStats {
        FileStats {
            file_id: self.id,
            active,
            size: self.end(),
            live_keys: self.live_keys.load(Relaxed),
            live_bytes: self.live_bytes.load(Relaxed),
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

pub(crate) fn join(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order() {
        let a = FileId::new(5, 0);
        let b = FileId::new(5, 3);
        let c = FileId::new(6, 0);
        assert!(a < b && b < c);
        assert_eq!((b.generation(), b.seq()), (5, 3));
        assert_eq!(parse_name(&data_name(b)), Name::Data(b));
        assert_eq!(parse_name(&hint_name(c)), Name::Hint(c));
        assert_eq!(parse_name(&tmp_name(&data_name(c))), Name::Tmp);
        assert_eq!(parse_name("MERGE"), Name::Manifest);
        assert_eq!(parse_name("0000000000000001.DATA"), Name::Other);
        assert_eq!(parse_name("000000000000001.data"), Name::Other);
        assert_eq!(parse_name("notes.txt"), Name::Other);
    }
}
