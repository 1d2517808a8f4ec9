//! Hint files: one small entry per datafile record, so that opening a store rebuilds the keydir
//! without reading values.

use crate::bytes::{put_varint, Cursor};
use crate::error::{err, Error, ErrorKind, Result};
use crate::header::{FileHeader, FileKind, FILE_HEADER_LEN};
use crate::record::{record_len, FLAG_EXPIRY, FLAG_TOMBSTONE, MAX_KEY_LEN, MAX_VALUE_LEN};

/// Flag value of the trailer entry that ends every hint file.
pub const FLAG_TRAILER: u8 = 0x80;
/// Length of the hint trailer.
pub const HINT_TRAILER_LEN: usize = 21;

/// One hint entry: where the record of `key` lies in its datafile.
///
/// ```text
/// +-----------+-------+--------------+-------------+------------+------------+-----+
/// | crc32 u32 | flags | [expiry u64] | key_len var | offset var | len var    | key |
/// +-----------+-------+--------------+-------------+------------+------------+-----+
/// ```
/// The CRC32 covers every byte of the entry after itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintEntry<'a> {
    /// The record's key.
    pub key: &'a [u8],
    /// Offset of the record from the start of its datafile.
    pub offset: u64,
    /// Encoded length of the record.
    pub len: u32,
    /// The record's expiry, if any.
    pub expiry: Option<u64>,
    /// True when the record is a tombstone.
    pub tombstone: bool,
}

impl HintEntry<'_> {
    /// Appends the encoded entry to `out`. Nothing is appended on error.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<usize> {
        if self.key.is_empty() {
            return err(ErrorKind::EmptyKey);
        }
        if self.key.len() > MAX_KEY_LEN {
            return err(ErrorKind::KeyTooLarge { len: self.key.len() as u64 });
        }
        if self.tombstone && self.expiry.is_some() {
            return err(ErrorKind::BadTombstone);
        }
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        let mut flags = 0;
        if self.tombstone {
            flags |= FLAG_TOMBSTONE;
        }
        if self.expiry.is_some() {
            flags |= FLAG_EXPIRY;
        }
        out.push(flags);
        if let Some(e) = self.expiry {
            out.extend_from_slice(&e.to_le_bytes());
        }
        put_varint(out, self.key.len() as u64);
        put_varint(out, self.offset);
        put_varint(out, u64::from(self.len));
        out.extend_from_slice(self.key);
        seal(out, start);
        Ok(out.len() - start)
    }
}

fn seal(out: &mut [u8], start: usize) {
    let crc = crc32fast::hash(out.get(start + 4..).unwrap_or_default());
    if let Some(slot) = out.get_mut(start..start + 4) {
        slot.copy_from_slice(&crc.to_le_bytes());
    }
}

/// Appends the trailer that closes a hint file of `count` entries describing the first
/// `data_len` bytes of its datafile.
///
/// ```text
/// +-----------+-------------+-----------+--------------+
/// | crc32 u32 | flags=0x80  | count u64 | data_len u64 |
/// +-----------+-------------+-----------+--------------+
/// ```
pub fn encode_hint_trailer(count: u64, data_len: u64, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.push(FLAG_TRAILER);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&data_len.to_le_bytes());
    seal(out, start);
}

/// Decodes one hint entry from the start of `buf` and checks that the record it describes
/// can lie inside the first `data_len` bytes of its datafile.
///
/// Returns the entry and its encoded length. The trailer is refused here
/// ([`ErrorKind::BadFlags`]); [`HintReader`] handles it.
pub fn decode_hint_entry(buf: &[u8], data_len: u64) -> Result<(HintEntry<'_>, usize)> {
    let mut c = Cursor::new(buf);
    let stored = c.u32()?;
    let flags = c.u8()?;
    if flags & !(FLAG_TOMBSTONE | FLAG_EXPIRY) != 0 || flags == FLAG_TOMBSTONE | FLAG_EXPIRY {
        return err(ErrorKind::BadFlags { flags });
    }
    let expiry = if flags & FLAG_EXPIRY != 0 { Some(c.u64()?) } else { None };
    let key_len = c.varint()?;
    let offset = c.varint()?;
    let len = c.varint()?;
    if key_len == 0 {
        return err(ErrorKind::EmptyKey);
    }
    if key_len > MAX_KEY_LEN as u64 {
        return err(ErrorKind::KeyTooLarge { len: key_len });
    }
    let total = c.pos() + key_len as usize;
    c.set_needed(total as u64);
    let key = c.take(key_len as usize)?;
    let computed = crc32fast::hash(buf.get(4..total).unwrap_or_default());
    if computed != stored {
        return err(ErrorKind::ChecksumMismatch { stored, computed });
    }
    let tombstone = flags & FLAG_TOMBSTONE != 0;
    // The smallest and largest record this key could have.
    let min = record_len(key_len as usize, 0, expiry.is_some()) as u64;
    let max = if tombstone {
        min
    } else {
        record_len(key_len as usize, MAX_VALUE_LEN, expiry.is_some()) as u64
    };
    let in_file = offset >= FILE_HEADER_LEN as u64
        && offset.checked_add(len).is_some_and(|end| end <= data_len);
    if !in_file || len < min || len > max {
        return err(ErrorKind::HintOutOfRange);
    }
    Ok((HintEntry { key, offset, len: len as u32, expiry, tombstone }, total))
}

/// The decoded trailer of a hint file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintTrailer {
    /// Number of entries before the trailer.
    pub count: u64,
    /// How many bytes of the datafile (from its start) the entries describe.
    pub data_len: u64,
}

fn decode_trailer(buf: &[u8]) -> Result<HintTrailer> {
    let mut c = Cursor::new(buf);
    c.set_needed(HINT_TRAILER_LEN as u64);
    let stored = c.u32()?;
    let flags = c.u8()?;
    let count = c.u64()?;
    let data_len = c.u64()?;
    if flags != FLAG_TRAILER || c.pos() != buf.len() {
        return err(ErrorKind::BadHintTrailer);
    }
    let computed = crc32fast::hash(buf.get(4..).unwrap_or_default());
    if computed != stored {
        return err(ErrorKind::ChecksumMismatch { stored, computed });
    }
    Ok(HintTrailer { count, data_len })
}

/// Reads a whole hint file held in memory.
///
/// [`HintReader::new`] checks the header (kind, file id) and the trailer (checksum, and that
/// the described prefix fits in the datafile, whose length the caller supplies). Iterating
/// then yields each entry, checked against that prefix, and finally verifies that the count
/// of entries matches the trailer. Any error means the hint file must not be used: the
/// caller falls back to scanning the datafile.
#[derive(Debug, Clone)]
pub struct HintReader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
    seen: u64,
    trailer: HintTrailer,
    failed: bool,
}

impl<'a> HintReader<'a> {
    /// Validates header and trailer of `buf`, a hint file for datafile `file_id`, whose
    /// datafile is `datafile_len` bytes long.
    pub fn new(buf: &'a [u8], file_id: u64, datafile_len: u64) -> Result<HintReader<'a>> {
        FileHeader::decode_expect(buf, FileKind::Hint, file_id)?;
        if buf.len() < FILE_HEADER_LEN + HINT_TRAILER_LEN {
            return Err(Error::new(ErrorKind::BadHintTrailer, buf.len() as u64));
        }
        let end = buf.len() - HINT_TRAILER_LEN;
        let trailer = decode_trailer(buf.get(end..).unwrap_or_default())
            .map_err(|e| e.shifted(end as u64))?;
        if trailer.data_len > datafile_len || trailer.data_len < FILE_HEADER_LEN as u64 {
            return Err(Error::new(ErrorKind::HintOutOfRange, end as u64));
        }
        Ok(HintReader { buf, pos: FILE_HEADER_LEN, end, seen: 0, trailer, failed: false })
    }

    /// The trailer: entry count and the length of the datafile prefix the entries describe.
    pub fn trailer(&self) -> HintTrailer {
        self.trailer
    }
}

impl<'a> Iterator for HintReader<'a> {
    type Item = Result<HintEntry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.pos == self.end {
            if self.seen != self.trailer.count {
                self.failed = true;
                return Some(Err(Error::new(ErrorKind::BadHintTrailer, self.end as u64)));
            }
            return None;
        }
        let body = self.buf.get(self.pos..self.end).unwrap_or_default();
        match decode_hint_entry(body, self.trailer.data_len) {
            Ok((entry, len)) => {
                self.pos += len;
                self.seen += 1;
                Some(Ok(entry))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e.shifted(self.pos as u64)))
            }
        }
    }
}

/// Builds a hint file in memory: header, entries, trailer.
#[derive(Debug, Clone)]
pub struct HintWriter {
    buf: Vec<u8>,
    count: u64,
}

impl HintWriter {
    /// Starts a hint file for datafile `file_id`.
    pub fn new(file_id: u64) -> HintWriter {
        let mut buf = Vec::with_capacity(4096);
        FileHeader::new(FileKind::Hint, file_id).encode(&mut buf);
        HintWriter { buf, count: 0 }
    }

    /// Appends one entry.
    pub fn push(&mut self, entry: &HintEntry<'_>) -> Result<()> {
        entry.encode(&mut self.buf)?;
        self.count += 1;
        Ok(())
    }

    /// Number of entries pushed so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Closes the file with its trailer; `data_len` is the length of the datafile prefix the
    /// entries describe.
    pub fn finish(mut self, data_len: u64) -> Vec<u8> {
        encode_hint_trailer(self.count, data_len, &mut self.buf);
        self.buf
    }
}
