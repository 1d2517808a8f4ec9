//! The public API on the real file system: every call, its results, and reopen.

use std::sync::Arc;
use std::time::Duration;

use bitcask_core::{Bitcask, Error, Options, SyncPolicy, WriteBatch};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn put_get_delete_contains_and_reopen() {
    let t = tmp();
    let dir = t.path().join("store");
    let db = Bitcask::open(&dir, Options::default()).unwrap();
    assert!(dir.is_dir(), "open creates the directory");
    assert_eq!(db.get(b"a").unwrap(), None);
    db.put(b"a", b"1").unwrap();
    db.put(b"b", b"2").unwrap();
    db.put(b"a", b"3").unwrap();
    assert_eq!(db.get(b"a").unwrap(), Some(b"3".to_vec()));
    assert!(db.contains(b"b").unwrap());
    assert!(db.delete(b"b").unwrap());
    assert!(!db.delete(b"b").unwrap(), "second delete finds nothing");
    assert!(!db.contains(b"b").unwrap());
    assert_eq!(db.len(), 1);
    db.close().unwrap();

    let db = Bitcask::open(&dir, Options::default()).unwrap();
    assert_eq!(db.get(b"a").unwrap(), Some(b"3".to_vec()));
    assert_eq!(db.get(b"b").unwrap(), None);
    assert_eq!(db.len(), 1);
    assert!(db.recovery_report().hints_used >= 1, "close wrote a hint: {:?}", db.recovery_report());
}

#[test]
fn empty_values_are_values() {
    let t = tmp();
    let db = Bitcask::open(t.path(), Options::default()).unwrap();
    db.put(b"k", b"").unwrap();
    assert_eq!(db.get(b"k").unwrap(), Some(Vec::new()));
    assert!(db.contains(b"k").unwrap());
    drop(db);
    let db = Bitcask::open(t.path(), Options::default()).unwrap();
    assert_eq!(db.get(b"k").unwrap(), Some(Vec::new()));
}

#[test]
fn batches_apply_in_order_and_survive_reopen() {
    let t = tmp();
    let db = Bitcask::open(t.path(), Options::default()).unwrap();
    db.put(b"x", b"old").unwrap();
    let mut b = WriteBatch::new();
    b.put(b"a", b"1").put(b"b", b"2").delete(b"x").put(b"a", b"again");
    assert_eq!(b.len(), 4);
    db.write(b).unwrap();
    assert_eq!(db.get(b"a").unwrap(), Some(b"again".to_vec()));
    assert_eq!(db.get(b"x").unwrap(), None);
    db.write(WriteBatch::new()).unwrap();
    drop(db);
    let db = Bitcask::open(t.path(), Options::default()).unwrap();
    let got: Vec<_> = db.iter().unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(got, vec![(b"a".to_vec(), b"again".to_vec()), (b"b".to_vec(), b"2".to_vec())]);
}

#[test]
fn keys_and_iter_are_sorted_snapshots() {
    let t = tmp();
    let db = Bitcask::open(t.path(), Options::default()).unwrap();
    for k in [b"c", b"a", b"b"] {
        db.put(k, k).unwrap();
    }
    let keys = db.keys().unwrap();
    let mut iter = db.iter().unwrap();
    // Writes after the snapshot are not seen by it.
    db.put(b"d", b"d").unwrap();
    db.delete(b"a").unwrap();
    assert_eq!(keys.collect::<Vec<_>>(), vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    assert_eq!(iter.next().unwrap().unwrap(), (b"a".to_vec(), b"a".to_vec()));
    assert_eq!(iter.count(), 2);
}

#[test]
fn ttl_keys_disappear_everywhere() {
    let t = tmp();
    let db = Bitcask::open(t.path(), Options::default()).unwrap();
    db.put_with_ttl(b"short", b"v", Duration::from_millis(30)).unwrap();
    db.put_with_ttl(b"long", b"v", Duration::from_secs(3600)).unwrap();
    db.put(b"plain", b"v").unwrap();
    assert_eq!(db.len(), 3);
    assert!(db.contains(b"short").unwrap());
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(db.get(b"short").unwrap(), None);
    assert!(!db.contains(b"short").unwrap());
    assert_eq!(db.len(), 2);
    assert_eq!(db.keys().unwrap().collect::<Vec<_>>(), vec![b"long".to_vec(), b"plain".to_vec()]);
    assert_eq!(db.iter().unwrap().count(), 2);
    assert!(!db.delete(b"short").unwrap());
    drop(db);
    let db = Bitcask::open(t.path(), Options::default()).unwrap();
    assert_eq!(db.len(), 2);
    assert_eq!(db.get(b"long").unwrap(), Some(b"v".to_vec()));
}

#[test]
fn read_only_open_sees_state_at_open_and_refuses_writes() {
    let t = tmp();
    let db = Bitcask::open(t.path(), Options::default()).unwrap();
    db.put(b"a", b"1").unwrap();
    let ro = Bitcask::open_read_only(t.path(), Options::default()).unwrap();
    db.put(b"b", b"2").unwrap();
    assert_eq!(ro.get(b"a").unwrap(), Some(b"1".to_vec()));
    assert!(!ro.contains(b"b").unwrap());
    assert!(matches!(ro.put(b"c", b"3"), Err(Error::ReadOnly)));
    assert!(matches!(ro.delete(b"a"), Err(Error::ReadOnly)));
    assert!(matches!(ro.sync(), Err(Error::ReadOnly)));
    assert!(matches!(ro.merge(), Err(Error::ReadOnly)));
    // A read-only open never creates a store.
    let missing = t.path().join("missing");
    assert!(matches!(
        Bitcask::open_read_only(&missing, Options::default()),
        Err(Error::NotFound { .. })
    ));
    assert!(!missing.exists());
}

#[test]
fn a_path_that_is_a_file_is_a_clear_error() {
    let t = tmp();
    let file = t.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let err = Bitcask::open(&file, Options::default()).unwrap_err();
    assert!(matches!(err, Error::NotADirectory { .. }), "{err}");
    assert!(err.to_string().contains("not a directory"));
}

#[test]
fn an_uncreatable_directory_is_a_clear_error() {
    // A path under a regular file cannot be created by anyone, root included (CI runs as
    // root, which ignores permission bits).
    let t = tmp();
    let file = t.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let dir = file.join("store");
    let err = Bitcask::open(&dir, Options::default()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains(&dir.display().to_string()), "{err}");
    assert!(!dir.exists());
}

#[test]
fn stats_count_live_and_dead_bytes_exactly() {
    let t = tmp();
    let db = Bitcask::open(t.path(), Options::default()).unwrap();
    // crc 4 + flags 1 + two one-byte lengths + key + value
    db.put(b"a", b"1").unwrap(); // 9 bytes
    db.put(b"a", b"22").unwrap(); // 10
    db.put(b"b", b"3").unwrap(); // 9
    db.delete(b"b").unwrap(); // tombstone 8
    let s = db.stats();
    assert_eq!(s.keys, 1);
    assert_eq!(s.files.len(), 1);
    let f = s.files[0];
    assert!(f.active);
    assert_eq!((f.live_keys, f.live_bytes), (1, 10));
    assert_eq!((f.dead_keys, f.dead_bytes), (3, 9 + 9 + 8));
    assert_eq!(f.size, 20 + 36);
    drop(db);
    // The same figures are rebuilt on open, from the hint file.
    let db = Bitcask::open(t.path(), Options::default()).unwrap();
    let g = db.stats().files[0];
    assert_eq!((g.live_keys, g.live_bytes, g.dead_keys, g.dead_bytes), (1, 10, 3, 26));
}

#[test]
fn options_are_validated() {
    let t = tmp();
    for bad in [
        Options { max_key_size: 0, ..Options::default() },
        Options { max_key_size: 1 << 20, ..Options::default() },
        Options { max_value_size: 1 << 30, ..Options::default() },
        Options { max_file_size: 1, ..Options::default() },
        Options { sync: SyncPolicy::EveryMillis(0), ..Options::default() },
    ] {
        assert!(matches!(Bitcask::open(t.path(), bad), Err(Error::InvalidOptions(_))));
    }
}

#[test]
fn the_store_is_send_and_sync_and_shared_with_arc() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Bitcask>();
    let t = tmp();
    let db = Arc::new(Bitcask::open(t.path(), Options::default()).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let db = db.clone();
            std::thread::spawn(move || {
                for j in 0..100 {
                    db.put(format!("{i}-{j}").as_bytes(), b"v").unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(db.len(), 400);
}

#[test]
fn a_closed_store_refuses_everything() {
    let t = tmp();
    let db = Arc::new(Bitcask::open(t.path(), Options::default()).unwrap());
    db.put(b"a", b"1").unwrap();
    let other = db.clone();
    // close() takes &self, so a shared handle can be closed while others hold it.
    db.close().unwrap();
    let closed = |r: bitcask_core::Result<()>| matches!(r, Err(Error::Closed));
    assert!(closed(other.put(b"b", b"2")));
    assert!(closed(other.delete(b"a").map(|_| ())));
    assert!(closed(other.get(b"a").map(|_| ())));
    assert!(closed(other.contains(b"a").map(|_| ())));
    assert!(closed(other.write(WriteBatch::new())));
    assert!(closed(other.sync()));
    assert!(closed(other.keys().map(|_| ())));
    assert!(closed(other.iter().map(|_| ())));
    assert!(closed(other.merge().map(|_| ())));
    assert!(closed(other.merge_if_needed().map(|_| ())));
    // Closing again is harmless.
    other.close().unwrap();
    // Reopen after close works (the lock was released).
    let db = Bitcask::open(t.path(), Options::default()).unwrap();
    assert_eq!(db.get(b"a").unwrap(), Some(b"1".to_vec()));
}
