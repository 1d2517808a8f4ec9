//! `forget`: keys dropped from the keydir without a write. Their records are dead at once
//! (the accounting, merge), an open before a merge finds them again, and a merge after the
//! forget drops them for good.

mod common;
use common::*;

use bitcask_testkit::SimStorage;

#[test]
fn forgotten_keys_are_gone_and_their_bytes_count_as_dead() {
    let sim = SimStorage::new(1);
    let db = open(&sim, small(4096));
    for i in 0..100 {
        db.put(&key(i), &[7; 40]).unwrap();
    }
    let live = db.stats().live_bytes;
    let forgotten: Vec<Vec<u8>> = (0..60).map(key).collect();
    assert_eq!(db.forget(&forgotten).unwrap(), 60);
    assert_eq!(db.forget(&forgotten).unwrap(), 0, "a second forget finds nothing");
    assert_eq!(db.len(), 40);
    assert_eq!(db.get(&key(0)).unwrap(), None);
    assert_eq!(db.get(&key(99)).unwrap(), Some(vec![7; 40]));
    let s = db.stats();
    assert_eq!(s.live_bytes * 100, live * 40);
    assert_eq!(s.live_bytes + s.dead_bytes, live);
}

#[test]
fn an_open_before_a_merge_finds_forgotten_keys_again() {
    let sim = SimStorage::new(2);
    let db = open(&sim, small(4096));
    db.put(b"a", b"1").unwrap();
    db.put(b"b", b"2").unwrap();
    db.forget(&[b"a"]).unwrap();
    db.close().unwrap();
    let db = open(&sim, small(4096));
    assert_eq!(db.get(b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(db.get(b"b").unwrap(), Some(b"2".to_vec()));
}

#[test]
fn a_merge_after_a_forget_drops_the_records_for_good() {
    let sim = SimStorage::new(3);
    let db = open(&sim, small(4096));
    for i in 0..300 {
        db.put(&key(i), &[1; 50]).unwrap();
    }
    // An older value of a forgotten key must not come back either.
    for i in 0..300 {
        db.put(&key(i), &[2; 50]).unwrap();
    }
    let forgotten: Vec<Vec<u8>> = (0..200).map(key).collect();
    db.forget(&forgotten).unwrap();
    db.merge().unwrap();
    db.close().unwrap();
    let db = open(&sim, small(4096));
    assert_eq!(db.len(), 100);
    for i in 0..200 {
        assert_eq!(db.get(&key(i)).unwrap(), None, "key {i}");
    }
    assert_eq!(db.get(&key(250)).unwrap(), Some(vec![2; 50]));
}

#[test]
fn a_read_only_store_refuses_to_forget() {
    let sim = SimStorage::new(4);
    open(&sim, small(4096)).put(b"a", b"1").unwrap();
    let ro = open_ro(&sim, small(4096));
    assert!(ro.forget(&[b"a"]).is_err());
    assert_eq!(ro.get(b"a").unwrap(), Some(b"1".to_vec()));
}
