//! Data records and batch frames.

use crate::bytes::{put_varint, varint_len, Cursor};
use crate::error::{err, Error, ErrorKind, Result};
use crate::limits::{
    FILE_HEADER_LEN, MAX_BATCH_BODY_LEN, MAX_KEY_LEN, MAX_VALUE_LEN, MIN_RECORD_LEN,
};

/// Flag bit: the record deletes its key and carries no value.
pub const FLAG_TOMBSTONE: u8 = 0x01;
/// Flag bit: an absolute expiry time (u64 milliseconds since the Unix epoch) follows the flags.
pub const FLAG_EXPIRY: u8 = 0x02;
/// Flag value of a batch frame (no other bit may be set with it).
pub const FLAG_BATCH: u8 = 0x04;
/// Flag bit of a record inside a batch frame. Such a record is valid only inside its frame:
/// found on its own (for example by a scan resynchronizing after damage) it is refused, so a
/// damaged batch can never be applied in part.
pub const FLAG_IN_BATCH: u8 = 0x08;
/// Flag value of a sync point (no other bit may be set with it).
pub const FLAG_SYNC_POINT: u8 = 0x10;
/// Encoded length of a sync point: checksum, flags and the durable end.
pub const SYNC_POINT_LEN: usize = 13;

/// Length of the fixed part of a record: checksum and flags.
const FIXED_LEN: usize = 5;

/// One data record: a put (key, value, optional expiry) or a tombstone (key only).
///
/// ```text
/// +-----------+-------+----------------+-------------+---------------+-----+-------+
/// | crc32 u32 | flags | [expiry u64]   | key_len var | value_len var | key | value |
/// +-----------+-------+----------------+-------------+---------------+-----+-------+
/// ```
/// The CRC32 covers every byte after itself. A 16-byte key with a 100-byte value costs
/// 7 bytes of header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The key, 1 to [`MAX_KEY_LEN`] bytes.
    pub key: &'a [u8],
    /// The value, 0 to [`MAX_VALUE_LEN`] bytes; always empty for a tombstone.
    pub value: &'a [u8],
    /// Absolute expiry in milliseconds since the Unix epoch, if the record has one.
    pub expiry: Option<u64>,
    /// True when the record deletes its key.
    pub tombstone: bool,
}

impl<'a> Record<'a> {
    /// A put of `value` under `key`.
    pub fn put(key: &'a [u8], value: &'a [u8]) -> Record<'a> {
        Record { key, value, expiry: None, tombstone: false }
    }

    /// A put that expires at `expiry_ms` (milliseconds since the Unix epoch).
    pub fn put_expiring(key: &'a [u8], value: &'a [u8], expiry_ms: u64) -> Record<'a> {
        Record { key, value, expiry: Some(expiry_ms), tombstone: false }
    }

    /// A tombstone for `key`.
    pub fn tombstone(key: &'a [u8]) -> Record<'a> {
        Record { key, value: &[], expiry: None, tombstone: true }
    }

    /// Checks the record against the format's limits without encoding it.
    pub fn validate(&self) -> Result<()> {
        if self.key.is_empty() {
            return err(ErrorKind::EmptyKey);
        }
        if self.key.len() > MAX_KEY_LEN {
            return err(ErrorKind::KeyTooLarge { len: self.key.len() as u64 });
        }
        if self.value.len() > MAX_VALUE_LEN {
            return err(ErrorKind::ValueTooLarge { len: self.value.len() as u64 });
        }
        if self.tombstone && (!self.value.is_empty() || self.expiry.is_some()) {
            return err(ErrorKind::BadTombstone);
        }
        Ok(())
    }

    fn flags(&self) -> u8 {
        let mut f = 0;
        if self.tombstone {
            f |= FLAG_TOMBSTONE;
        }
        if self.expiry.is_some() {
            f |= FLAG_EXPIRY;
        }
        f
    }

    /// The number of bytes [`encode`](Self::encode) appends.
    pub fn encoded_len(&self) -> usize {
        record_len(self.key.len(), self.value.len(), self.expiry.is_some())
    }

    /// Validates the record, then appends its encoding to `out` and returns its length.
    /// On error nothing is appended.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<usize> {
        self.encode_flagged(out, 0)
    }

    fn encode_flagged(&self, out: &mut Vec<u8>, extra_flags: u8) -> Result<usize> {
        self.validate()?;
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        out.push(self.flags() | extra_flags);
        if let Some(e) = self.expiry {
            out.extend_from_slice(&e.to_le_bytes());
        }
        put_varint(out, self.key.len() as u64);
        put_varint(out, self.value.len() as u64);
        out.extend_from_slice(self.key);
        out.extend_from_slice(self.value);
        seal(out, start);
        Ok(out.len() - start)
    }
}

/// The encoded length of a record with these sizes.
pub const fn record_len(key_len: usize, value_len: usize, has_expiry: bool) -> usize {
    FIXED_LEN
        + if has_expiry { 8 } else { 0 }
        + varint_len(key_len as u64)
        + varint_len(value_len as u64)
        + key_len
        + value_len
}

/// Writes the CRC32 of `out[start + 4..]` into `out[start..start + 4]`.
fn seal(out: &mut [u8], start: usize) {
    let crc = crc32fast::hash(out.get(start + 4..).unwrap_or_default());
    if let Some(slot) = out.get_mut(start..start + 4) {
        slot.copy_from_slice(&crc.to_le_bytes());
    }
}

fn check_crc(stored: u32, covered: &[u8]) -> Result<()> {
    let computed = crc32fast::hash(covered);
    if stored == computed {
        Ok(())
    } else {
        err(ErrorKind::ChecksumMismatch { stored, computed })
    }
}

/// What one entry of a datafile is: a record or a batch frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a> {
    /// A single record.
    Record(Record<'a>),
    /// A batch frame whose checksum, count and records have all been verified.
    Batch(Batch<'a>),
    /// A sync point: a note the writer appends after an fsync, saying that every byte of
    /// the file before `durable_end` reached the disk. It carries no data. Recovery uses it
    /// to tell damage at rest (before a sync point: keep what follows) from a torn tail
    /// (after the last one: cut).
    SyncPoint {
        /// Every byte of the file before this offset was durable when the point was written.
        durable_end: u64,
    },
}

/// A verified batch frame: `count` records stored back to back in `body`.
///
/// ```text
/// +-----------+-------------+-----------+--------------+---------------------------+
/// | crc32 u32 | flags=0x04  | count var | body_len var | body: count records       |
/// +-----------+-------------+-----------+--------------+---------------------------+
/// ```
/// The frame's CRC32 covers every byte after itself, body included, so a torn or damaged
/// batch is refused whole; each record in the body also carries its own checksum, so a reader
/// can fetch one record of a batch by its position alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch<'a> {
    /// Number of records in the body.
    pub count: u32,
    /// Offset of the body from the start of the frame.
    pub body_offset: usize,
    /// The encoded records.
    pub body: &'a [u8],
}

impl<'a> Batch<'a> {
    /// The records of the body, each with its offset from the start of the body and its
    /// length. The frame was verified when decoded, so this iterator yields exactly `count`
    /// records.
    pub fn records(&self) -> BatchRecords<'a> {
        BatchRecords { body: self.body, pos: 0 }
    }
}

/// Iterator over the records of a verified [`Batch`].
#[derive(Debug, Clone)]
pub struct BatchRecords<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for BatchRecords<'a> {
    /// (offset within the body, encoded length, record)
    type Item = (usize, usize, Record<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.body.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let (rec, len) = decode_record(rest).ok()?;
        let at = self.pos;
        self.pos += len;
        Some((at, len, rec))
    }
}

/// Decodes one entry (record or batch frame) from the start of `buf`.
///
/// Returns the entry and its encoded length. Errors carry offsets relative to `buf`.
/// A length field is checked against `buf` before it is used: nothing is allocated.
pub fn decode_entry(buf: &[u8]) -> Result<(Entry<'_>, usize)> {
    let flags = match buf.get(4) {
        Some(&f) => f,
        None => return Err(Error::new(ErrorKind::Truncated { needed: 0 }, 0)),
    };
    if flags == FLAG_BATCH {
        let (b, len) = decode_batch(buf)?;
        Ok((Entry::Batch(b), len))
    } else if flags == FLAG_SYNC_POINT {
        let durable_end = decode_sync_point(buf)?;
        Ok((Entry::SyncPoint { durable_end }, SYNC_POINT_LEN))
    } else if flags & FLAG_IN_BATCH != 0 {
        // A batch member outside its frame.
        err(ErrorKind::BadFlags { flags })
    } else {
        let (r, len) = decode_record(buf)?;
        Ok((Entry::Record(r), len))
    }
}

/// Decodes one record from the start of `buf`, verifying its checksum. It accepts a record
/// of a batch (read by its position, as a get does).
///
/// A batch frame is refused with [`ErrorKind::BadFlags`]; use [`decode_entry`] to accept both.
pub fn decode_record(buf: &[u8]) -> Result<(Record<'_>, usize)> {
    decode_record_flags(buf).map(|(r, len, _)| (r, len))
}

/// Like [`decode_record`], also returning whether the record carries [`FLAG_IN_BATCH`].
fn decode_record_flags(buf: &[u8]) -> Result<(Record<'_>, usize, bool)> {
    let mut c = Cursor::new(buf);
    let stored = c.u32()?;
    let flags = c.u8()?;
    if flags & !(FLAG_TOMBSTONE | FLAG_EXPIRY | FLAG_IN_BATCH) != 0 {
        return err(ErrorKind::BadFlags { flags });
    }
    let tombstone = flags & FLAG_TOMBSTONE != 0;
    let expiry = if flags & FLAG_EXPIRY != 0 { Some(c.u64()?) } else { None };
    let key_len = c.varint()?;
    let value_len = c.varint()?;
    if key_len == 0 {
        return err(ErrorKind::EmptyKey);
    }
    if key_len > MAX_KEY_LEN as u64 {
        return err(ErrorKind::KeyTooLarge { len: key_len });
    }
    if value_len > MAX_VALUE_LEN as u64 {
        return err(ErrorKind::ValueTooLarge { len: value_len });
    }
    if tombstone && (value_len != 0 || expiry.is_some()) {
        return err(ErrorKind::BadTombstone);
    }
    // Both lengths are bounded above, so this cannot overflow.
    let total = c.pos() + key_len as usize + value_len as usize;
    c.set_needed(total as u64);
    let key = c.take(key_len as usize)?;
    let value = c.take(value_len as usize)?;
    check_crc(stored, buf.get(4..total).unwrap_or_default())?;
    Ok((Record { key, value, expiry, tombstone }, total, flags & FLAG_IN_BATCH != 0))
}

/// The key a damaged record at the start of `buf` claims to carry, read from its header
/// without verifying the checksum (so the damage may be in the key itself): `None` when the
/// header is not that of a plain record or its key is not all in `buf`. For reports that
/// name what damage touched, never for reading data.
pub fn unverified_record_key(buf: &[u8]) -> Option<&[u8]> {
    unverified_record_header(buf).map(|h| h.0)
}

/// Like [`unverified_record_key`], also giving whether the header claims a tombstone and
/// the record's whole length as the header claims it (unverified, for reports only).
pub fn unverified_record_header(buf: &[u8]) -> Option<(&[u8], bool, usize)> {
    let mut c = Cursor::new(buf);
    let _crc = c.u32().ok()?;
    let flags = c.u8().ok()?;
    if flags & !(FLAG_TOMBSTONE | FLAG_EXPIRY | FLAG_IN_BATCH) != 0 {
        return None;
    }
    if flags & FLAG_EXPIRY != 0 {
        c.u64().ok()?;
    }
    let key_len = c.varint().ok()?;
    let value_len = c.varint().ok()?;
    if key_len == 0 || key_len > MAX_KEY_LEN as u64 || value_len > MAX_VALUE_LEN as u64 {
        return None;
    }
    let total = c.pos() + key_len as usize + value_len as usize;
    Some((c.take(key_len as usize).ok()?, flags & FLAG_TOMBSTONE != 0, total))
}

/// Appends a sync point saying that the file's first `durable_end` bytes are durable, and
/// returns its length ([`SYNC_POINT_LEN`]).
///
/// ```text
/// +-----------+-------------+-----------------+
/// | crc32 u32 | flags=0x10  | durable_end u64 |
/// +-----------+-------------+-----------------+
/// ```
pub fn encode_sync_point(durable_end: u64, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.push(FLAG_SYNC_POINT);
    out.extend_from_slice(&durable_end.to_le_bytes());
    seal(out, start);
    SYNC_POINT_LEN
}

fn decode_sync_point(buf: &[u8]) -> Result<u64> {
    let mut c = Cursor::new(buf);
    c.set_needed(SYNC_POINT_LEN as u64);
    let stored = c.u32()?;
    let _flags = c.u8()?;
    let durable_end = c.u64()?;
    check_crc(stored, buf.get(4..SYNC_POINT_LEN).unwrap_or_default())?;
    if durable_end < FILE_HEADER_LEN as u64 {
        return err(ErrorKind::BadSyncPoint);
    }
    Ok(durable_end)
}

fn decode_batch(buf: &[u8]) -> Result<(Batch<'_>, usize)> {
    let mut c = Cursor::new(buf);
    let stored = c.u32()?;
    let _flags = c.u8()?;
    let count = c.varint()?;
    let body_len = c.varint()?;
    if body_len > MAX_BATCH_BODY_LEN {
        return err(ErrorKind::BatchTooLarge { len: body_len });
    }
    // Every record takes at least MIN_RECORD_LEN bytes, so the count is bounded by the body.
    if count == 0 || count > body_len / MIN_RECORD_LEN as u64 {
        return err(ErrorKind::BadBatch);
    }
    let body_offset = c.pos();
    let total = body_offset + body_len as usize;
    c.set_needed(total as u64);
    let body = c.take(body_len as usize)?;
    check_crc(stored, buf.get(4..total).unwrap_or_default())?;
    // The checksum matched; still verify the body holds exactly `count` records so that the
    // iterator above can trust it.
    let mut pos = 0usize;
    for _ in 0..count {
        let rest = body.get(pos..).unwrap_or_default();
        match decode_record_flags(rest) {
            Ok((_, len, true)) => pos += len,
            _ => return Err(Error::new(ErrorKind::BadBatch, (body_offset + pos) as u64)),
        }
    }
    if pos != body.len() {
        return Err(Error::new(ErrorKind::BadBatch, (body_offset + pos) as u64));
    }
    Ok((Batch { count: count as u32, body_offset, body }, total))
}

/// The length of the frame [`encode_batch`] writes for `records`, without encoding them
/// (records are not validated here).
pub fn batch_frame_len(records: &[Record<'_>]) -> u64 {
    let body: u64 = records.iter().map(|r| r.encoded_len() as u64).sum();
    // Checksum, flags, the record count and the body length, then the body.
    5 + (varint_len(records.len() as u64) + varint_len(body)) as u64 + body
}

/// Encodes an atomic batch of records as one frame, appended to `out`.
///
/// Returns the frame's length and, for each record, its offset from the start of the frame
/// and its length. On error (an invalid record, an empty or oversized batch) nothing is
/// appended.
pub fn encode_batch(
    records: &[Record<'_>],
    out: &mut Vec<u8>,
) -> Result<(usize, Vec<(usize, usize)>)> {
    if records.is_empty() {
        return err(ErrorKind::BadBatch);
    }
    let mut body_len: u64 = 0;
    for r in records {
        r.validate()?;
        body_len += r.encoded_len() as u64;
    }
    if body_len > MAX_BATCH_BODY_LEN {
        return err(ErrorKind::BatchTooLarge { len: body_len });
    }
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.push(FLAG_BATCH);
    put_varint(out, records.len() as u64);
    put_varint(out, body_len);
    let mut positions = Vec::with_capacity(records.len());
    for r in records {
        let at = out.len() - start;
        let len = r.encode_flagged(out, FLAG_IN_BATCH)?;
        positions.push((at, len));
    }
    seal(out, start);
    Ok((out.len() - start, positions))
}
