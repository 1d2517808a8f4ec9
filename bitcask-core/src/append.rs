//! Appending to the active file: by copying into a shared writable map of preallocated
//! space (no system call per write: the bytes are in the page cache, and so survive a
//! process kill, when the copy returns), or with one `pwrite` per write where the storage
//! cannot map or preallocate, or [`Options::mmap_writes`] is off.
//!
//! The preallocated tail of the active file reads as zeros, which no entry starts with;
//! recovery and the tools take a run of zeros reaching the end of a file for unused space
//! (`bitcask_format::is_unused_tail`). Sealing and closing release it (`release`).

use std::io;

use crate::datafile::DataFile;
use crate::options::Options;
use crate::storage::WriteMap;

/// Space is preallocated this many bytes at a time (less near `max_file_size`).
pub(crate) const PREALLOCATE_STEP: u64 = 4 << 20;

/// How the writer appends to its active file.
pub(crate) struct Appender {
    /// The writable map, while mapped appends work for this file.
    map: Option<WriteMap>,
    /// The file's length: preallocated space included.
    allocated: u64,
}

impl Appender {
    /// The appender for `df`, which becomes the active file.
    pub fn new(df: &DataFile, opts: &Options) -> Appender {
        let allocated = df.file.len().unwrap_or(0).max(df.end());
        let map = if opts.mmap_writes {
            df.file.map_for_writes(opts.max_file_size).ok().flatten()
        } else {
            None
        };
        Appender { map, allocated }
    }

    /// Writes `bytes` at `offset` (the file's end) of `df`.
    pub fn append(&mut self, df: &DataFile, bytes: &[u8], offset: u64) -> io::Result<()> {
        let end = offset + bytes.len() as u64;
        let fits = self.map.as_ref().is_some_and(|m| end <= m.len());
        if fits && end > self.allocated {
            self.grow(df, end)?;
        }
        match &self.map {
            Some(m) if fits => m.write(offset, bytes),
            _ => df.file.write_at(bytes, offset),
        }
    }

    /// Preallocates at least up to `end`; a storage that cannot preallocate turns mapped
    /// appends off for this file (a map without allocated blocks could fault).
    fn grow(&mut self, df: &DataFile, end: u64) -> io::Result<()> {
        let limit = self.map.as_ref().map_or(end, WriteMap::len);
        let target = end.saturating_add(PREALLOCATE_STEP).min(limit).max(end);
        match df.file.preallocate(target) {
            Ok(()) => {
                self.allocated = target;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                self.map = None;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Gives back the preallocated space past the file's end (before it is sealed or the
    /// store closes) and stops mapped appends to it.
    pub fn release(&mut self, df: &DataFile) -> io::Result<()> {
        self.map = None;
        if self.allocated > df.end() {
            df.file.set_len(df.end())?;
            self.allocated = df.end();
        }
        Ok(())
    }
}
