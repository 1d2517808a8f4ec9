//! The narrow I/O layer: every file operation of the engine goes through [`Storage`] and
//! [`StorageFile`], so tests can swap in the simulated disk (`SimStorage` of the
//! workspace's `bitcask-testkit`), which injects errors and simulates power loss.

use std::any::Any;
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// How [`Storage::open`] opens a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// An existing file, read only.
    Read,
    /// An existing file, read and write.
    ReadWrite,
    /// A new file, read and write; fails if the name exists.
    CreateNew,
    /// Create or truncate, read and write (used for temporary files only).
    CreateTruncate,
}

/// A file opened through a [`Storage`]. Every method takes `&self`: positioned reads and
/// writes, no shared cursor, so one handle serves many threads.
#[allow(clippy::len_without_is_empty)]
pub trait StorageFile: Send + Sync + fmt::Debug {
    /// Reads exactly `buf.len()` bytes at `offset` (an `UnexpectedEof` error if the file is
    /// shorter).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `buf` at `offset`.
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// The file's current length.
    fn len(&self) -> io::Result<u64>;
    /// Truncates or extends the file.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Makes the file's data (and the metadata needed to read it) durable: `fdatasync`.
    fn sync_data(&self) -> io::Result<()>;
    /// Maps the first `len` bytes of the file read-only (they may lie beyond its current
    /// end, for a file being appended to), if the storage supports it (`Ok(None)`
    /// otherwise). The engine reads through a mapping only bytes already written, of files
    /// no process truncates.
    fn map(&self, len: u64) -> io::Result<Option<Mapping>> {
        let _ = len;
        Ok(None)
    }
    /// Makes the file at least `len` bytes long with its blocks allocated (`fallocate`), so
    /// that writes through a [`WriteMap`] below `len` never fault for want of space: a
    /// full disk is an `ENOSPC` error here, never a `SIGBUS` at a copy. Storages that
    /// cannot return an `Unsupported` error.
    fn preallocate(&self, len: u64) -> io::Result<()> {
        let _ = len;
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
    /// Maps the first `len` bytes of the file (opened for writing) shared and writable, if
    /// the storage supports it (`Ok(None)` otherwise). A write through it lands in the page
    /// cache exactly as a `pwrite` of the same bytes would, without a system call.
    fn map_for_writes(&self, len: u64) -> io::Result<Option<WriteMap>> {
        let _ = len;
        Ok(None)
    }
}

/// A shared, writable mapping of a file's first bytes: a memory map, or a storage's own
/// model of one. The engine writes through it only below the file's preallocated length
/// (past it, a real map raises `SIGBUS`), and only where no reader reads yet.
pub struct WriteMap(WriteKind);

enum WriteKind {
    Mmap(memmap2::MmapRaw),
    Sink(Arc<dyn MappedSink>, u64),
}

impl fmt::Debug for WriteMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WriteMap({} bytes)", self.len())
    }
}

/// A storage's model of a writable shared mapping (for storages other than the OS's).
pub trait MappedSink: Send + Sync {
    /// Copies `bytes` into the mapped file at `offset`. The simulated disk may fail it as
    /// an injected fault (a process killed mid-copy); a real map cannot fail.
    fn write(&self, offset: u64, bytes: &[u8]) -> io::Result<()>;
}

#[allow(clippy::len_without_is_empty)]
impl WriteMap {
    /// A writable mapping of `len` bytes served by a [`MappedSink`].
    pub fn from_sink(sink: Arc<dyn MappedSink>, len: u64) -> WriteMap {
        WriteMap(WriteKind::Sink(sink, len))
    }

    /// How many bytes it maps.
    pub fn len(&self) -> u64 {
        match &self.0 {
            WriteKind::Mmap(m) => m.len() as u64,
            WriteKind::Sink(_, len) => *len,
        }
    }

    /// Copies `bytes` to `offset` of the file. The caller guarantees the range lies below
    /// the file's preallocated length.
    #[allow(unsafe_code)]
    pub(crate) fn write(&self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let end = offset.checked_add(bytes.len() as u64);
        if end.is_none_or(|e| e > self.len()) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "write past the mapping"));
        }
        match &self.0 {
            WriteKind::Mmap(m) => {
                // SAFETY: the range is inside the mapping (checked above) and below the
                // file's preallocated length (the caller's guarantee: the engine
                // preallocates before it copies), so the pages exist and are backed by
                // allocated blocks. Only the writer, under the engine's writer lock, writes
                // through the map, and only at or past the active file's end, where no
                // reader of this process reads until the keydir points there (after the
                // copy, through the keydir's lock). The source is a separate buffer.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        bytes.as_ptr(),
                        m.as_mut_ptr().add(offset as usize),
                        bytes.len(),
                    );
                }
                Ok(())
            }
            WriteKind::Sink(s, _) => s.write(offset, bytes),
        }
    }
}

/// A read-only view of a file's bytes: a memory map, or a storage's own model of one.
///
/// The engine reads through a mapping only bytes it has written or validated, of files it
/// never truncates while they are mapped. Bytes past the file's end, or a disk that fails a
/// read, would kill the process with `SIGBUS` under a real memory map; that is why
/// [`Options::mmap_reads`](crate::Options::mmap_reads) can turn mapped reads off.
pub struct Mapping(MapKind);

enum MapKind {
    Mmap(memmap2::Mmap),
    View(Arc<dyn MappedView>),
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            MapKind::Mmap(m) => write!(f, "Mapping(mmap, {} bytes)", m.len()),
            MapKind::View(_) => f.write_str("Mapping(view)"),
        }
    }
}

/// A storage's model of a memory map (for storages other than the OS's, such as the
/// simulated disk): it lends the bytes of a range to a closure.
pub trait MappedView: Send + Sync {
    /// Calls `f` with the bytes `start..start + len` if the view holds them, and returns
    /// whether it did.
    fn with_range(&self, start: usize, len: usize, f: &mut dyn FnMut(&[u8])) -> bool;
}

impl Mapping {
    /// A mapping served by a [`MappedView`].
    pub fn from_view(view: Arc<dyn MappedView>) -> Mapping {
        Mapping(MapKind::View(view))
    }

    /// Calls `f` with the mapped bytes `start..start + len`; `None` when they lie outside
    /// the mapping.
    pub(crate) fn read<R>(&self, start: u64, len: usize, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let start = usize::try_from(start).ok()?;
        match &self.0 {
            MapKind::Mmap(m) => m.get(start..start.checked_add(len)?).map(f),
            MapKind::View(v) => {
                let mut f = Some(f);
                let mut out = None;
                v.with_range(start, len, &mut |bytes| {
                    if let Some(f) = f.take() {
                        out = Some(f(bytes));
                    }
                });
                out
            }
        }
    }
}

/// A held lock; dropping it releases the lock.
pub type LockGuard = Box<dyn Any + Send + Sync>;

/// Directory and file operations used by the engine.
pub trait Storage: Send + Sync + fmt::Debug {
    /// Creates `dir` and its parents if missing.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// True if `path` exists and is a directory; `NotFound` if it does not exist.
    fn is_dir(&self, path: &Path) -> io::Result<bool>;
    /// The names of the entries of `dir`.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Opens `path`.
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn StorageFile>>;
    /// Removes the name `path` (open handles keep working).
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the entries of `dir` (creates, renames, removes) durable: `fsync` of the directory.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Makes `to` a second name of the file `from` (a hard link). Storages without links
    /// return an `Unsupported` error, and callers copy instead.
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        let _ = (from, to);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
    /// Removes the directory `dir` and everything in it. Storages that cannot return an
    /// `Unsupported` error (backups then cannot clean up after an interrupted one).
    fn remove_dir_all(&self, dir: &Path) -> io::Result<()> {
        let _ = dir;
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
    /// Takes an exclusive advisory lock on `path` (creating it), without waiting. `Ok(None)`
    /// when another holder has it. The lock dies with the process.
    fn try_lock(&self, path: &Path) -> io::Result<Option<LockGuard>>;
}

/// The real file system, through `std::fs` and positioned I/O (`pread`/`pwrite`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsStorage;

#[derive(Debug)]
struct OsFile(fs::File);

impl StorageFile for OsFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.0.read_exact_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(buf, offset)
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
    #[allow(unsafe_code)]
    fn preallocate(&self, len: u64) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let len = libc::off_t::try_from(len).map_err(|_| io::ErrorKind::InvalidInput)?;
        // SAFETY: fallocate on an open file descriptor owned by this handle; no memory is
        // passed.
        let r = unsafe { libc::fallocate(self.0.as_raw_fd(), 0, 0, len) };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
    fn map_for_writes(&self, len: u64) -> io::Result<Option<WriteMap>> {
        let Ok(len) = usize::try_from(len) else { return Ok(None) };
        if len == 0 {
            return Ok(None);
        }
        let map = memmap2::MmapOptions::new().len(len).map_raw(&self.0)?;
        Ok(Some(WriteMap(WriteKind::Mmap(map))))
    }
    #[allow(unsafe_code)]
    fn map(&self, len: u64) -> io::Result<Option<Mapping>> {
        let Ok(len) = usize::try_from(len) else { return Ok(None) };
        if len == 0 {
            return Ok(None);
        }
        // SAFETY: reading a mapping is undefined behaviour (SIGBUS) only where the file does
        // not extend, or if its bytes change under a reader. The engine reads through a
        // mapping only records it has already written or validated (so below the file's end),
        // and maps only datafiles that no process following the store's protocol overwrites
        // or truncates below what was read: sealed files are immutable, the active file is
        // only appended to and, when sealed or closed, cut only past its last record (its
        // unused preallocated tail, never read), and recovery truncates a torn tail before
        // mapping; a read-only open never maps the newest file, which a writer in another
        // process may still cut that way. Merge and repair replace files by
        // rename and unlink, which leave existing mappings intact. Changing a store's files
        // by other means while it is open is outside the contract (docs/durability.md).
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(&self.0)? };
        Ok(Some(Mapping(MapKind::Mmap(map))))
    }
}

impl Storage for OsStorage {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }
    fn is_dir(&self, path: &Path) -> io::Result<bool> {
        Ok(fs::metadata(path)?.is_dir())
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for e in fs::read_dir(dir)? {
            if let Ok(name) = e?.file_name().into_string() {
                out.push(name);
            }
        }
        Ok(out)
    }
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn StorageFile>> {
        let mut o = fs::OpenOptions::new();
        match mode {
            OpenMode::Read => o.read(true),
            OpenMode::ReadWrite => o.read(true).write(true),
            OpenMode::CreateNew => o.read(true).write(true).create_new(true),
            OpenMode::CreateTruncate => o.read(true).write(true).create(true).truncate(true),
        };
        Ok(Arc::new(OsFile(o.open(path)?)))
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        fs::File::open(dir)?.sync_all()
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::hard_link(from, to)
    }
    fn remove_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::remove_dir_all(dir)
    }
    fn try_lock(&self, path: &Path) -> io::Result<Option<LockGuard>> {
        let f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        match f.try_lock() {
            Ok(()) => Ok(Some(Box::new(f))),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }
}
