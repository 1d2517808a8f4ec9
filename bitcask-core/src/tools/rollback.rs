//! What `repair` cannot save, said per key: the records in damaged regions (named by the
//! datafile's hint when it has an intact one, else by the damaged record's own header),
//! and whether a later record of the same key makes the loss harmless. A delete the hint
//! names is written again, so a deleted key stays deleted.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use bitcask_format::HintReader;

use super::{read_all, walk, Problem};
use crate::files::{data_name, hint_name, join, FileId};
use crate::storage::Storage;

/// A record in a damaged region, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LostRecord {
    pub file: FileId,
    pub offset: u64,
    pub key: Vec<u8>,
    pub tombstone: bool,
    /// Named by the (checksummed) hint; otherwise claimed by the damaged header, unverified.
    pub from_hint: bool,
}

/// What losing records means for their keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollback {
    /// Keys whose newest value was lost (the hint names it): they now read an older value,
    /// or nothing.
    pub rolled_back: Vec<Vec<u8>>,
    /// Keys whose newest record was lost as its damaged header claims (unverified: the
    /// hint was missing or damaged): a lost value rolls the key back, a lost delete lets an
    /// older value return.
    pub uncertain: Vec<Vec<u8>>,
    /// Deletes the hint still named, written again in place: these keys stay deleted.
    pub deletes_kept: Vec<Vec<u8>>,
}

/// The records of datafile `id` (its bytes `buf`) that lie in `problems`.
pub(crate) fn lost_records(
    storage: &dyn Storage,
    dir: &Path,
    id: FileId,
    buf: &[u8],
    problems: &[Problem],
) -> Vec<LostRecord> {
    let inside = |at: u64| problems.iter().any(|p| at >= p.offset && at < p.offset + p.len);
    let hint = read_all(storage, &join(dir, &hint_name(id))).ok();
    let reader = hint.as_deref().and_then(|h| HintReader::new(h, id.0, buf.len() as u64).ok());
    let named: Option<Vec<LostRecord>> = reader.and_then(|r| {
        let entries = r.collect::<Result<Vec<_>, _>>().ok()?;
        let lost = entries.iter().filter(|e| inside(e.offset)).map(|e| LostRecord {
            file: id,
            offset: e.offset,
            key: e.key.to_vec(),
            tombstone: e.tombstone,
            from_hint: true,
        });
        Some(lost.collect())
    });
    if let Some(named) = named {
        return named;
    }
    problems.iter().flat_map(|p| claimed_in(id, buf, p)).collect()
}

/// The records a damaged region holds as their own (unverified) headers claim, one after
/// the other while each claimed length stays inside the region.
fn claimed_in(id: FileId, buf: &[u8], p: &Problem) -> Vec<LostRecord> {
    let mut out = Vec::new();
    let (mut at, end) = (p.offset, p.offset + p.len);
    while at < end {
        let Some(rest) = usize::try_from(at).ok().and_then(|a| buf.get(a..)) else { break };
        let Some((key, tombstone, len)) = bitcask_format::unverified_record_header(rest) else {
            break;
        };
        let key = key.to_vec();
        out.push(LostRecord { file: id, offset: at, key, tombstone, from_hint: false });
        at += len as u64;
    }
    out
}

/// Where the last valid record of each of `keys` lies in the store, as (file, offset).
pub(crate) fn latest_positions(
    storage: &dyn Storage,
    dir: &Path,
    files: &[FileId],
    keys: &HashSet<Vec<u8>>,
) -> HashMap<Vec<u8>, (FileId, u64)> {
    let mut latest = HashMap::new();
    for &id in files {
        let Ok(buf) = read_all(storage, &join(dir, &data_name(id))) else { continue };
        for e in walk(&buf, true).0 {
            for r in e.records.into_iter().filter(|r| keys.contains(&r.key)) {
                latest.insert(r.key, (id, r.offset));
            }
        }
    }
    latest
}

/// Classifies the `lost` records given where each key's last valid record lies.
pub(crate) fn classify(lost: &[LostRecord], latest: &HashMap<Vec<u8>, (FileId, u64)>) -> Rollback {
    let mut out = Rollback::default();
    let mut seen = HashSet::new();
    // The newest lost record of each key decides.
    for l in lost.iter().rev() {
        if !seen.insert(l.key.clone())
            || latest.get(&l.key).is_some_and(|&p| p > (l.file, l.offset))
        {
            continue;
        }
        let list = match (l.tombstone, l.from_hint) {
            (true, true) => &mut out.deletes_kept,
            (false, true) => &mut out.rolled_back,
            (_, false) => &mut out.uncertain,
        };
        list.push(l.key.clone());
    }
    out
}
