//! Redis's serialization of a value, as DUMP writes and RESTORE reads it: the RDB encoding
//! of the object, then the RDB version (2 bytes, little-endian) and the CRC-64 (Jones
//! polynomial, reflected, 8 bytes little-endian) of everything before it. Strings are read in
//! every encoding Redis 7.0 writes (plain, integer, LZF-compressed) and written plain or as
//! integers. No input makes the decoder panic.

/// The RDB version Redis 7.0 writes; RESTORE takes payloads up to it.
pub const RDB_VERSION: u16 = 10;

/// The type byte of a string object.
const TYPE_STRING: u8 = 0;

/// Why a payload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The footer's version is newer than [`RDB_VERSION`] or its checksum does not match.
    VersionOrChecksum,
    /// The object is not one this server holds, or its encoding is broken.
    BadFormat,
}

/// The CRC-64 Redis uses (Jones polynomial, reflected, initial 0, no final xor).
pub fn crc64(bytes: &[u8]) -> u64 {
    const POLY: u64 = 0x95ac_9329_ac4b_c9b5; // 0xad93d23594c935a9 reflected
    static TABLE: std::sync::OnceLock<[u64; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u64; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut crc = i as u64;
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ POLY } else { crc >> 1 };
            }
            *slot = crc;
        }
        t
    });
    bytes.iter().fold(0u64, |crc, &b| {
        let i = ((crc ^ u64::from(b)) & 0xff) as usize;
        table.get(i).copied().unwrap_or(0) ^ (crc >> 8)
    })
}

/// The DUMP payload of a string value.
pub fn dump_string(value: &[u8]) -> Vec<u8> {
    let mut out = vec![TYPE_STRING];
    write_string(&mut out, value);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The opcode before each library's code in a FUNCTION DUMP payload.
const FUNCTION2: u8 = 245;

/// The FUNCTION DUMP payload of libraries' code.
pub fn dump_functions<'a>(codes: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(FUNCTION2);
        write_len(&mut out, code.len() as u64);
        out.extend_from_slice(code);
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The libraries' code in a FUNCTION DUMP payload.
pub fn restore_functions(payload: &[u8]) -> Result<Vec<Vec<u8>>, DecodeError> {
    let body = check_footer(payload)?;
    let mut r = Reader { bytes: body, at: 0 };
    let mut codes = Vec::new();
    while r.at < body.len() {
        if r.byte()? != FUNCTION2 {
            return Err(DecodeError::BadFormat);
        }
        codes.push(r.string()?);
    }
    Ok(codes)
}

/// The string value of a DUMP payload.
pub fn restore_string(payload: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let body = check_footer(payload)?;
    let (&kind, rest) = body.split_first().ok_or(DecodeError::BadFormat)?;
    if kind != TYPE_STRING {
        return Err(DecodeError::BadFormat);
    }
    let mut r = Reader { bytes: rest, at: 0 };
    let v = r.string()?;
    if r.at != rest.len() {
        return Err(DecodeError::BadFormat);
    }
    Ok(v)
}

/// The payload without its footer, once the footer is checked.
fn check_footer(payload: &[u8]) -> Result<&[u8], DecodeError> {
    let n = payload.len().checked_sub(10).ok_or(DecodeError::VersionOrChecksum)?;
    let (body, footer) = payload.split_at(n);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    let mut crc = [0u8; 8];
    crc.copy_from_slice(footer.get(2..10).ok_or(DecodeError::VersionOrChecksum)?);
    let signed = payload.get(..n + 2).unwrap_or_default();
    if version > RDB_VERSION || u64::from_le_bytes(crc) != crc64(signed) {
        return Err(DecodeError::VersionOrChecksum);
    }
    Ok(body)
}

/// Writes a string as Redis does without compression: as an integer when it is the
/// canonical text of one that fits 32 bits, else length-prefixed.
fn write_string(out: &mut Vec<u8>, v: &[u8]) {
    if let Some(n) = canonical_int(v) {
        if let Ok(b) = i8::try_from(n) {
            out.extend_from_slice(&[0xc0, b as u8]);
            return;
        }
        if let Ok(h) = i16::try_from(n) {
            out.push(0xc1);
            out.extend_from_slice(&h.to_le_bytes());
            return;
        }
        if let Ok(w) = i32::try_from(n) {
            out.push(0xc2);
            out.extend_from_slice(&w.to_le_bytes());
            return;
        }
    }
    write_len(out, v.len() as u64);
    out.extend_from_slice(v);
}

/// `v` as an integer when it is exactly the decimal text Redis would write for it.
fn canonical_int(v: &[u8]) -> Option<i64> {
    if v.is_empty() || v.len() > 11 {
        return None;
    }
    let n = crate::number::parse_i64(v)?;
    (n.to_string().as_bytes() == v).then_some(n)
}

fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
    } else if n <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// A cursor over an encoded object.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// A length, or the special encoding a string is in.
enum Len {
    Plain(u64),
    Encoded(u8),
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self.at.checked_add(n).ok_or(DecodeError::BadFormat)?;
        let s = self.bytes.get(self.at..end).ok_or(DecodeError::BadFormat)?;
        self.at = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(*self.take(1)?.first().ok_or(DecodeError::BadFormat)?)
    }

    fn len(&mut self) -> Result<Len, DecodeError> {
        let b = self.byte()?;
        Ok(match b >> 6 {
            0 => Len::Plain(u64::from(b & 0x3f)),
            1 => Len::Plain((u64::from(b & 0x3f) << 8) | u64::from(self.byte()?)),
            3 => Len::Encoded(b & 0x3f),
            _ if b == 0x80 => {
                let s = self.take(4)?;
                Len::Plain(u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]])))
            }
            _ if b == 0x81 => {
                let mut w = [0u8; 8];
                w.copy_from_slice(self.take(8)?);
                Len::Plain(u64::from_be_bytes(w))
            }
            _ => return Err(DecodeError::BadFormat),
        })
    }

    fn plain_len(&mut self) -> Result<usize, DecodeError> {
        match self.len()? {
            Len::Plain(n) => usize::try_from(n).map_err(|_| DecodeError::BadFormat),
            Len::Encoded(_) => Err(DecodeError::BadFormat),
        }
    }

    fn string(&mut self) -> Result<Vec<u8>, DecodeError> {
        match self.len()? {
            Len::Plain(n) => {
                let n = usize::try_from(n).map_err(|_| DecodeError::BadFormat)?;
                Ok(self.take(n)?.to_vec())
            }
            Len::Encoded(0) => Ok((self.byte()? as i8).to_string().into_bytes()),
            Len::Encoded(1) => {
                let s = self.take(2)?;
                Ok(i16::from_le_bytes([s[0], s[1]]).to_string().into_bytes())
            }
            Len::Encoded(2) => {
                let s = self.take(4)?;
                Ok(i32::from_le_bytes([s[0], s[1], s[2], s[3]]).to_string().into_bytes())
            }
            Len::Encoded(3) => {
                let (clen, len) = (self.plain_len()?, self.plain_len()?);
                lzf_decompress(self.take(clen)?, len)
            }
            Len::Encoded(_) => Err(DecodeError::BadFormat),
        }
    }
}

/// LZF decompression (liblzf's format, as Redis compresses long strings): `len` bytes out,
/// or an error when the input does not decode to exactly that many.
fn lzf_decompress(input: &[u8], len: usize) -> Result<Vec<u8>, DecodeError> {
    // A payload can claim any length: never reserve more than the input could expand to.
    let mut out: Vec<u8> = Vec::with_capacity(len.min(input.len().saturating_mul(64)));
    let mut i = 0;
    while i < input.len() {
        let ctrl = usize::from(input[i]);
        i += 1;
        if ctrl < 32 {
            let lit = input.get(i..i + ctrl + 1).ok_or(DecodeError::BadFormat)?;
            out.extend_from_slice(lit);
            i += ctrl + 1;
        } else {
            let mut n = ctrl >> 5;
            if n == 7 {
                n += usize::from(*input.get(i).ok_or(DecodeError::BadFormat)?);
                i += 1;
            }
            let low = usize::from(*input.get(i).ok_or(DecodeError::BadFormat)?);
            i += 1;
            let back = ((ctrl & 0x1f) << 8) + low + 1;
            let start = out.len().checked_sub(back).ok_or(DecodeError::BadFormat)?;
            for k in 0..n + 2 {
                let b = *out.get(start + k).ok_or(DecodeError::BadFormat)?;
                out.push(b);
            }
        }
        if out.len() > len {
            return Err(DecodeError::BadFormat);
        }
    }
    if out.len() != len {
        return Err(DecodeError::BadFormat);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_matches_redis_check_value() {
        // Redis's crc64 test: crc64(0, "123456789") == 0xe9c6d914c4b8d9ca.
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn payloads_round_trip_and_match_redis_bytes() {
        // `DUMP` of "hello" and of 12345 on redis-server 7.0.15.
        let hello = dump_string(b"hello");
        assert_eq!(&hello[..7], b"\x00\x05hello");
        assert_eq!(&hello[7..9], b"\x0a\x00");
        assert_eq!(dump_string(b"12345")[..4], [0x00, 0xc1, 0x39, 0x30]);
        for v in [&b""[..], b"-1", b"007", b"4294967296", &[7u8; 100000]] {
            assert_eq!(restore_string(&dump_string(v)).unwrap(), v);
        }
    }

    #[test]
    fn damaged_payloads_are_refused() {
        let mut p = dump_string(b"hello");
        p[3] ^= 1;
        assert_eq!(restore_string(&p), Err(DecodeError::VersionOrChecksum));
        assert_eq!(restore_string(b"short"), Err(DecodeError::VersionOrChecksum));
    }

    #[test]
    fn lzf_back_references() {
        // "aaaaaaaaaa": one literal 'a', then a back reference of length 9 at distance 1.
        assert_eq!(lzf_decompress(&[0x00, b'a', 0xe0, 0x00, 0x00], 10).unwrap(), b"aaaaaaaaaa");
        assert!(lzf_decompress(&[0xe0, 0x00, 0x05], 10).is_err());
    }
}
