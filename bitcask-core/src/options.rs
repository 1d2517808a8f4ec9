//! Options of a store.

use std::time::Duration;

/// When writes are made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Never sync explicitly: an acknowledged write is in the kernel (it survives the process
    /// dying) and reaches the disk when the kernel writes it back, or on
    /// [`sync`](crate::Bitcask::sync), rotation or close.
    Never,
    /// Every write is `fdatasync`ed before it is acknowledged. Concurrent writers share
    /// syncs (group commit).
    Always,
    /// A background thread syncs at least every this many milliseconds.
    EveryMillis(u64),
}

impl std::str::FromStr for SyncPolicy {
    type Err = String;

    /// `never`, `always` or `every=MS` (MS > 0), as the command line and the server take it.
    ///
    /// ```
    /// use bitcask_core::SyncPolicy;
    /// assert_eq!("every=250".parse(), Ok(SyncPolicy::EveryMillis(250)));
    /// assert!("every=0".parse::<SyncPolicy>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<SyncPolicy, String> {
        match s {
            "never" => Ok(SyncPolicy::Never),
            "always" => Ok(SyncPolicy::Always),
            _ => match s.strip_prefix("every=") {
                Some(ms) => match ms.parse::<u64>() {
                    Ok(n) if n > 0 => Ok(SyncPolicy::EveryMillis(n)),
                    _ => Err(format!("invalid interval in {s:?}: use every=MS with MS > 0")),
                },
                None => Err(format!("unknown sync policy {s:?}: use never, always or every=MS")),
            },
        }
    }
}

/// What open does with a corrupt record inside an immutable datafile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryMode {
    /// Fail the open with [`Error::Corruption`](crate::Error::Corruption) naming file and
    /// offset. The newest datafile's torn or garbage tail is always truncated (and reported).
    Strict,
    /// Skip corrupt regions (and unreadable files), report them in the
    /// [`RecoveryReport`](crate::RecoveryReport), and open with every valid record.
    SkipCorrupt,
}

/// When merges run and what they take.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeOptions {
    /// A file whose dead bytes are at least this fraction of its bytes is a merge candidate.
    pub fragmentation: f64,
    /// A file with at least this many dead bytes is a candidate.
    pub dead_bytes: u64,
    /// Files smaller than this are candidates when there are at least two of them.
    pub small_file: u64,
    /// Merge when the dead bytes of all files together reach this many.
    pub total_dead_bytes: u64,
    /// A background merge runs no more often than this.
    pub min_interval: Duration,
    /// Run merges in a background thread when the triggers fire.
    pub background: bool,
    /// How often the background thread checks the triggers.
    pub check_interval: Duration,
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions {
            fragmentation: 0.5,
            dead_bytes: 64 << 20,
            small_file: 1 << 20,
            total_dead_bytes: 512 << 20,
            min_interval: Duration::from_secs(60),
            background: false,
            check_interval: Duration::from_secs(10),
        }
    }
}

/// The largest datafile the engine writes or reads: 4 GiB minus one byte, so that every
/// record's offset and length fit the keydir's 32-bit fields. [`Options::max_file_size`] may
/// not exceed it, and a write that could not fit in a fresh file under it is refused
/// ([`Error::BatchTooLarge`](crate::Error::BatchTooLarge)) before anything is written.
pub const MAX_FILE_SIZE: u64 = u32::MAX as u64;

/// Options of [`Bitcask::open`](crate::Bitcask::open).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The active datafile is closed and a new one started once it would grow past this many
    /// bytes. Between 64 bytes and [`MAX_FILE_SIZE`]. Default 256 MiB.
    pub max_file_size: u64,
    /// When writes are synced. Default [`SyncPolicy::Never`].
    pub sync: SyncPolicy,
    /// Longest key accepted, at most [`MAX_KEY_LEN`](bitcask_format::MAX_KEY_LEN). Default 64 KiB.
    pub max_key_size: usize,
    /// Longest value accepted, at most [`MAX_VALUE_LEN`](bitcask_format::MAX_VALUE_LEN).
    /// Default 256 MiB.
    pub max_value_size: usize,
    /// What open does with corrupt records in immutable files. Default [`RecoveryMode::Strict`].
    pub recovery: RecoveryMode,
    /// Merge triggers.
    pub merge: MergeOptions,
    /// Read records through memory maps of the datafiles (default `true`): a get is then a
    /// copy out of the page cache, with no system call. The catch is how failures show: if
    /// a datafile of an open store is truncated by another program, or the disk fails a
    /// read, a mapped read kills the process with `SIGBUS` instead of returning an error.
    /// With `false` every read is a `pread`, and such failures are
    /// [`Error::Io`](crate::Error::Io) results. See docs/durability.md, "Mapped reads".
    pub mmap_reads: bool,
    /// Append to the active file by copying into a shared writable memory map of space
    /// preallocated with `fallocate` (default `true`): a put is then a copy into the page
    /// cache with no system call, and survives a process kill as a `pwrite` would. A full
    /// disk is an error at preallocation ([`Error::Io`](crate::Error::Io), `ENOSPC`),
    /// never a fault at a copy. The active file carries up to 4 MiB of zeros past its
    /// records while open (released when it is sealed or the store is closed; after a
    /// crash, by the next writer's open). Falls back to `pwrite` where the file system
    /// cannot preallocate; `false` always uses `pwrite`. See docs/durability.md.
    pub mmap_writes: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_file_size: 256 << 20,
            sync: SyncPolicy::Never,
            max_key_size: bitcask_format::MAX_KEY_LEN,
            max_value_size: bitcask_format::MAX_VALUE_LEN,
            recovery: RecoveryMode::Strict,
            merge: MergeOptions::default(),
            mmap_reads: true,
            mmap_writes: true,
        }
    }
}

impl Options {
    pub(crate) fn validate(&self) -> Result<(), crate::Error> {
        let bad = |m: &str| Err(crate::Error::InvalidOptions(m.to_owned()));
        if self.max_key_size == 0 || self.max_key_size > bitcask_format::MAX_KEY_LEN {
            return bad("max_key_size must be between 1 and 65536");
        }
        if self.max_value_size > bitcask_format::MAX_VALUE_LEN {
            return bad("max_value_size must be at most 256 MiB");
        }
        if self.max_file_size < 64 || self.max_file_size > MAX_FILE_SIZE {
            return bad("max_file_size must be between 64 and 4294967295 bytes");
        }
        if let SyncPolicy::EveryMillis(0) = self.sync {
            return bad("the sync interval must be at least 1 ms");
        }
        if !(0.0..=1.0).contains(&self.merge.fragmentation) {
            return bad("merge.fragmentation must be between 0 and 1");
        }
        Ok(())
    }
}
