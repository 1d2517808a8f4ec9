//! Hint files: built from a datafile, written atomically, loaded on open with every entry
//! parsed once.

use std::path::Path;

use bitcask_format::{
    decode_record, unverified_record_key, HintEntry, HintReader, HintWriter, ScanOutcome, Scanner,
    FILE_HEADER_LEN, HINT_TRAILER_LEN, MAX_KEY_LEN,
};

use crate::datafile::{for_each_record, DataFile};
use crate::durable_file::{write_file, DirSync};
use crate::error::{Error, Result};
use crate::files::{hint_name, join, FileId};
use crate::storage::{OpenMode, Storage, StorageFile};
use crate::util::io_err;

/// The hint entry of a record at `offset` of `len` bytes.
pub(crate) fn entry<'a>(rec: &bitcask_format::Record<'a>, offset: u64, len: u32) -> HintEntry<'a> {
    HintEntry { key: rec.key, offset, len, expiry: rec.expiry, tombstone: rec.tombstone }
}

/// Builds the hint file of a whole datafile by scanning it.
pub(crate) fn build(df: &DataFile) -> Result<Vec<u8>> {
    let mut w = HintWriter::new(df.id.0);
    for_each_record(df, |r, _| {
        w.push(&entry(&r.record, r.offset, r.len)).map_err(|e| Error::format(&df.path, e))
    })?;
    Ok(w.finish(df.end()))
}

/// Writes a hint file atomically: a temporary file, synced, renamed into place (a hint is a
/// cache: the directory is synced with the next directory sync).
pub(crate) fn write(storage: &dyn Storage, dir: &Path, id: FileId, bytes: &[u8]) -> Result<()> {
    write_file(storage, dir, &hint_name(id), bytes, DirSync::No).map(|_| ())
}

/// The entry count in a hint file's trailer, as a sizing hint only. It is not verified yet,
/// so it is capped by what the file could hold (an entry takes at least 5 bytes): a damaged
/// count cannot drive a large allocation.
pub(crate) fn count(storage: &dyn Storage, dir: &Path, id: FileId) -> Option<u64> {
    let f = storage.open(&join(dir, &hint_name(id)), OpenMode::Read).ok()?;
    let len = f.len().ok()?;
    let mut t = [0u8; HINT_TRAILER_LEN];
    let at = len.checked_sub(t.len() as u64)?;
    f.read_at(&mut t, at).ok()?;
    let count = u64::from_le_bytes(t.get(1..9)?.try_into().ok()?);
    Some(count.min(len / 5))
}

/// What loading a hint file found.
pub(crate) enum Loaded {
    /// The hint was applied; it covers the datafile's prefix up to this offset.
    Covers(u64),
    /// The hint file is damaged (a bad checksum, trailer or entry): nothing was applied.
    Damaged,
    /// The hint file is intact but does not describe this datafile (another store's hint,
    /// or one the datafile disagrees with): nothing was applied.
    Foreign,
}

/// Gaps longer than this between a hint's last record and the end of the prefix it covers
/// (which only sync points may fill) make the hint foreign.
const MAX_TRAILING_GAP: u64 = 64 << 10;

/// Loads the hint file of datafile `id` (`data`, of `data_len` bytes): parses every entry
/// once, checks that the hint describes this datafile (its first and last records are
/// where the hint says, with the keys it names, and only sync points follow the last one
/// in the prefix it covers), and only then calls `apply` with the entries, in file order,
/// so a bad or foreign hint leaves no trace.
pub(crate) fn load(
    storage: &dyn Storage,
    dir: &Path,
    id: FileId,
    data: &dyn StorageFile,
    data_len: u64,
    apply: impl FnOnce(&[HintEntry<'_>]),
) -> Result<Loaded> {
    let path = join(dir, &hint_name(id));
    let file = storage.open(&path, OpenMode::Read).map_err(io_err("opening", &path))?;
    let len = file.len().map_err(io_err("reading the length of", &path))?;
    let mut buf = vec![0u8; len as usize];
    file.read_at(&mut buf, 0).map_err(io_err("reading", &path))?;
    let Ok(reader) = HintReader::new(&buf, id.0, data_len) else { return Ok(Loaded::Damaged) };
    let covered = reader.trailer().data_len;
    let Ok(entries) = reader.collect::<std::result::Result<Vec<_>, _>>() else {
        return Ok(Loaded::Damaged);
    };
    if !describes(data, &entries, covered) {
        return Ok(Loaded::Foreign);
    }
    apply(&entries);
    Ok(Loaded::Covers(covered))
}

/// True when `entries` (a hint of a prefix of `covered` bytes) describe `data`: most of a
/// sample of up to five entries (the first, the last and three between) name records that
/// are where the hint says (damage at rest in one record does not make a hint foreign;
/// another store's hint matches almost none), and only sync points follow the last record
/// in the prefix.
fn describes(data: &dyn StorageFile, entries: &[HintEntry<'_>], covered: u64) -> bool {
    let n = entries.len();
    let mut sample: Vec<usize> = [0, n / 4, n / 2, n * 3 / 4, n.saturating_sub(1)].to_vec();
    sample.dedup();
    let held = sample.iter().filter(|&&i| entries.get(i).is_some_and(|e| holds(data, e))).count();
    if n > 0 && held * 2 <= sample.len() {
        return false;
    }
    let last_end = entries.last().map_or(FILE_HEADER_LEN as u64, |e| e.offset + u64::from(e.len));
    let gap = covered.saturating_sub(last_end);
    if gap > MAX_TRAILING_GAP {
        return false;
    }
    let mut buf = vec![0u8; gap as usize];
    if data.read_at(&mut buf, last_end).is_err() {
        return false;
    }
    let mut scan = Scanner::new(&buf, last_end, true);
    scan.next().is_none() && scan.outcome() == ScanOutcome::Clean { end: covered }
}

/// True when `data` holds a record of the key hint entry `e` names where `e` says: its
/// header and key (unverified: a record damaged in its value still identifies it), and when
/// it is intact, its length, kind and expiry.
fn holds(data: &dyn StorageFile, e: &HintEntry<'_>) -> bool {
    let n = u64::from(e.len).min(MAX_KEY_LEN as u64 + 32);
    let mut buf = vec![0u8; n as usize];
    if data.read_at(&mut buf, e.offset).is_err() || unverified_record_key(&buf) != Some(e.key) {
        return false;
    }
    match decode_record(&buf) {
        Ok((r, used)) => used == buf.len() && r.tombstone == e.tombstone && r.expiry == e.expiry,
        Err(_) => true,
    }
}
