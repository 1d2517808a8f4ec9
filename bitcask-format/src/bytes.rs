//! A bounds-checked cursor over a byte slice: every read checks its length first.

use crate::error::{Error, ErrorKind, Result};

/// Reads little-endian integers and LEB128 varints from a slice without ever indexing past it.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    /// The total length of the structure, once known, for `Truncated { needed }` errors.
    needed: u64,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0, needed: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn set_needed(&mut self, needed: u64) {
        self.needed = needed;
    }

    fn truncated(&self) -> Error {
        Error::new(ErrorKind::Truncated { needed: self.needed }, 0)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.truncated())?;
        let out = self.buf.get(self.pos..end).ok_or_else(|| self.truncated())?;
        self.pos = end;
        Ok(out)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// An unsigned LEB128 integer of at most 10 bytes, in its shortest form.
    pub(crate) fn varint(&mut self) -> Result<u64> {
        let mut value: u64 = 0;
        for i in 0..10u32 {
            let byte = self.u8()?;
            let low = u64::from(byte & 0x7f);
            if i == 9 && byte > 1 {
                return Err(Error::new(ErrorKind::BadVarint, 0));
            }
            value |= low << (7 * i);
            if byte & 0x80 == 0 {
                // Shortest form: a multi-byte varint never ends in a zero byte.
                if i > 0 && byte == 0 {
                    return Err(Error::new(ErrorKind::BadVarint, 0));
                }
                return Ok(value);
            }
        }
        Err(Error::new(ErrorKind::BadVarint, 0))
    }
}

/// Appends `v` as an unsigned LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The number of bytes `put_varint` writes for `v`.
pub(crate) const fn varint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip_and_length() {
        for v in [0u64, 1, 127, 128, 300, 16383, 16384, u32::MAX as u64, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
            let mut c = Cursor::new(&out);
            assert_eq!(c.varint().unwrap(), v);
            assert_eq!(c.pos(), out.len());
        }
    }

    #[test]
    fn varint_rejects_overlong_and_overflow() {
        assert_eq!(Cursor::new(&[0x80, 0x00]).varint().unwrap_err().kind, ErrorKind::BadVarint);
        let eleven = [0xffu8; 11];
        assert_eq!(Cursor::new(&eleven).varint().unwrap_err().kind, ErrorKind::BadVarint);
        let mut ten = [0xffu8; 10];
        ten[9] = 0x02;
        assert_eq!(Cursor::new(&ten).varint().unwrap_err().kind, ErrorKind::BadVarint);
        assert!(Cursor::new(&[0x80]).varint().unwrap_err().is_truncated());
    }
}
