//! SCAN's cursor. Keys are ordered by (slot, 48-bit hash of the key); the cursor is the
//! position after the last key returned. A key present for the whole scan has a fixed
//! position and the cursor only grows, so it is returned at least once. Each call is served
//! from a snapshot of one region of positions (built once per region per connection, about
//! a sixteenth of the keys), so a whole scan costs about sixteen passes over the keydir
//! however small COUNT is.

use bitcask_core::{key_slot, ShardedBitcask};

/// The snapshot of one region of positions.
#[derive(Debug, Default)]
pub struct ScanCache {
    /// Positions `from..to` (to: exclusive; `u64::MAX` covers the end).
    from: u64,
    to: u64,
    /// The keys in the region, sorted by position.
    items: Vec<(u64, Vec<u8>)>,
}

/// The position of `key` in the scan order.
pub fn position(key: &[u8]) -> u64 {
    // FNV-1a, folded to 48 bits: stable across restarts, so a cursor stays valid.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    u64::from(key_slot(key)) << 48 | (h ^ h >> 48) & 0xffff_ffff_ffff
}

const SLOT_SHIFT: u32 = 48;

/// Up to `count` keys at positions from `cursor` on (all keys of the last position taken
/// are included), and the next cursor (0 when the scan is done).
pub fn scan(
    db: &ShardedBitcask,
    cache: &mut Option<ScanCache>,
    cursor: u64,
    count: usize,
) -> (Vec<Vec<u8>>, u64) {
    let mut out = Vec::new();
    let mut at = cursor;
    loop {
        let c = match cache.take() {
            Some(c) if c.from <= at && at < c.to => c,
            _ => build(db, at),
        };
        let start = c.items.partition_point(|(p, _)| *p < at);
        let mut last = None;
        for (p, k) in c.items.get(start..).unwrap_or_default() {
            if out.len() >= count && last != Some(*p) {
                let next = *p;
                *cache = Some(c);
                return (out, next);
            }
            last = Some(*p);
            if db.contains(k).unwrap_or(false) {
                out.push(k.clone());
            }
        }
        let to = c.to;
        *cache = Some(c);
        if to == u64::MAX {
            return (out, 0);
        }
        at = to;
        if out.len() >= count {
            return (out, at);
        }
    }
}

/// The snapshot of the region starting at position `from`: whole slots, about a sixteenth
/// of the keys (at least 1024 keys' worth of slots).
fn build(db: &ShardedBitcask, from: u64) -> ScanCache {
    let n = db.len().max(1) as u64;
    let per_slot = n as f64 / 16384.0;
    let target = (n / 16).max(1024) as f64;
    let slots = ((target / per_slot.max(1e-9)) as u64).clamp(1, 16384);
    let first_slot = from >> SLOT_SHIFT;
    let end_slot = first_slot + slots;
    let to = if end_slot >= 16384 { u64::MAX } else { end_slot << SLOT_SHIFT };
    let keys = db
        .keys_where(|k| {
            let p = position(k);
            p >= from && p < to
        })
        .unwrap_or_default();
    let mut items: Vec<(u64, Vec<u8>)> = keys.into_iter().map(|k| (position(&k), k)).collect();
    items.sort_unstable();
    ScanCache { from, to, items }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcask_core::Options;

    #[test]
    fn a_scan_returns_every_key_present_throughout_despite_churn() {
        let tmp = tempfile::tempdir().unwrap();
        let db = ShardedBitcask::open(tmp.path(), Options::default(), Some(4)).unwrap();
        for i in 0..5000 {
            db.put(format!("stay:{i}").as_bytes(), b"v").unwrap();
        }
        let mut cache = None;
        let (mut cursor, mut seen) = (0u64, std::collections::HashSet::new());
        let mut calls = 0;
        loop {
            let (keys, next) = scan(&db, &mut cache, cursor, 7);
            seen.extend(keys);
            // Churn between calls: new keys come and go, some old ones are rewritten.
            db.put(format!("new:{calls}").as_bytes(), b"v").unwrap();
            db.delete(format!("new:{}", calls / 2).as_bytes()).unwrap();
            calls += 1;
            if next == 0 {
                break;
            }
            assert!(next > cursor, "the cursor moves forward");
            cursor = next;
        }
        for i in 0..5000 {
            assert!(seen.contains(format!("stay:{i}").as_bytes()), "stay:{i} was missed");
        }
        assert!(calls > 5000 / 7 / 2, "{calls} calls");
    }
}
