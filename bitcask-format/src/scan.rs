//! A scanner over the records of a datafile held (wholly or in chunks) in memory.

use crate::error::{Error, ErrorKind};
use crate::record::{decode_entry, BatchRecords, Entry, Record};

/// One record found by the [`Scanner`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScannedRecord<'a> {
    /// Absolute offset of the record in its file.
    pub offset: u64,
    /// Encoded length of the record.
    pub len: u32,
    /// The decoded record.
    pub record: Record<'a>,
    /// True when the record belongs to a batch frame (the whole frame was verified before its
    /// first record was yielded).
    pub in_batch: bool,
}

/// How a scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanOutcome {
    /// The scan has not ended yet: keep iterating.
    Running,
    /// Every byte up to `end` (the end of the input) was part of a valid entry.
    Clean {
        /// Absolute offset of the end of the input.
        end: u64,
    },
    /// The input chunk ended inside (or exactly before) an entry and the caller said more
    /// bytes follow: read again from `offset`, at least `needed` bytes (0 when unknown).
    NeedMore {
        /// Absolute offset of the first entry not yet decoded.
        offset: u64,
        /// Bytes the entry at `offset` needs, if the scanner could tell.
        needed: u64,
    },
    /// The input ends inside an entry that starts at `offset` (a torn tail).
    TornTail {
        /// Absolute offset of the incomplete entry: the end of the valid prefix.
        offset: u64,
    },
    /// The entry at `error.offset` is damaged in the way `error.kind` says.
    Corrupt(Error),
}

impl ScanOutcome {
    /// The end of the valid prefix: the offset up to which every byte was decoded.
    pub fn valid_end(&self) -> Option<u64> {
        match *self {
            ScanOutcome::Running => None,
            ScanOutcome::Clean { end } => Some(end),
            ScanOutcome::NeedMore { offset, .. } | ScanOutcome::TornTail { offset } => Some(offset),
            ScanOutcome::Corrupt(e) => Some(e.offset),
        }
    }
}

/// Iterates the records of a datafile's bytes and then reports a precise [`ScanOutcome`].
///
/// `buf` holds the file's bytes from absolute offset `base` on (after the file header, or a
/// later entry boundary). `at_eof` says whether `buf` reaches the end of the file: when it
/// does not, an entry cut by the end of `buf` ends the scan with [`ScanOutcome::NeedMore`]
/// instead of a torn tail, so a file can be scanned in fixed-size chunks.
///
/// ```
/// use bitcask_format::{Record, Scanner, ScanOutcome};
/// let mut file = Vec::new();
/// Record::put(b"k", b"v").encode(&mut file).unwrap();
/// Record::tombstone(b"k").encode(&mut file).unwrap();
/// let mut scan = Scanner::new(&file, 0, true);
/// let keys: Vec<_> = scan.by_ref().map(|r| r.record.tombstone).collect();
/// assert_eq!(keys, [false, true]);
/// assert_eq!(scan.outcome(), ScanOutcome::Clean { end: file.len() as u64 });
/// ```
#[derive(Debug, Clone)]
pub struct Scanner<'a> {
    buf: &'a [u8],
    base: u64,
    pos: usize,
    at_eof: bool,
    batch: Option<(u64, BatchRecords<'a>)>,
    outcome: ScanOutcome,
    durable_mark: u64,
}

impl<'a> Scanner<'a> {
    /// A scanner over `buf`, which starts at absolute offset `base` of its file.
    pub fn new(buf: &'a [u8], base: u64, at_eof: bool) -> Scanner<'a> {
        Scanner {
            buf,
            base,
            pos: 0,
            at_eof,
            batch: None,
            outcome: ScanOutcome::Running,
            durable_mark: 0,
        }
    }

    /// The largest `durable_end` of the sync points passed so far (0 when none): every
    /// byte of the file before it had reached the disk when that point was written. Sync
    /// points are not yielded as records.
    pub fn durable_mark(&self) -> u64 {
        self.durable_mark
    }

    /// How the scan ended ([`ScanOutcome::Running`] until the iterator returned `None`).
    pub fn outcome(&self) -> ScanOutcome {
        self.outcome
    }

    fn abs(&self, pos: usize) -> u64 {
        self.base.saturating_add(pos as u64)
    }
}

impl<'a> Iterator for Scanner<'a> {
    type Item = ScannedRecord<'a>;

    fn next(&mut self) -> Option<ScannedRecord<'a>> {
        loop {
            if let Some((body_at, records)) = &mut self.batch {
                if let Some((at, len, record)) = records.next() {
                    return Some(ScannedRecord {
                        offset: *body_at + at as u64,
                        len: len as u32,
                        record,
                        in_batch: true,
                    });
                }
                self.batch = None;
            }
            if self.outcome != ScanOutcome::Running {
                return None;
            }
            if let Some(r) = self.step() {
                return Some(r);
            }
        }
    }
}

impl<'a> Scanner<'a> {
    /// Decodes the entry at the current position: a record is returned; a batch frame is
    /// opened (its records follow) and a sync point noted, both returning `None` with the
    /// scan still running; the end or damage sets the outcome.
    fn step(&mut self) -> Option<ScannedRecord<'a>> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        if rest.is_empty() {
            self.outcome = if self.at_eof {
                ScanOutcome::Clean { end: self.abs(self.pos) }
            } else {
                ScanOutcome::NeedMore { offset: self.abs(self.pos), needed: 0 }
            };
            return None;
        }
        let at = self.abs(self.pos);
        match decode_entry(rest) {
            Ok((Entry::Record(record), len)) => {
                self.pos += len;
                return Some(ScannedRecord {
                    offset: at,
                    len: len as u32,
                    record,
                    in_batch: false,
                });
            }
            Ok((Entry::Batch(batch), len)) => {
                self.pos += len;
                self.batch = Some((at + batch.body_offset as u64, batch.records()));
            }
            Ok((Entry::SyncPoint { durable_end }, _)) if durable_end > at => {
                // A sync point is written after the bytes it vouches for.
                self.outcome = ScanOutcome::Corrupt(Error::new(ErrorKind::BadSyncPoint, at));
            }
            Ok((Entry::SyncPoint { durable_end }, len)) => {
                self.pos += len;
                self.durable_mark = self.durable_mark.max(durable_end);
            }
            Err(e) => {
                self.outcome = match e.kind {
                    ErrorKind::Truncated { needed } if !self.at_eof => {
                        ScanOutcome::NeedMore { offset: at, needed }
                    }
                    ErrorKind::Truncated { .. } => ScanOutcome::TornTail { offset: at },
                    _ => ScanOutcome::Corrupt(e.shifted(at)),
                };
            }
        }
        None
    }
}

/// The first offset at or after `from` where a valid entry (a record outside a batch, or a
/// whole batch frame) starts, or `buf.len()` if there is none: where a scan resumes after a
/// damaged region. Records inside a batch frame are not entries on their own, so a damaged
/// batch is never applied in part.
pub fn next_entry_start(buf: &[u8], from: usize) -> usize {
    (from..buf.len())
        .find(|&i| buf.get(i..).is_some_and(|b| decode_entry(b).is_ok()))
        .unwrap_or(buf.len())
}

/// True when `rest`, the bytes from where an entry failed to decode to the end of a file,
/// is a run of zeros: space preallocated for appends to the active file and never
/// written, not damage. No entry is all zeros (a record's key length is at least 1, a
/// batch frame's count too), so this never hides a record; callers accept it only at the
/// end of the newest datafile, where preallocation happens.
pub fn is_unused_tail(rest: &[u8]) -> bool {
    !rest.is_empty() && rest.iter().all(|&b| b == 0)
}
