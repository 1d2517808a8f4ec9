//! Hint files: one small entry per datafile record, so that opening a store rebuilds the keydir
//! without reading values.

use crate::bytes::{put_varint, Cursor};
use crate::error::{err, Error, ErrorKind, Result};
use crate::header::{FileHeader, FileKind};
use crate::limits::{FILE_HEADER_LEN, MAX_KEY_LEN, MAX_VALUE_LEN};
use crate::record::{record_len, FLAG_EXPIRY, FLAG_TOMBSTONE};

/// Flag value of the trailer that ends every hint file.
pub const FLAG_TRAILER: u8 = 0x80;
/// Length of the hint trailer.
pub const HINT_TRAILER_LEN: usize = 21;

/// One hint entry: where the record of `key` lies in its datafile.
///
/// ```text
/// +-------+--------------+-------------+---------+---------+-----+
/// | flags | [expiry u64] | key_len var | gap var | len var | key |
/// +-------+--------------+-------------+---------+---------+-----+
/// ```
/// `gap` is the distance from the end of the previous entry's record (from the end of the
/// file header for the first entry) to this record: 0 for records stored back to back, so
/// positions cost one byte. Integrity comes from the CRC32 in the trailer, which covers the
/// whole file.
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

/// Decodes one hint entry from the start of `buf`. `prev_end` is the end of the previous
/// entry's record (the file header's length for the first entry); the record described must
/// start at or after it and lie inside the first `data_len` bytes of the datafile.
///
/// Returns the entry and its encoded length. The trailer is refused here
/// ([`ErrorKind::BadFlags`]); [`HintReader`] handles it.
pub fn decode_hint_entry(
    buf: &[u8],
    prev_end: u64,
    data_len: u64,
) -> Result<(HintEntry<'_>, usize)> {
    let mut c = Cursor::new(buf);
    let flags = c.u8()?;
    if flags & !(FLAG_TOMBSTONE | FLAG_EXPIRY) != 0 || flags == FLAG_TOMBSTONE | FLAG_EXPIRY {
        return err(ErrorKind::BadFlags { flags });
    }
    let expiry = if flags & FLAG_EXPIRY != 0 { Some(c.u64()?) } else { None };
    let key_len = c.varint()?;
    let gap = c.varint()?;
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
    let tombstone = flags & FLAG_TOMBSTONE != 0;
    // The smallest and largest record this key could have.
    let min = record_len(key_len as usize, 0, expiry.is_some()) as u64;
    let max = if tombstone {
        min
    } else {
        record_len(key_len as usize, MAX_VALUE_LEN, expiry.is_some()) as u64
    };
    let offset = prev_end.max(FILE_HEADER_LEN as u64).checked_add(gap);
    let in_file = offset.and_then(|o| o.checked_add(len)).is_some_and(|end| end <= data_len);
    match offset {
        Some(offset) if in_file && len >= min && len <= max => {
            Ok((HintEntry { key, offset, len: len as u32, expiry, tombstone }, total))
        }
        _ => err(ErrorKind::HintOutOfRange),
    }
}

/// The decoded trailer of a hint file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintTrailer {
    /// Number of entries before the trailer.
    pub count: u64,
    /// How many bytes of the datafile (from its start) the entries describe.
    pub data_len: u64,
}

/// Reads a whole hint file held in memory.
///
/// ```text
/// header | entries ... | 0x80 | count u64 | data_len u64 | crc32 u32
/// ```
/// [`HintReader::new`] checks the header (kind, file id), the trailer, the CRC32 (which covers
/// every byte of the file before it), and that the described prefix fits in the datafile,
/// whose length the caller supplies. Iterating then yields each entry, checked against that
/// prefix, and finally verifies the entry count. Any error means the hint file must not be
/// used: the caller falls back to scanning the datafile.
#[derive(Debug, Clone)]
pub struct HintReader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
    prev_end: u64,
    seen: u64,
    trailer: HintTrailer,
    failed: bool,
}

impl<'a> HintReader<'a> {
    /// Validates header, trailer and checksum of `buf`, a hint file for datafile `file_id`,
    /// whose datafile is `datafile_len` bytes long.
    pub fn new(buf: &'a [u8], file_id: u64, datafile_len: u64) -> Result<HintReader<'a>> {
        FileHeader::decode_expect(buf, FileKind::Hint, file_id)?;
        if buf.len() < FILE_HEADER_LEN + HINT_TRAILER_LEN {
            return Err(Error::new(ErrorKind::BadHintTrailer, buf.len() as u64));
        }
        let end = buf.len() - HINT_TRAILER_LEN;
        let mut c = Cursor::new(buf.get(end..).unwrap_or_default());
        let flags = c.u8()?;
        let count = c.u64()?;
        let data_len = c.u64()?;
        let stored = c.u32()?;
        let computed = crc32fast::hash(buf.get(..buf.len() - 4).unwrap_or_default());
        if stored != computed {
            return Err(Error::new(ErrorKind::ChecksumMismatch { stored, computed }, end as u64));
        }
        if flags != FLAG_TRAILER {
            return Err(Error::new(ErrorKind::BadHintTrailer, end as u64));
        }
        if data_len > datafile_len || data_len < FILE_HEADER_LEN as u64 {
            return Err(Error::new(ErrorKind::HintOutOfRange, end as u64));
        }
        let trailer = HintTrailer { count, data_len };
        Ok(HintReader {
            buf,
            pos: FILE_HEADER_LEN,
            end,
            prev_end: FILE_HEADER_LEN as u64,
            seen: 0,
            trailer,
            failed: false,
        })
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
        match decode_hint_entry(body, self.prev_end, self.trailer.data_len) {
            Ok((entry, len)) => {
                self.pos += len;
                self.seen += 1;
                self.prev_end = entry.offset + u64::from(entry.len);
                Some(Ok(entry))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e.shifted(self.pos as u64)))
            }
        }
    }
}

/// Builds a hint file in memory: header, entries (pushed in file order), trailer.
#[derive(Debug, Clone)]
pub struct HintWriter {
    buf: Vec<u8>,
    count: u64,
    prev_end: u64,
}

impl HintWriter {
    /// Starts a hint file for datafile `file_id`.
    pub fn new(file_id: u64) -> HintWriter {
        let mut buf = Vec::with_capacity(4096);
        FileHeader::new(FileKind::Hint, file_id).encode(&mut buf);
        HintWriter { buf, count: 0, prev_end: FILE_HEADER_LEN as u64 }
    }

    /// Appends one entry. Entries must come in file order (each record at or after the end
    /// of the previous one); nothing is appended on error.
    pub fn push(&mut self, e: &HintEntry<'_>) -> Result<()> {
        if e.key.is_empty() {
            return err(ErrorKind::EmptyKey);
        }
        if e.key.len() > MAX_KEY_LEN {
            return err(ErrorKind::KeyTooLarge { len: e.key.len() as u64 });
        }
        if e.tombstone && e.expiry.is_some() {
            return err(ErrorKind::BadTombstone);
        }
        let Some(gap) = e.offset.checked_sub(self.prev_end) else {
            return err(ErrorKind::HintOutOfRange);
        };
        let mut flags = 0;
        if e.tombstone {
            flags |= FLAG_TOMBSTONE;
        }
        if e.expiry.is_some() {
            flags |= FLAG_EXPIRY;
        }
        self.buf.push(flags);
        if let Some(x) = e.expiry {
            self.buf.extend_from_slice(&x.to_le_bytes());
        }
        put_varint(&mut self.buf, e.key.len() as u64);
        put_varint(&mut self.buf, gap);
        put_varint(&mut self.buf, u64::from(e.len));
        self.buf.extend_from_slice(e.key);
        self.prev_end = e.offset + u64::from(e.len);
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
        self.buf.push(FLAG_TRAILER);
        self.buf.extend_from_slice(&self.count.to_le_bytes());
        self.buf.extend_from_slice(&data_len.to_le_bytes());
        let crc = crc32fast::hash(&self.buf);
        self.buf.extend_from_slice(&crc.to_le_bytes());
        self.buf
    }
}
