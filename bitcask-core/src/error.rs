//! The engine's error type.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything that can go wrong in the engine.
///
/// New variants may be added in minor releases; match with a wildcard arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error, with what the engine was doing and on which path.
    #[error("{op} {path}: {source}")]
    Io {
        /// What the engine was doing.
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Stored bytes failed their checks.
    #[error("corruption in {path} at offset {offset}: {detail}")]
    Corruption {
        /// The damaged file.
        path: PathBuf,
        /// Where the damaged structure starts.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// The file was written by a newer version of the format.
    #[error(
        "{path} uses format version {found}; this build reads up to {}",
        bitcask_format::FORMAT_VERSION
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in its header.
        found: u16,
    },
    /// Another writer (in this or another process) holds the store's lock.
    #[error("store {path} is locked by another writer")]
    Locked {
        /// The store directory.
        path: PathBuf,
    },
    /// A write on a store opened read-only.
    #[error("store is open read-only")]
    ReadOnly,
    /// An earlier write or sync failed; the store refuses writes until it is reopened.
    #[error("writes refused after an earlier I/O failure ({cause}); reopen the store")]
    Poisoned {
        /// The failure that poisoned the store.
        cause: String,
        /// The operating system's error behind it, when there was one.
        #[source]
        source: Option<Arc<io::Error>>,
    },
    /// The write reached the datafile, but the store was poisoned (another write, sync or
    /// merge failed) before an fsync covering it succeeded: under `SyncPolicy::Always` it is
    /// not acknowledged, and after a crash it may or may not be there. Unlike
    /// [`Poisoned`](Error::Poisoned), which means the write was refused and nothing written.
    #[error("the write reached the file but was not made durable: {cause}; reopen the store")]
    NotDurable {
        /// The failure that poisoned the store.
        cause: String,
        /// The operating system's error behind it, when there was one.
        #[source]
        source: Option<Arc<io::Error>>,
    },
    /// A key of length zero.
    #[error("empty key")]
    EmptyKey,
    /// A key over the configured limit.
    #[error("key of {len} bytes exceeds the limit of {max}")]
    KeyTooLarge {
        /// The key's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A value over the configured limit.
    #[error("value of {len} bytes exceeds the limit of {max}")]
    ValueTooLarge {
        /// The value's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A batch larger than one batch frame can hold.
    #[error("batch of {len} bytes exceeds the limit of {max}")]
    BatchTooLarge {
        /// The encoded size of the batch.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A batch on a [`ShardedBitcask`](crate::ShardedBitcask) whose keys are in more than
    /// one shard; nothing was written.
    #[error(
        "the batch spans shards {first} and {other}; a batch must stay in one shard (give its keys one {{hash tag}})"
    )]
    CrossShard {
        /// The shard of the batch's first key.
        first: usize,
        /// Another shard it touches.
        other: usize,
    },
    /// A key of a shard this handle did not open ([`ShardedBitcask::open_some`](crate::ShardedBitcask::open_some)).
    #[error("shard {shard} is not served by this store handle")]
    ShardNotOpen {
        /// The shard.
        shard: usize,
    },
    /// The store path exists but is not a directory.
    #[error("{path} is not a directory")]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// The store directory does not exist (read-only opens do not create it).
    #[error("{path} does not exist")]
    NotFound {
        /// The path.
        path: PathBuf,
    },
    /// Inconsistent or out-of-range options.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// A record or batch the format refused to encode (the engine validates before it
    /// encodes, so this means a bug, not bad input).
    #[error("encoding a record: {0}")]
    Encode(#[source] bitcask_format::Error),
    /// Every merge sequence number of a generation is used (2^24 merges without a write).
    #[error("merge sequence space of generation {generation} exhausted")]
    MergeSequenceExhausted {
        /// The generation.
        generation: u64,
    },
    /// The directory's layout is not what was asked for: a sharded store with another
    /// shard count, a plain store where a sharded one was asked for, a shard count that is
    /// not a power of two up to 1024.
    #[error("store layout of {path}: {detail}")]
    Layout {
        /// The store directory.
        path: PathBuf,
        /// What does not match.
        detail: String,
    },
    /// The destination of a copy (a backup) exists already.
    #[error("{path} exists already")]
    AlreadyExists {
        /// The destination.
        path: PathBuf,
    },
    /// The store was closed.
    #[error("store is closed")]
    Closed,
}

/// Shorthand for the engine's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io { op, path: path.into(), source }
    }

    pub(crate) fn corruption(
        path: impl Into<PathBuf>,
        offset: u64,
        detail: impl ToString,
    ) -> Error {
        Error::Corruption { path: path.into(), offset, detail: detail.to_string() }
    }

    /// The operating system's error behind this one, as a value of its own (same kind and
    /// error number), for an error that must be reported again later (poisoning).
    /// The error a waiter for the same sync is given: the writes it waited for reached the
    /// file, so a failure makes them not durable.
    pub(crate) fn for_another_waiter(&self) -> Error {
        match self {
            Error::Closed => Error::Closed,
            Error::NotDurable { cause, source } | Error::Poisoned { cause, source } => {
                Error::NotDurable { cause: cause.clone(), source: source.clone() }
            }
            e => Error::NotDurable { cause: e.to_string(), source: e.os_source() },
        }
    }

    pub(crate) fn os_source(&self) -> Option<Arc<io::Error>> {
        let src: &io::Error = match self {
            Error::Io { source, .. } => source,
            Error::Poisoned { source, .. } | Error::NotDurable { source, .. } => {
                return source.clone()
            }
            _ => return None,
        };
        Some(Arc::new(match src.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(src.kind(), src.to_string()),
        }))
    }

    /// Converts a format error found in `path` (whose offsets are absolute in that file).
    pub(crate) fn format(path: impl Into<PathBuf>, e: bitcask_format::Error) -> Error {
        match e.kind {
            bitcask_format::ErrorKind::UnsupportedVersion { found } => {
                Error::UnsupportedVersion { path: path.into(), found }
            }
            kind => Error::corruption(path, e.offset, kind),
        }
    }
}
