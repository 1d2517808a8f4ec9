//! A collection's header record: what kind of collection the key holds and the version its
//! elements carry.
//!
//! ```text
//! offset 0       1         2       3
//!        +-------+---------+-------+----------------+
//!        | 'C'   | format  | kind  | version u64 BE |    kind 1 hash, 2 set, 3 list, 4 sorted set
//!        +-------+---------+-------+----------------+
//! ```

/// The first byte of every header.
const MAGIC: u8 = b'C';
/// The header format this build writes and reads.
pub const FORMAT: u8 = 1;
/// The length of a header.
pub const HEADER_LEN: usize = 11;

/// What a collection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Fields with values.
    Hash,
    /// Members without values.
    Set,
    /// Values in order: each element's member is its position (u64 big-endian), which
    /// orders the list.
    List,
    /// Members ordered by score: each element's member is its score (8 bytes that sort as
    /// the scores do) followed by the member.
    Zset,
}

impl Kind {
    fn code(self) -> u8 {
        match self {
            Kind::Hash => 1,
            Kind::Set => 2,
            Kind::List => 3,
            Kind::Zset => 4,
        }
    }

    fn of(code: u8) -> Option<Kind> {
        match code {
            1 => Some(Kind::Hash),
            2 => Some(Kind::Set),
            3 => Some(Kind::List),
            4 => Some(Kind::Zset),
            _ => None,
        }
    }

    /// Its name as Redis's TYPE gives it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Hash => "hash",
            Kind::Set => "set",
            Kind::List => "list",
            Kind::Zset => "zset",
        }
    }
}

/// A decoded header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// What the collection is.
    pub kind: Kind,
    /// The version its elements carry in their keys.
    pub version: u64,
}

/// Why a header record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The record is not 11 bytes long.
    #[error("collection header of {0} bytes (expected {HEADER_LEN})")]
    Length(usize),
    /// The first byte is not a header's.
    #[error("not a collection header (first byte {0:#04x})")]
    Magic(u8),
    /// A format this build does not read (written by a newer one).
    #[error("collection header format {0} (this build reads {FORMAT})")]
    Format(u8),
    /// A kind this build does not know.
    #[error("unknown collection kind {0}")]
    Kind(u8),
}

impl Header {
    /// The stored form.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0; HEADER_LEN];
        let v = self.version.to_be_bytes();
        for (o, b) in out.iter_mut().zip([MAGIC, FORMAT, self.kind.code()].iter().chain(&v)) {
            *o = *b;
        }
        out
    }

    /// Reads a stored header.
    pub fn decode(bytes: &[u8]) -> Result<Header, HeaderError> {
        let Some(&[magic, format, kind, v0, v1, v2, v3, v4, v5, v6, v7]) =
            bytes.first_chunk::<HEADER_LEN>().filter(|_| bytes.len() == HEADER_LEN)
        else {
            return Err(HeaderError::Length(bytes.len()));
        };
        if magic != MAGIC {
            return Err(HeaderError::Magic(magic));
        }
        if format != FORMAT {
            return Err(HeaderError::Format(format));
        }
        let kind = Kind::of(kind).ok_or(HeaderError::Kind(kind))?;
        Ok(Header { kind, version: u64::from_be_bytes([v0, v1, v2, v3, v4, v5, v6, v7]) })
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        for kind in [Kind::Hash, Kind::Set, Kind::List, Kind::Zset] {
            let h = Header { kind, version: 0x0102_0304_0506_0708 };
            assert_eq!(Header::decode(&h.encode()), Ok(h));
        }
    }

    #[test]
    fn foreign_and_newer_headers_are_typed_errors() {
        let good = Header { kind: Kind::Set, version: 9 }.encode();
        assert_eq!(Header::decode(&good[..10]), Err(HeaderError::Length(10)));
        assert_eq!(Header::decode(b""), Err(HeaderError::Length(0)));
        let mut long = good.to_vec();
        long.push(0);
        assert_eq!(Header::decode(&long), Err(HeaderError::Length(12)));
        let with = |i: usize, b: u8| {
            let mut h = good;
            h[i] = b;
            Header::decode(&h)
        };
        assert_eq!(with(0, b'x'), Err(HeaderError::Magic(b'x')));
        assert_eq!(with(1, 2), Err(HeaderError::Format(2)));
        assert_eq!(with(2, 9), Err(HeaderError::Kind(9)));
    }
}
