//! Hint files: built from a datafile, written atomically, loaded on open with every entry
//! parsed once.

use std::path::Path;

use bitcask_format::{HintEntry, HintReader, HintWriter, HINT_TRAILER_LEN};

use crate::datafile::{for_each_record, DataFile};
use crate::error::{Error, Result};
use crate::files::{hint_name, join, tmp_name, FileId};
use crate::storage::{OpenMode, Storage};
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

/// Writes a hint file atomically: a temporary file, synced, renamed into place.
pub(crate) fn write(storage: &dyn Storage, dir: &Path, id: FileId, bytes: &[u8]) -> Result<()> {
    let path = join(dir, &hint_name(id));
    let tmp = join(dir, &tmp_name(&hint_name(id)));
    let result = (|| {
        let f = storage.open(&tmp, OpenMode::CreateTruncate).map_err(io_err("creating", &tmp))?;
        f.write_at(bytes, 0).map_err(io_err("writing", &tmp))?;
        f.sync_data().map_err(io_err("syncing", &tmp))?;
        storage.rename(&tmp, &path).map_err(io_err("renaming", &tmp))
    })();
    if result.is_err() {
        let _ = storage.remove(&tmp);
    }
    result
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

/// Loads the hint file of datafile `id` (of `data_len` bytes): parses every entry once,
/// and only if all are valid calls `apply` with them, in file order, so a bad hint leaves
/// no trace.
/// Returns the datafile prefix the hint covers, or `None` when it is unusable.
pub(crate) fn load(
    storage: &dyn Storage,
    dir: &Path,
    id: FileId,
    data_len: u64,
    apply: impl FnOnce(&[HintEntry<'_>]),
) -> Result<Option<u64>> {
    let path = join(dir, &hint_name(id));
    let file = storage.open(&path, OpenMode::Read).map_err(io_err("opening", &path))?;
    let len = file.len().map_err(io_err("reading the length of", &path))?;
    let mut buf = vec![0u8; len as usize];
    file.read_at(&mut buf, 0).map_err(io_err("reading", &path))?;
    let Ok(reader) = HintReader::new(&buf, id.0, data_len) else { return Ok(None) };
    let covered = reader.trailer().data_len;
    let Ok(entries) = reader.collect::<std::result::Result<Vec<_>, _>>() else {
        return Ok(None);
    };
    apply(&entries);
    Ok(Some(covered))
}
