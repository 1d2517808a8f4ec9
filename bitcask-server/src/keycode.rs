//! How the server names keys in the store. A string key of database 0 that is not empty and
//! does not start with `0x00` is stored as itself, so the `bitcask` CLI reads a server's
//! store directly; every other key (another database, the empty key, a key starting with
//! `0x00`) and the server's own records are namespaced keys
//! ([`Namespaced`]: `0x00`, kind, database, length, key, rest), which the store routes by
//! the user key's slot, so every form of a key lives in that key's shard.

use std::borrow::Cow;
use std::ops::Range;

use bitcask_collections::key::Stored;
use bitcask_core::sharded::{key_slot, Namespaced, NAMESPACED};

/// The kind of a string key.
const STRING: u8 = 1;
/// The kind of the server's own records.
pub const META: u8 = 0xff;

/// The version of this naming, recorded in every shard (its marker's value).
pub const VERSION: &[u8] = b"1";

/// What a stored key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A string key of a database.
    String { db: u8, key: &'a [u8] },
    /// The header of a collection (a hash, a set) of a database.
    Collection { db: u8, key: &'a [u8] },
    /// A record of the server's own (a shard's marker).
    Meta,
}

impl<'a> Decoded<'a> {
    /// The database and key of a user key (a string or a collection).
    pub fn user(self) -> Option<(u8, &'a [u8])> {
        match self {
            Decoded::String { db, key } | Decoded::Collection { db, key } => Some((db, key)),
            Decoded::Meta => None,
        }
    }
}

/// The stored form of string key `key` of database `db`.
#[inline]
pub fn stored(db: u8, key: &[u8]) -> Cow<'_, [u8]> {
    match key.first() {
        Some(&b) if db == 0 && b != NAMESPACED => Cow::Borrowed(key),
        _ => Cow::Owned(Namespaced { ns: [STRING, db], key, rest: b"" }.encode()),
    }
}

/// What `stored` names; `None` for a collection's element and for a key this server did
/// not write (another kind, a namespaced key of an unknown layout).
pub fn decode(stored: &[u8]) -> Option<Decoded<'_>> {
    if stored.first() != Some(&NAMESPACED) {
        return (!stored.is_empty()).then_some(Decoded::String { db: 0, key: stored });
    }
    match Namespaced::parse(stored)? {
        Namespaced { ns: [STRING, db], key, rest: [] } => Some(Decoded::String { db, key }),
        Namespaced { ns: [META, 0], .. } => Some(Decoded::Meta),
        _ => match bitcask_collections::key::parse(stored)? {
            Stored::Header { db, key } => Some(Decoded::Collection { db, key }),
            Stored::Element { .. } => None,
        },
    }
}

/// The key of the marker of the shard that holds `slots`: it records [`VERSION`] in that
/// shard (a user key whose slot falls in the shard, so the marker routes there).
pub fn marker(slots: Range<u16>) -> Vec<u8> {
    let tag = (0u32..)
        .map(|n| n.to_string())
        .find(|s| slots.contains(&key_slot(s.as_bytes())))
        .unwrap_or_default();
    Namespaced { ns: [META, 0], key: tag.as_bytes(), rest: b"keyspace" }.encode()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcask_core::sharded::{routing_slot, slots_of_shard};

    #[test]
    fn plain_keys_of_database_0_are_stored_as_themselves() {
        assert_eq!(stored(0, b"k"), Cow::Borrowed(&b"k"[..]));
        assert_eq!(decode(b"k"), Some(Decoded::String { db: 0, key: b"k" }));
    }

    #[test]
    fn every_other_key_round_trips_and_keeps_its_slot() {
        for (db, key) in [(0, &b""[..]), (0, b"\0x"), (3, b"k"), (15, b""), (255, b"{t}a")] {
            let s = stored(db, key);
            assert!(matches!(s, Cow::Owned(_)));
            assert_eq!(decode(&s), Some(Decoded::String { db, key }));
            assert_eq!(routing_slot(&s), key_slot(key));
        }
    }

    #[test]
    fn markers_route_to_their_shard_and_are_not_user_keys() {
        for shards in [1u32, 4, 1024] {
            for i in [0, shards as usize - 1] {
                let m = marker(slots_of_shard(shards, i));
                assert!(slots_of_shard(shards, i).contains(&routing_slot(&m)));
                assert_eq!(decode(&m), Some(Decoded::Meta));
            }
        }
    }
}
