//! What `repair` cannot save, it says per key: a lost newest value is reported as rolled
//! back, a lost delete the hint names is written again (the key stays deleted), and damage
//! that a later record supersedes is not reported at all. `check` lists the bytes earlier
//! opens set aside.

mod common;
use common::*;

use std::sync::Arc;

use bitcask_core::tools::{check_with_storage, repair_with_storage};
use bitcask_core::{Options, RecoveryMode};
use bitcask_format::{decode_entry, Entry, FILE_HEADER_LEN};
use bitcask_testkit::SimStorage;

const FIRST: &str = "0000000001000000.data";
const FIRST_HINT: &str = "0000000001000000.hint";

/// `put a old; put b gone; put a new; delete b; put c 1; put c 2`, closed (with a hint).
fn store() -> SimStorage {
    let sim = SimStorage::new(8);
    let db = open(&sim, Options::default());
    db.put(b"a", b"old").unwrap();
    db.put(b"b", b"gone").unwrap();
    db.put(b"a", b"new").unwrap();
    db.delete(b"b").unwrap();
    db.put(b"c", b"1").unwrap();
    db.put(b"c", b"2").unwrap();
    db.close().unwrap();
    sim
}

/// Flips a bit of the checksum of each record named by (key, nth version of it, 0-based).
fn damage(sim: &SimStorage, which: &[(&[u8], usize)]) {
    let mut bytes = sim.read_file(&path(FIRST)).unwrap();
    let mut spans = Vec::new();
    let (mut pos, mut seen) = (FILE_HEADER_LEN, std::collections::HashMap::new());
    while pos < bytes.len() {
        let (entry, len) = decode_entry(&bytes[pos..]).unwrap();
        if let Entry::Record(r) = entry {
            let n = seen.entry(r.key.to_vec()).or_insert(0);
            if which.contains(&(r.key, *n)) {
                spans.push(pos);
            }
            *n += 1;
        }
        pos += len;
    }
    assert_eq!(spans.len(), which.len());
    for at in spans {
        bytes[at] ^= 0x01;
    }
    sim.write_file(&path(FIRST), &bytes);
}

#[test]
fn repair_reports_rollbacks_and_keeps_deletes_the_hint_names() {
    let sim = store();
    // a's newest value, b's delete, and c's first value (superseded by c=2: harmless).
    damage(&sim, &[(b"a", 1), (b"b", 1), (b"c", 0)]);
    let rep = repair_with_storage(Arc::new(sim.clone()), &dir(), &dir().join("bk")).unwrap();
    assert_eq!(rep.rollback.rolled_back, vec![b"a".to_vec()], "{rep:?}");
    assert_eq!(rep.rollback.deletes_kept, vec![b"b".to_vec()], "{rep:?}");
    assert!(rep.rollback.uncertain.is_empty(), "{rep:?}");
    let db = open(&sim, Options::default());
    assert_eq!(db.get(b"a").unwrap(), Some(b"old".to_vec()), "rolled back, as reported");
    assert_eq!(db.get(b"b").unwrap(), None, "a deleted key stays deleted");
    assert_eq!(db.get(b"c").unwrap(), Some(b"2".to_vec()));
}

#[test]
fn without_a_hint_repair_names_the_keys_the_damaged_headers_claim() {
    let sim = store();
    sim.delete_file(&path(FIRST_HINT));
    damage(&sim, &[(b"a", 1), (b"b", 1)]);
    let rep = repair_with_storage(Arc::new(sim.clone()), &dir(), &dir().join("bk")).unwrap();
    let mut uncertain = rep.rollback.uncertain.clone();
    uncertain.sort();
    assert_eq!(uncertain, vec![b"a".to_vec(), b"b".to_vec()], "{rep:?}");
    let db = open(&sim, Options::default());
    // Without the hint the delete is lost: the older value returns, as reported.
    assert_eq!(db.get(b"b").unwrap(), Some(b"gone".to_vec()));
}

#[test]
fn check_lists_what_earlier_opens_set_aside() {
    let sim = store();
    sim.delete_file(&path(FIRST_HINT));
    damage(&sim, &[(b"a", 1)]);
    let opts = Options { recovery: RecoveryMode::SkipCorrupt, ..Options::default() };
    let db = open(&sim, opts);
    let region = db.recovery_report().skipped[0].clone();
    drop(db);
    let r = check_with_storage(&sim, &dir(), |_, _| {}).unwrap();
    assert_eq!(r.quarantined.len(), 1, "{r:?}");
    let q = &r.quarantined[0];
    assert_eq!((q.offset, Some(&q.path)), (region.offset, region.quarantine.as_ref()));
    assert_eq!(q.len, region.len);
    assert_eq!(sim.read_file(&q.path).unwrap().len() as u64, q.len);
}
