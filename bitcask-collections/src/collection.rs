//! A collection as RAM holds it: its kind, version and expiry, and its members (a hash's
//! fields, a set's members) in insertion order, or a list's positions in order. Values stay
//! in the store.

use std::collections::VecDeque;

use indexmap::IndexSet;

use crate::header::{Header, Kind};
use crate::key::element_key;
use crate::score::{score_member, Ranked};

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
    /// Its members (a hash, a set).
    pub members: Members,
    /// A list's element positions, head first (ascending).
    pub order: VecDeque<u64>,
    /// A sorted set's scores and order (boxed: other kinds pay a pointer for it).
    sorted: Option<Box<Sorted>>,
}

/// A sorted set's scores, by its members' positions, and its members in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sorted {
    pub(crate) scores: Vec<f64>,
    pub(crate) ranked: Ranked,
}

/// What a collection without scores has.
static NO_RANKS: Ranked = Ranked::new();

/// The position of a list's first element: the middle of the range, so a list can grow
/// 2^63 elements either way before it is renumbered.
pub const FIRST_POSITION: u64 = 1 << 63;

/// A list element's member: its position, big-endian (so members sort as positions do).
pub fn position_member(p: u64) -> [u8; 8] {
    p.to_be_bytes()
}

/// The position a list element's member names.
pub fn member_position(m: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(*m.first_chunk::<8>().filter(|_| m.len() == 8)?))
}

impl Collection {
    /// An empty collection of `kind` with `version`.
    pub fn new(kind: Kind, version: u64) -> Collection {
        Collection {
            kind,
            version,
            expire_at: 0,
            members: Members::default(),
            order: VecDeque::new(),
            sorted: None,
        }
    }

    /// Its header record.
    pub fn header(&self) -> Header {
        Header { kind: self.kind, version: self.version }
    }

    /// The stored keys of its elements, as collection `key` of database `db` (what a delete
    /// forgets).
    pub fn element_keys(&self, db: u8, key: &[u8]) -> Vec<Vec<u8>> {
        match self.kind {
            Kind::List => self
                .order
                .iter()
                .map(|&p| element_key(db, key, self.version, &position_member(p)))
                .collect(),
            Kind::Zset => self
                .members
                .iter()
                .zip(self.scores())
                .map(|(m, &s)| element_key(db, key, self.version, &score_member(s, m)))
                .collect(),
            _ => self.members.iter().map(|m| element_key(db, key, self.version, m)).collect(),
        }
    }

    /// How many elements it has.
    pub fn len(&self) -> usize {
        match self.kind {
            Kind::List => self.order.len(),
            _ => self.members.len(),
        }
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        slots * (16 + 8 + 8 + 1)
            + self.members.iter().map(|m| m.len()).sum::<usize>()
            + self.order.capacity() * 8
            + self.sorted.as_ref().map_or(0, |s| {
                // An ordered entry: score, boxed member and its bytes, in a B-tree node
                // about two-thirds full.
                let ranked = s.ranked.iter().map(|(_, m)| (8 + 16) * 3 / 2 + m.len());
                std::mem::size_of::<Sorted>() + s.scores.capacity() * 8 + ranked.sum::<usize>()
            })
    }

    /// A sorted set's scores, by its members' positions (empty for other kinds).
    pub fn scores(&self) -> &[f64] {
        self.sorted.as_ref().map_or(&[], |s| &s.scores)
    }

    /// A sorted set's members in order (empty for other kinds).
    pub fn ranked(&self) -> &Ranked {
        self.sorted.as_ref().map_or(&NO_RANKS, |s| &s.ranked)
    }

    /// A sorted set's scores and order, made on first use.
    pub(crate) fn sorted_mut(&mut self) -> &mut Sorted {
        self.sorted.get_or_insert_with(Box::default)
    }
}
