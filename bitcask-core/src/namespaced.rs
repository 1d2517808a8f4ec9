//! Namespaced keys: how a front end that keeps more than one kind of record in a store (the
//! server: databases, empty keys, a key's metadata) names them, so that a sharded store
//! still routes every record of one user key to that key's shard.
//!
//! ```text
//! offset 0      1        3              7          7 + len
//!        +------+--------+--------------+----------+---------+
//!        | 0x00 | ns     | len          | key      | rest    |
//!        | u8   | 2 B    | u32 BE       | len B    | any     |
//!        +------+--------+--------------+----------+---------+
//! ```
//!
//! The store gives `ns` and `rest` no meaning; a sharded store routes a namespaced key by
//! the slot of `key` ([`routing_slot`]). Any other key is routed by its own slot.

use crate::slot::key_slot;

/// The first byte of every namespaced key.
pub const NAMESPACED: u8 = 0x00;

/// The bytes before the key: the marker, the namespace and the key's length.
const HEADER: usize = 7;

/// A namespaced key, borrowed from its stored form or about to be encoded.
///
/// ```
/// use bitcask_core::sharded::{key_slot, routing_slot, Namespaced};
/// let stored = Namespaced { ns: [1, 3], key: b"user:{42}", rest: b"" }.encode();
/// assert_eq!(Namespaced::parse(&stored).map(|n| n.key), Some(&b"user:{42}"[..]));
/// assert_eq!(routing_slot(&stored), key_slot(b"user:{42}"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Namespaced<'a> {
    /// What the front end keeps here (the store gives it no meaning).
    pub ns: [u8; 2],
    /// The user key whose slot routes the record.
    pub key: &'a [u8],
    /// Anything after the key (an element of a collection, a name).
    pub rest: &'a [u8],
}

impl<'a> Namespaced<'a> {
    /// Reads a stored key; `None` when it is not namespaced (a plain key, or one that starts
    /// with the marker but whose length does not fit).
    pub fn parse(stored: &'a [u8]) -> Option<Namespaced<'a>> {
        let (&[NAMESPACED, a, b, l0, l1, l2, l3], tail) = stored.split_first_chunk::<HEADER>()?
        else {
            return None;
        };
        let len = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
        let (key, rest) = (tail.get(..len)?, tail.get(len..)?);
        Some(Namespaced { ns: [a, b], key, rest })
    }

    /// Appends the stored form to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(HEADER + self.key.len() + self.rest.len());
        out.push(NAMESPACED);
        out.extend_from_slice(&self.ns);
        out.extend_from_slice(&(self.key.len() as u32).to_be_bytes());
        out.extend_from_slice(self.key);
        out.extend_from_slice(self.rest);
    }

    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

/// The slot a sharded store routes a stored key by: the slot of its user key when it is
/// namespaced, else its own [`key_slot`].
pub fn routing_slot(stored: &[u8]) -> u16 {
    match Namespaced::parse(stored) {
        Some(n) => key_slot(n.key),
        None => key_slot(stored),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespaced_key_round_trips_and_routes_by_its_user_key() {
        for (key, rest) in [(&b""[..], &b""[..]), (b"{t}a", b"field"), (b"\0\0", b"\0")] {
            let stored = Namespaced { ns: [7, 9], key, rest }.encode();
            assert_eq!(Namespaced::parse(&stored), Some(Namespaced { ns: [7, 9], key, rest }));
            assert_eq!(routing_slot(&stored), key_slot(key));
        }
    }

    #[test]
    fn other_keys_route_by_their_own_slot() {
        for k in [&b"foo"[..], b"", b"\0", b"\0\0\0\0\0\0\x05ab", b"\x01\0\0\0\0\0\0"] {
            assert_eq!(Namespaced::parse(k), None);
            assert_eq!(routing_slot(k), key_slot(k));
        }
    }
}
