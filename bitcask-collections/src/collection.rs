//! A collection as RAM holds it: its kind, version and expiry, and its members (a hash's
//! fields, a set's members) in insertion order. Values stay in the store.

use indexmap::IndexSet;

use crate::header::{Header, Kind};

/// The members of a collection: insertion order, O(1) lookup, removal and access by
/// position.
pub type Members = IndexSet<Box<[u8]>, foldhash::fast::RandomState>;

/// A collection's index.
#[derive(Debug, Clone)]
pub struct Collection {
    /// What it is.
    pub kind: Kind,
    /// The version its elements carry.
    pub version: u64,
    /// When it expires (ms since the Unix epoch; 0: never).
    pub expire_at: u64,
    /// Its members.
    pub members: Members,
}

impl Collection {
    /// An empty collection of `kind` with `version`.
    pub fn new(kind: Kind, version: u64) -> Collection {
        Collection { kind, version, expire_at: 0, members: Members::default() }
    }

    /// Its header record.
    pub fn header(&self) -> Header {
        Header { kind: self.kind, version: self.version }
    }

    /// Whether it has expired at `now` (ms since the Unix epoch).
    pub fn expired(&self, now: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now
    }

    /// About how many bytes of heap its index holds: each member's bytes, its box and its
    /// table slot.
    pub fn heap_bytes(&self) -> usize {
        let slots = self.members.capacity();
        // A slot: the boxed slice (16 B) with its hash (8 B) in the entries, and the index
        // table's 8 B position with its control byte.
        slots * (16 + 8 + 8 + 1) + self.members.iter().map(|m| m.len()).sum::<usize>()
    }
}
