//! The read and conditional-write API beyond `get`: borrowed and buffered reads, multi-key
//! gets, TTLs, prefix and range scans, compare-and-swap.

mod common;
use common::*;

use std::sync::Arc;
use std::time::Duration;

use bitcask_core::{Bitcask, Error, Options};
use bitcask_testkit::SimStorage;

fn store() -> (SimStorage, Bitcask) {
    let sim = SimStorage::new(1);
    let db = open(&sim, small(512));
    for i in 0..50 {
        db.put(&key(i), format!("value {i}").as_bytes()).unwrap();
    }
    (sim, db)
}

#[test]
fn get_with_borrows_the_value_from_sealed_and_active_files() {
    let (_sim, db) = store();
    for i in 0..50 {
        let want = format!("value {i}");
        assert_eq!(db.get_with(&key(i), |v| v == want.as_bytes()).unwrap(), Some(true));
    }
    assert_eq!(db.get_with(b"missing", |v| v.len()).unwrap(), None);
    let none = Options { mmap_reads: false, ..small(512) };
    let sim = SimStorage::new(2);
    let db = open(&sim, none);
    db.put(b"k", b"v").unwrap();
    assert_eq!(db.get_with(b"k", <[u8]>::to_vec).unwrap(), Some(b"v".to_vec()));
}

#[test]
fn get_into_copies_when_the_buffer_fits_and_reports_the_size_when_not() {
    let (_sim, db) = store();
    let mut buf = [0u8; 16];
    assert_eq!(db.get_into(&key(7), &mut buf).unwrap(), Some(7));
    assert_eq!(&buf[..7], b"value 7");
    let mut small = [0u8; 3];
    assert_eq!(db.get_into(&key(7), &mut small).unwrap(), Some(7));
    assert_eq!(small, [0u8; 3], "nothing copied into a buffer too small");
    assert_eq!(db.get_into(b"missing", &mut buf).unwrap(), None);
}

#[test]
fn get_many_returns_values_in_order() {
    let (_sim, db) = store();
    let keys = [key(3), b"missing".to_vec(), key(40), key(3)];
    let got = db.get_many(&keys).unwrap();
    assert_eq!(
        got,
        vec![
            Some(b"value 3".to_vec()),
            None,
            Some(b"value 40".to_vec()),
            Some(b"value 3".to_vec())
        ]
    );
}

#[test]
fn get_many_with_borrows_every_value_and_skips_expired_and_deleted_keys() {
    let (_sim, db) = store();
    db.put_with_ttl(b"gone", b"v", Duration::ZERO).unwrap();
    db.put_with_ttl(b"later", b"v", Duration::from_secs(100)).unwrap();
    db.delete(&key(9)).unwrap();
    // Every key in sealed and active files, some twice, absent ones between.
    let mut keys: Vec<Vec<u8>> = (0..50).rev().map(key).collect();
    keys.extend([b"gone".to_vec(), key(9), b"later".to_vec(), key(0), b"missing".to_vec()]);
    let mut got = Vec::new();
    db.get_many_with(&keys, |i, v| got.push((i, v.map(<[u8]>::to_vec)))).unwrap();
    let want: Vec<(usize, Option<Vec<u8>>)> =
        keys.iter().enumerate().map(|(i, k)| (i, db.get(k).unwrap())).collect();
    assert_eq!(got, want);
    assert_eq!(got[50].1, None, "expired");
    assert_eq!(got[51].1, None, "deleted");
    assert_eq!(got[52].1.as_deref(), Some(&b"v"[..]));
    assert_eq!(got[49].1.as_deref(), Some(&b"value 0"[..]));
    // Without maps too, and after a merge moved everything.
    db.merge().unwrap();
    let mut again = Vec::new();
    db.get_many_with(&keys, |i, v| again.push((i, v.map(<[u8]>::to_vec)))).unwrap();
    assert_eq!(again, want);
}

#[test]
fn get_many_with_reports_a_damaged_record() {
    let sim = SimStorage::new(3);
    let db = open(&sim, Options { mmap_reads: false, ..small(512) });
    for i in 0..50 {
        db.put(&key(i), format!("value {i}").as_bytes()).unwrap();
    }
    let sealed = path(&data_files(&sim)[0]);
    let mut bytes = sim.read_file(&sealed).unwrap();
    bytes[30] ^= 1; // inside the first record after the file header
    sim.write_file(&sealed, &bytes);
    let keys: Vec<Vec<u8>> = (0..50).map(key).collect();
    let r = db.get_many_with(&keys, |_, _| {});
    assert!(matches!(r, Err(Error::Corruption { .. })), "{r:?}");
}

#[test]
fn ttl_tells_absent_persistent_and_expiring_keys_apart() {
    let (_sim, db) = store();
    assert_eq!(db.ttl(b"missing").unwrap(), None);
    assert_eq!(db.ttl(&key(1)).unwrap(), Some(None));
    db.put_with_ttl(b"t", b"v", Duration::from_secs(100)).unwrap();
    let left = db.ttl(b"t").unwrap().unwrap().unwrap();
    assert!(left <= Duration::from_secs(100) && left > Duration::from_secs(95), "{left:?}");
    db.put_with_ttl(b"gone", b"v", Duration::ZERO).unwrap();
    assert_eq!(db.ttl(b"gone").unwrap(), None);
}

#[test]
fn scan_prefix_and_range_give_exactly_the_matching_pairs_in_order() {
    let (_sim, db) = store();
    db.put(b"other", b"x").unwrap();
    db.delete(&key(12)).unwrap();
    let prefix: Vec<(Vec<u8>, Vec<u8>)> =
        db.scan_prefix(b"key0001").unwrap().map(Result::unwrap).collect();
    let want: Vec<(Vec<u8>, Vec<u8>)> = (10..20)
        .filter(|i| *i != 12)
        .map(|i| (key(i), format!("value {i}").into_bytes()))
        .collect();
    assert_eq!(prefix, want);
    let range: Vec<Vec<u8>> = db.range(key(5)..key(9)).unwrap().map(|kv| kv.unwrap().0).collect();
    assert_eq!(range, (5..9).map(key).collect::<Vec<_>>());
    let inclusive: Vec<Vec<u8>> =
        db.range(key(47)..=key(49)).unwrap().map(|kv| kv.unwrap().0).collect();
    assert_eq!(inclusive, (47..50).map(key).collect::<Vec<_>>());
    let tail: Vec<Vec<u8>> = db.range(key(49)..).unwrap().map(|kv| kv.unwrap().0).collect();
    assert_eq!(tail, vec![key(49), b"other".to_vec()]);
    assert_eq!(db.scan_prefix(b"nothing").unwrap().count(), 0);
}

#[test]
fn compare_and_swap_creates_replaces_and_deletes_only_on_a_match() {
    let (sim, db) = store();
    assert!(db.compare_and_swap(b"new", None, Some(b"1")).unwrap());
    assert!(!db.compare_and_swap(b"new", None, Some(b"2")).unwrap(), "present: no create");
    assert!(!db.compare_and_swap(b"new", Some(b"0"), Some(b"2")).unwrap());
    assert!(db.compare_and_swap(b"new", Some(b"1"), Some(b"2")).unwrap());
    assert_eq!(db.get(b"new").unwrap(), Some(b"2".to_vec()));
    assert!(db.compare_and_swap(b"new", Some(b"2"), None).unwrap());
    assert_eq!(db.get(b"new").unwrap(), None);
    let before = sim.disk_usage(&dir());
    assert!(db.compare_and_swap(b"new", None, None).unwrap(), "absent and staying absent");
    assert!(!db.compare_and_swap(b"new", Some(b"2"), Some(b"3")).unwrap());
    assert_eq!(sim.disk_usage(&dir()), before, "a failed or empty swap writes nothing");
    db.put_with_ttl(b"brief", b"v", Duration::ZERO).unwrap();
    assert!(db.compare_and_swap(b"brief", None, Some(b"w")).unwrap(), "expired is absent");
    assert!(matches!(db.compare_and_swap(b"", None, Some(b"x")), Err(Error::EmptyKey)));
    drop(db);
    let db = open(&sim, small(512));
    assert_eq!(db.get(b"brief").unwrap(), Some(b"w".to_vec()));
}

#[test]
fn compare_and_swap_is_atomic_across_threads() {
    // Four threads increment one counter with compare-and-swap loops: no increment is lost.
    let sim = SimStorage::new(3);
    let db = Arc::new(open(&sim, small(4096)));
    db.put(b"n", b"0").unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    loop {
                        let cur = db.get(b"n").unwrap().unwrap();
                        let n: u64 = std::str::from_utf8(&cur).unwrap().parse().unwrap();
                        let next = (n + 1).to_string();
                        if db.compare_and_swap(b"n", Some(&cur), Some(next.as_bytes())).unwrap() {
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(db.get(b"n").unwrap(), Some(b"800".to_vec()));
}
