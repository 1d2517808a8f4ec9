//! On-disk encodings of the bitcask storage engine, and their parsers.
//!
//! This crate does no I/O and keeps no state: it turns records, batch frames, hint entries
//! and file headers into bytes and back. Every decoder works on a borrowed `&[u8]`, checks
//! each length against the input before slicing, never allocates from a length field, and
//! returns a typed [`Error`] (a kind and an offset) instead of panicking, whatever the input.
//!
//! The byte layouts are drawn in `docs/format.md` at the repository root.
//!
//! ```
//! use bitcask_format::{decode_record, Record, Scanner, ScanOutcome};
//!
//! let mut buf = Vec::new();
//! let len = Record::put(b"user:1", b"alice").encode(&mut buf)?;
//! let (rec, used) = decode_record(&buf)?;
//! assert_eq!((rec.key, rec.value, used), (&b"user:1"[..], &b"alice"[..], len));
//!
//! // A torn tail is reported precisely.
//! let mut scan = Scanner::new(&buf[..len - 1], 0, true);
//! assert_eq!(scan.next(), None);
//! assert_eq!(scan.outcome(), ScanOutcome::TornTail { offset: 0 });
//! # Ok::<(), bitcask_format::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic))]

mod bytes;
mod error;
#[cfg(feature = "testing")]
pub mod fuzz;
mod header;
mod hint;
mod limits;
mod record;
mod scan;
mod walk;

pub use error::{Error, ErrorKind, Result};
pub use header::{FileHeader, FileKind, MAGIC};
pub use hint::{
    decode_hint_entry, HintEntry, HintReader, HintTrailer, HintWriter, FLAG_TRAILER,
    HINT_TRAILER_LEN,
};
pub use limits::{
    FILE_HEADER_LEN, FORMAT_VERSION, MAX_BATCH_BODY_LEN, MAX_KEY_LEN, MAX_VALUE_LEN, MIN_RECORD_LEN,
};
pub use record::{
    batch_frame_len, decode_entry, decode_record, encode_batch, encode_sync_point, record_len,
    unverified_record_header, unverified_record_key, Batch, BatchRecords, Entry, Record,
    FLAG_BATCH, FLAG_EXPIRY, FLAG_IN_BATCH, FLAG_SYNC_POINT, FLAG_TOMBSTONE, SYNC_POINT_LEN,
};
pub use scan::{is_unused_tail, next_entry_start, ScanOutcome, ScannedRecord, Scanner};
pub use walk::{walk, Walk, Walked};
