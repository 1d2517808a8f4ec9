//! How a collection's records are named in the store: namespaced keys
//! ([`Namespaced`]) routed by the collection's key, so every record of a collection lives in
//! that key's shard.
//!
//! ```text
//! header   0x00 | 0x02 db | len u32 BE | key |
//! element  0x00 | 0x03 db | len u32 BE | key | version u64 BE | member
//! ```
//!
//! A header names what the key holds ([`Header`](crate::Header): its kind and version);
//! an element belongs to the collection whose header carries its version. Deleting or
//! replacing a collection writes one header record; the elements of the old version are
//! orphans from then on, whatever the store still holds of them.

use bitcask_core::sharded::Namespaced;

/// The namespace byte of a collection's header.
pub const HEADER: u8 = 2;
/// The namespace byte of a collection's element.
pub const ELEMENT: u8 = 3;

/// The bytes of a version in an element's key.
const VERSION_LEN: usize = 8;

/// The stored key of the header of collection `key` in database `db`.
pub fn header_key(db: u8, key: &[u8]) -> Vec<u8> {
    Namespaced { ns: [HEADER, db], key, rest: b"" }.encode()
}

/// The stored key of element `member` of version `version` of collection `key` in
/// database `db`.
pub fn element_key(db: u8, key: &[u8], version: u64, member: &[u8]) -> Vec<u8> {
    // One allocation: the namespaced prefix, then the rest in place.
    let mut out = Vec::with_capacity(7 + key.len() + VERSION_LEN + member.len());
    Namespaced { ns: [ELEMENT, db], key, rest: b"" }.encode_into(&mut out);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(member);
    out
}

/// A stored key of a collection, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored<'a> {
    /// The header of collection `key` of database `db`.
    Header {
        /// The database.
        db: u8,
        /// The collection's key.
        key: &'a [u8],
    },
    /// Element `member` of version `version` of collection `key` of database `db`.
    Element {
        /// The database.
        db: u8,
        /// The collection's key.
        key: &'a [u8],
        /// The version of the collection it belongs to.
        version: u64,
        /// The member (a hash's field, a set's member).
        member: &'a [u8],
    },
}

/// What `stored` names, or `None` when it is no collection's record.
pub fn parse(stored: &[u8]) -> Option<Stored<'_>> {
    let n = Namespaced::parse(stored)?;
    match n.ns {
        [HEADER, db] if n.rest.is_empty() => Some(Stored::Header { db, key: n.key }),
        [ELEMENT, db] => {
            let (v, member) = n.rest.split_first_chunk::<VERSION_LEN>()?;
            Some(Stored::Element { db, key: n.key, version: u64::from_be_bytes(*v), member })
        }
        _ => None,
    }
}

/// Whether `stored` is a collection's record (a header or an element), by its first bytes
/// only: the cheap test a walk over every key makes.
#[inline]
pub fn is_collection_record(stored: &[u8]) -> bool {
    matches!(stored, [bitcask_core::sharded::NAMESPACED, HEADER | ELEMENT, ..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcask_core::sharded::{key_slot, routing_slot};

    #[test]
    fn names_round_trip_and_route_by_the_collection_key() {
        for (db, key, member) in
            [(0, &b"h"[..], &b"f"[..]), (15, b"", b""), (3, b"{t}x", b"\0\xff")]
        {
            let h = header_key(db, key);
            assert_eq!(parse(&h), Some(Stored::Header { db, key }));
            let e = element_key(db, key, 42, member);
            assert_eq!(parse(&e), Some(Stored::Element { db, key, version: 42, member }));
            assert_eq!((routing_slot(&h), routing_slot(&e)), (key_slot(key), key_slot(key)));
            assert!(is_collection_record(&h) && is_collection_record(&e));
        }
    }

    #[test]
    fn other_keys_are_not_collection_records() {
        let string = Namespaced { ns: [1, 0], key: b"k", rest: b"" }.encode();
        let short = Namespaced { ns: [ELEMENT, 0], key: b"k", rest: b"1234567" }.encode();
        for k in [&b"plain"[..], b"", &string, &short] {
            assert_eq!(parse(k), None);
        }
        assert!(!is_collection_record(b"plain") && !is_collection_record(&string));
    }
}
