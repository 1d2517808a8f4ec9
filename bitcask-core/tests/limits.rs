//! Key and value limits: exactly at the limit works, one byte past is a
//! typed error, and nothing is written.

mod common;
use common::*;

use bitcask_core::{Error, Options, WriteBatch, MAX_FILE_SIZE};
use bitcask_format::{batch_frame_len, Record, FILE_HEADER_LEN, MAX_KEY_LEN, MAX_VALUE_LEN};
use bitcask_testkit::SimStorage;

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

/// Issue 12, hole 3: offsets are 32 bits in the keydir, so nothing may be written past
/// `MAX_FILE_SIZE` (4 GiB - 1).
#[test]
fn a_max_file_size_past_4_gib_is_refused() {
    let sim = SimStorage::new(1);
    let too_big = Options { max_file_size: MAX_FILE_SIZE + 1, ..Options::default() };
    assert!(matches!(try_open(&sim, too_big), Err(Error::InvalidOptions(_))));
    let db = open(&sim, Options { max_file_size: MAX_FILE_SIZE, ..Options::default() });
    db.put(b"k", b"v").unwrap();
}

#[test]
fn a_batch_that_cannot_be_addressed_is_refused_and_writes_nothing() {
    // A frame one byte longer than a fresh datafile holds under MAX_FILE_SIZE; its body is
    // under the format's own limit (u32::MAX), so only the engine's check can refuse it.
    let big = vec![9u8; MAX_VALUE_LEN];
    let keys: Vec<Vec<u8>> = (0..16u8).map(|i| vec![b'k', i]).collect();
    let target = MAX_FILE_SIZE - FILE_HEADER_LEN as u64 + 1;
    let frame = |last: usize| {
        let recs: Vec<Record<'_>> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| Record::put(k, if i == 15 { &big[..last] } else { &big[..] }))
            .collect();
        batch_frame_len(&recs)
    };
    let short = usize::try_from(frame(MAX_VALUE_LEN) - target).unwrap();
    // Shrinking the value may shorten its length's varint: step back up to the target.
    let mut last = MAX_VALUE_LEN - short;
    while frame(last) < target {
        last += 1;
    }
    assert_eq!(frame(last), target);
    let mut batch = WriteBatch::new();
    for (i, k) in keys.iter().enumerate() {
        batch.put(k, if i == 15 { &big[..last] } else { &big[..] });
    }
    drop(big);

    let sim = SimStorage::new(1);
    let db = open(&sim, Options { max_file_size: MAX_FILE_SIZE, ..Options::default() });
    db.put(b"before", b"1").unwrap();
    let before = sim.disk_usage(&dir());
    let err = db.write(batch).unwrap_err();
    assert!(matches!(err, Error::BatchTooLarge { len, .. } if len == target), "{err}");
    assert_eq!(sim.disk_usage(&dir()), before, "a refused batch writes nothing");
    // Not a failed write: the store is not poisoned.
    db.put(b"after", b"2").unwrap();
    drop(db);
    let db = open(&sim, Options::default());
    assert_eq!(db.get(b"k\0").unwrap(), None);
    assert_eq!(db.get(b"after").unwrap(), Some(b"2".to_vec()));
}
