//! Hashes, sets, lists and sorted sets on a Bitcask store, the way the keydir does strings: **the index in RAM,
//! the bytes in the log**.
//!
//! Every element is a record of its own (a hash's field with its value, a set's member, a
//! list's value at its position, a sorted set's member after its score), so
//! a write appends what changed, never the whole collection. A collection's *header* record
//! names its kind and a *version*; its elements carry that version in their keys
//! ([`key`]). Deleting a collection of any size writes one record (the header's tombstone)
//! and forgets its elements from the keydir ([`bitcask_core::Bitcask::forget`]): they are
//! dead for merge at once, and a collection re-created under the same key takes a new
//! version, so it never sees them. An open rebuilds every collection's members from the
//! keydir alone ([`rebuild`]) and forgets the orphans it finds.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

mod collection;
mod header;
pub mod key;
mod rebuild;
mod score;
mod zset;

pub use collection::{member_position, position_member, Collection, Members, FIRST_POSITION};
pub use header::{Header, HeaderError, Kind, FORMAT, HEADER_LEN};
pub use key::{element_key, header_key};
pub use rebuild::{rebuild, Loaded, Rebuilt};
pub use score::{member_score, score_member, Ranked, Score};

/// Milliseconds since the Unix epoch of `t` (0 before it).
fn ms_since_epoch(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
