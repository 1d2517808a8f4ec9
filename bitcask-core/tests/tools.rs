//! `check` and `repair`: damage is found by file and offset, and repair keeps every valid
//! record (a batch whole or not at all).

mod common;
use common::*;

use std::sync::Arc;

use bitcask_core::tools::{check_with_storage, repair_with_storage, CheckedKind};
use bitcask_core::{Error, WriteBatch};
use bitcask_format::{record_len, FILE_HEADER_LEN};
use bitcask_testkit::SimStorage;

const FIRST: &str = "0000000001000000.data";

fn filled(sim: &SimStorage) {
    let db = open(sim, small(400));
    for i in 0..40 {
        db.put(&key(i), &[i as u8; 10]).unwrap();
    }
    let mut b = WriteBatch::new();
    b.put(b"batch-a", b"1").put(b"batch-b", b"2");
    db.write(b).unwrap();
}

#[test]
fn a_clean_store_checks_clean() {
    let sim = SimStorage::new(1);
    filled(&sim);
    let r = check_with_storage(&sim, &dir(), |_, _| {}).unwrap();
    assert!(r.is_clean(), "{r:?}");
    let records: u64 =
        r.files.iter().filter(|f| f.kind == CheckedKind::Data).map(|f| f.records).sum();
    assert_eq!(records, 42);
    assert!(r.files.iter().any(|f| f.kind == CheckedKind::Hint));
}

#[test]
fn check_reports_each_damaged_region_and_repair_keeps_the_rest() {
    let sim = SimStorage::new(2);
    filled(&sim);
    let mut bytes = sim.read_file(&path(FIRST)).unwrap();
    let rec = record_len(8, 10, false);
    // Damage the 2nd and the 5th record of the first file.
    bytes[FILE_HEADER_LEN + rec + 9] ^= 1;
    bytes[FILE_HEADER_LEN + 4 * rec + 3] ^= 0x40;
    sim.write_file(&path(FIRST), &bytes);
    let r = check_with_storage(&sim, &dir(), |_, _| {}).unwrap();
    let data = r.files.iter().find(|f| f.path == path(FIRST)).unwrap();
    let offsets: Vec<u64> = data.problems.iter().map(|p| p.offset).collect();
    assert_eq!(offsets, vec![(FILE_HEADER_LEN + rec) as u64, (FILE_HEADER_LEN + 4 * rec) as u64]);
    assert!(data.problems.iter().all(|p| p.len == rec as u64));
    // The hint still describes the old records: its entries no longer match.
    assert!(r.files.iter().any(|f| f.kind == CheckedKind::Hint && !f.problems.is_empty()));

    let backup = dir().join("backup");
    let rep = repair_with_storage(Arc::new(sim.clone()), &dir(), &backup).unwrap();
    assert_eq!(rep.bytes_lost(), 2 * rec as u64);
    assert!(sim.read_file(&backup.join(FIRST)).is_some(), "original kept in the backup");
    assert!(check_with_storage(&sim, &dir(), |_, _| {}).unwrap().is_clean());
    let db = open(&sim, small(400));
    assert_eq!(db.len(), 40);
    assert_eq!(db.get(&key(1)).unwrap(), None);
    assert_eq!(db.get(&key(4)).unwrap(), None);
    assert_eq!(db.get(&key(0)).unwrap(), Some(vec![0; 10]));
    assert_eq!(db.get(b"batch-b").unwrap(), Some(b"2".to_vec()));
}

#[test]
fn a_damaged_batch_is_lost_whole() {
    let sim = SimStorage::new(3);
    let db = open(&sim, small(1 << 20));
    db.put(b"before", b"x").unwrap();
    let mut b = WriteBatch::new();
    b.put(b"a", b"1").put(b"b", b"2").put(b"c", b"3");
    db.write(b).unwrap();
    db.put(b"after", b"y").unwrap();
    drop(db);
    let mut bytes = sim.read_file(&path(FIRST)).unwrap();
    let batch_at = FILE_HEADER_LEN + record_len(6, 1, false);
    bytes[batch_at + 12] ^= 2; // inside the first record of the batch
    sim.write_file(&path(FIRST), &bytes);
    sim.delete_file(&path("0000000001000000.hint"));
    repair_with_storage(Arc::new(sim.clone()), &dir(), &dir().join("bk")).unwrap();
    let db = open(&sim, small(1 << 20));
    assert_eq!(
        contents(&db),
        vec![(b"after".to_vec(), b"y".to_vec()), (b"before".to_vec(), b"x".to_vec())]
    );
}

#[test]
fn repair_refuses_a_store_in_use() {
    let sim = SimStorage::new(4);
    filled(&sim);
    let mut bytes = sim.read_file(&path(FIRST)).unwrap();
    bytes[30] ^= 1;
    sim.write_file(&path(FIRST), &bytes);
    let _db = open(&sim, small(400).clone());
    let before = sim.read_file(&path(FIRST)).unwrap();
    assert!(matches!(
        repair_with_storage(Arc::new(sim.clone()), &dir(), &dir().join("bk")),
        Err(Error::Locked { .. })
    ));
    assert_eq!(sim.read_file(&path(FIRST)).unwrap(), before, "nothing changed");
}
