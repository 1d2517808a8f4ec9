//! Key and value limits (bug classes 23, 24): exactly at the limit works, one byte past is a
//! typed error, and nothing is written.

mod common;
use common::*;

use bitcask_core::{Error, Options, SimStorage, WriteBatch};
use bitcask_format::{MAX_KEY_LEN, MAX_VALUE_LEN};

#[test]
fn keys_at_and_past_the_limit() {
    let sim = SimStorage::new(1);
    let db = open(&sim, Options { max_key_size: 100, ..Options::default() });
    let before = sim.disk_usage(&dir());
    assert!(matches!(db.put(&[1u8; 101], b"v"), Err(Error::KeyTooLarge { len: 101, max: 100 })));
    assert!(matches!(db.put(b"", b"v"), Err(Error::EmptyKey)));
    assert!(matches!(db.delete(b""), Err(Error::EmptyKey)));
    assert!(matches!(db.delete(&[1u8; 101]), Err(Error::KeyTooLarge { .. })));
    assert_eq!(sim.disk_usage(&dir()), before, "a refused write writes nothing");
    db.put(&[1u8; 100], b"v").unwrap();
    assert_eq!(db.get(&[1u8; 100]).unwrap(), Some(b"v".to_vec()));
}

#[test]
fn format_limits_are_the_default_limits() {
    let sim = SimStorage::new(1);
    let db = open(&sim, Options::default());
    let key = vec![7u8; MAX_KEY_LEN];
    db.put(&key, b"v").unwrap();
    assert_eq!(db.get(&key).unwrap(), Some(b"v".to_vec()));
    assert!(matches!(db.put(&vec![7u8; MAX_KEY_LEN + 1], b"v"), Err(Error::KeyTooLarge { .. })));
    let big = vec![3u8; MAX_VALUE_LEN];
    db.put(b"big", &big).unwrap();
    assert_eq!(db.get(b"big").unwrap().map(|v| v.len()), Some(MAX_VALUE_LEN));
    let too_big = vec![3u8; MAX_VALUE_LEN + 1];
    assert!(matches!(db.put(b"big", &too_big), Err(Error::ValueTooLarge { .. })));
    drop(db);
    let db = open(&sim, Options::default());
    assert_eq!(db.get(&key).unwrap(), Some(b"v".to_vec()));
    assert_eq!(db.get(b"big").unwrap().map(|v| v.len()), Some(MAX_VALUE_LEN));
}

#[test]
fn values_at_and_past_the_configured_limit() {
    let sim = SimStorage::new(1);
    let db = open(&sim, Options { max_value_size: 10, ..Options::default() });
    db.put(b"k", &[0u8; 10]).unwrap();
    assert!(matches!(db.put(b"k", &[0u8; 11]), Err(Error::ValueTooLarge { len: 11, max: 10 })));
    assert_eq!(db.get(b"k").unwrap(), Some(vec![0u8; 10]));
}

#[test]
fn an_invalid_batch_writes_nothing() {
    let sim = SimStorage::new(1);
    let db = open(&sim, Options { max_value_size: 10, ..Options::default() });
    let mut b = WriteBatch::new();
    b.put(b"a", b"1").put(b"b", &[0u8; 11]);
    assert!(matches!(db.write(b), Err(Error::ValueTooLarge { .. })));
    let mut b = WriteBatch::new();
    b.put(b"a", b"1").delete(b"");
    assert!(matches!(db.write(b), Err(Error::EmptyKey)));
    assert_eq!(db.get(b"a").unwrap(), None);
    assert_eq!(db.len(), 0);
}

#[test]
fn values_that_look_like_tombstones_are_values() {
    let sim = SimStorage::new(1);
    let db = open(&sim, Options::default());
    let odd: [&[u8]; 4] = [b"", b"\0", b"__tombstone__", &[0xff; 16]];
    for (i, v) in odd.iter().enumerate() {
        db.put(&key(i), v).unwrap();
    }
    drop(db);
    let db = open(&sim, Options::default());
    for (i, v) in odd.iter().enumerate() {
        assert_eq!(db.get(&key(i)).unwrap().as_deref(), Some(*v));
    }
    db.merge().unwrap();
    for (i, v) in odd.iter().enumerate() {
        assert_eq!(db.get(&key(i)).unwrap().as_deref(), Some(*v));
    }
}
