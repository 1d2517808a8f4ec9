//! `scan_keys`: a walk that keeps nothing between calls returns every key present
//! throughout at least once, whatever comes and goes meanwhile, on plain and sharded stores.

mod common;
use common::*;

use std::collections::HashSet;

use bitcask_core::{Options, ShardedBitcask};
use bitcask_testkit::SimStorage;

#[test]
fn a_walk_returns_every_key_present_throughout_despite_churn() {
    let sim = SimStorage::new(4);
    let db = open(&sim, Options::default());
    for i in 0..5000 {
        db.put(format!("stay:{i}").as_bytes(), b"v").unwrap();
    }
    let (mut cursor, mut seen, mut calls) = (0u64, HashSet::new(), 0);
    loop {
        let (keys, next) = db.scan_keys(cursor, 7).unwrap();
        assert!(keys.len() <= 7, "{} keys for COUNT 7", keys.len());
        seen.extend(keys);
        // Churn between calls: keys come and go (reusing freed places), old ones change.
        db.put(format!("new:{calls}").as_bytes(), b"v").unwrap();
        db.delete(format!("new:{}", calls / 2).as_bytes()).unwrap();
        db.put(format!("stay:{}", calls % 5000).as_bytes(), b"changed").unwrap();
        calls += 1;
        if next == 0 {
            break;
        }
        cursor = next;
    }
    for i in 0..5000 {
        assert!(seen.contains(format!("stay:{i}").as_bytes()), "stay:{i} was missed");
    }
    assert!(calls >= 5000 / 7, "{calls} calls");
}

#[test]
fn expired_keys_are_not_returned_and_an_empty_store_ends_at_once() {
    let sim = SimStorage::new(5);
    let db = open(&sim, Options::default());
    assert_eq!(db.scan_keys(0, 10).unwrap(), (Vec::new(), 0));
    db.put(b"live", b"v").unwrap();
    db.put_expiring_at(b"gone", b"v", std::time::UNIX_EPOCH + std::time::Duration::from_secs(1))
        .unwrap();
    let (mut cursor, mut seen) = (0, Vec::new());
    loop {
        let (keys, next) = db.scan_keys(cursor, 1).unwrap();
        seen.extend(keys);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen, vec![b"live".to_vec()]);
}

#[test]
fn a_sharded_walk_covers_every_shard() {
    let tmp = tempfile::tempdir().unwrap();
    let db = ShardedBitcask::open(tmp.path(), Options::default(), Some(8)).unwrap();
    for i in 0..3000 {
        let k = format!("k{i}");
        db.shard_for(k.as_bytes()).unwrap().put(k.as_bytes(), b"v").unwrap();
    }
    let (mut cursor, mut seen) = (0, HashSet::new());
    loop {
        let (keys, next) = db.scan_keys(cursor, 100).unwrap();
        assert!(keys.len() <= 100);
        seen.extend(keys);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen.len(), 3000);
}
