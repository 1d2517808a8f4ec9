//! The one error type of this crate: a kind and a byte offset.

use std::fmt;

/// What went wrong while decoding.
///
/// New kinds may be added in minor releases; match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ends before the structure does. `needed` is the total number of bytes the
    /// structure needs from its start, when the decoder could tell (0 when it could not).
    Truncated {
        /// Bytes needed from the start of the structure, or 0 when unknown.
        needed: u64,
    },
    /// The file does not start with the bitcask magic bytes.
    BadMagic,
    /// The file was written by a newer (or unknown) format version.
    UnsupportedVersion {
        /// The version found in the file header.
        found: u16,
    },
    /// The file header names a different kind of file than the reader expected.
    WrongFileKind {
        /// The kind byte found in the header.
        found: u8,
    },
    /// A stored CRC32 does not match the bytes it covers.
    ChecksumMismatch {
        /// The checksum stored in the input.
        stored: u32,
        /// The checksum computed over the covered bytes.
        computed: u32,
    },
    /// A flags byte has bits set that this version does not define, or an invalid combination.
    BadFlags {
        /// The flags byte as found.
        flags: u8,
    },
    /// A variable-length integer is longer than allowed or not in its shortest form.
    BadVarint,
    /// A key of length zero.
    EmptyKey,
    /// A key longer than [`MAX_KEY_LEN`](crate::limits::MAX_KEY_LEN).
    KeyTooLarge {
        /// The declared length.
        len: u64,
    },
    /// A value longer than [`MAX_VALUE_LEN`](crate::limits::MAX_VALUE_LEN).
    ValueTooLarge {
        /// The declared length.
        len: u64,
    },
    /// A tombstone that carries a value or an expiry.
    BadTombstone,
    /// A batch frame whose body does not hold exactly its declared records, holds a nested
    /// batch, or is empty.
    BadBatch,
    /// A batch body longer than [`MAX_BATCH_BODY_LEN`](crate::limits::MAX_BATCH_BODY_LEN).
    BatchTooLarge {
        /// The declared body length.
        len: u64,
    },
    /// A sync point that claims more than the file before it (or less than its header).
    BadSyncPoint,
    /// A hint entry that points outside its datafile or cannot describe a record of its key.
    HintOutOfRange,
    /// A hint file without its trailer, with bytes after it, or whose entry count disagrees.
    BadHintTrailer,
    /// A file header whose file id disagrees with what the caller expected.
    WrongFileId {
        /// The id found in the header.
        found: u64,
    },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ErrorKind::Truncated { needed: 0 } => write!(f, "input ends inside a structure"),
            ErrorKind::Truncated { needed } => {
                write!(f, "input ends inside a structure of {needed} bytes")
            }
            ErrorKind::BadMagic => write!(f, "not a bitcask file (bad magic bytes)"),
            ErrorKind::UnsupportedVersion { found } => {
                write!(
                    f,
                    "unsupported format version {found} (this build reads {})",
                    crate::limits::FORMAT_VERSION
                )
            }
            ErrorKind::WrongFileKind { found } => write!(f, "unexpected file kind {found}"),
            ErrorKind::ChecksumMismatch { stored, computed } => {
                write!(f, "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")
            }
            ErrorKind::BadFlags { flags } => write!(f, "invalid flags byte {flags:#04x}"),
            ErrorKind::BadVarint => write!(f, "malformed variable-length integer"),
            ErrorKind::EmptyKey => write!(f, "empty key"),
            ErrorKind::KeyTooLarge { len } => {
                write!(f, "key length {len} exceeds the limit of {}", crate::limits::MAX_KEY_LEN)
            }
            ErrorKind::ValueTooLarge { len } => {
                write!(
                    f,
                    "value length {len} exceeds the limit of {}",
                    crate::limits::MAX_VALUE_LEN
                )
            }
            ErrorKind::BadTombstone => write!(f, "tombstone with a value or an expiry"),
            ErrorKind::BadBatch => write!(f, "malformed batch frame"),
            ErrorKind::BatchTooLarge { len } => {
                write!(f, "batch body length {len} exceeds the limit")
            }
            ErrorKind::BadSyncPoint => {
                write!(f, "sync point claims more bytes than precede it")
            }
            ErrorKind::HintOutOfRange => write!(f, "hint entry points outside its datafile"),
            ErrorKind::BadHintTrailer => write!(f, "missing or inconsistent hint file trailer"),
            ErrorKind::WrongFileId { found } => write!(f, "file header names file id {found:#x}"),
        }
    }
}

/// A decoding error: what went wrong ([`ErrorKind`]) and where (a byte offset).
///
/// Offsets are relative to the start of the slice handed to the decoder, plus the base offset
/// the caller supplied (the scanner reports absolute file offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at offset {offset}")]
#[non_exhaustive]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where the faulty structure starts.
    pub offset: u64,
}

impl Error {
    /// An error of `kind` at `offset`.
    pub fn new(kind: ErrorKind, offset: u64) -> Error {
        Error { kind, offset }
    }

    /// The same error, moved `base` bytes further into the input.
    #[must_use]
    pub fn shifted(self, base: u64) -> Error {
        Error { kind: self.kind, offset: self.offset.saturating_add(base) }
    }

    /// True when the input simply ended early (more bytes could complete the structure).
    pub fn is_truncated(&self) -> bool {
        matches!(self.kind, ErrorKind::Truncated { .. })
    }
}

/// Shorthand for this crate's results.
pub type Result<T> = std::result::Result<T, Error>;

/// Builds an error at offset 0; callers shift it to its absolute position.
pub(crate) fn err<T>(kind: ErrorKind) -> Result<T> {
    Err(Error::new(kind, 0))
}
