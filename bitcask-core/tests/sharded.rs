//! The sharded store: keys go to the shard of their slot, the count is fixed at creation,
//! batches stay in one shard, and every call spans the shards as one store would.

use std::sync::Arc;

use bitcask_core::sharded::{key_slot, shard_dir_name, SHARDS_NAME};
use bitcask_core::{Bitcask, Error, Options, ShardedBitcask, Store, WriteBatch};

fn key(i: u32) -> Vec<u8> {
    format!("key:{i}").into_bytes()
}

#[test]
fn each_key_is_stored_in_the_shard_of_its_slot_only() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Store::Sharded(ShardedBitcask::open(tmp.path(), Options::default(), Some(8)).unwrap());
    for i in 0..2000 {
        db.put(&key(i), &i.to_le_bytes()).unwrap();
    }
    let per_shard: Vec<usize> = db.shards().into_iter().map(|(_, s)| s.len()).collect();
    db.close().unwrap();
    // Spread: every shard of 8 holds between 1/16 and 1/4 of 2000 keys.
    assert!(per_shard.iter().all(|&n| (125..=500).contains(&n)), "{per_shard:?}");
    for (s, &count) in per_shard.iter().enumerate() {
        let shard = Bitcask::open_read_only(tmp.path().join(shard_dir_name(s)), Options::default())
            .unwrap();
        for k in shard.keys().unwrap() {
            let slot = usize::from(key_slot(&k));
            assert_eq!(slot * 8 / 16384, s, "{k:?} is in shard {s}");
        }
        assert_eq!(shard.len(), count);
    }
}

#[test]
fn the_shard_count_is_recorded_and_fixed() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Store::Sharded(ShardedBitcask::open(tmp.path(), Options::default(), Some(4)).unwrap());
    db.put(b"a", b"1").unwrap();
    db.close().unwrap();
    let db = Store::Sharded(ShardedBitcask::open(tmp.path(), Options::default(), None).unwrap());
    assert_eq!(db.shard_count(), 4);
    assert_eq!(db.get(b"a").unwrap(), Some(b"1".to_vec()));
    db.close().unwrap();
    let err = ShardedBitcask::open(tmp.path(), Options::default(), Some(8)).unwrap_err();
    assert!(matches!(&err, Error::Layout { detail, .. } if detail.contains("4 shards")), "{err}");
    for bad in [0, 3, 2048] {
        let other = tempfile::tempdir().unwrap();
        let err = ShardedBitcask::open(other.path(), Options::default(), Some(bad)).unwrap_err();
        assert!(matches!(err, Error::InvalidOptions(_)), "{bad}: {err}");
    }
}

#[test]
fn a_damaged_or_newer_layout_is_refused_with_a_typed_error() {
    let tmp = tempfile::tempdir().unwrap();
    ShardedBitcask::open(tmp.path(), Options::default(), Some(2)).unwrap().close().unwrap();
    let path = tmp.path().join(SHARDS_NAME);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("bitcask-shards 1", "bitcask-shards 7")).unwrap();
    let err = ShardedBitcask::open(tmp.path(), Options::default(), None).unwrap_err();
    assert!(matches!(err, Error::UnsupportedVersion { found: 7, .. }), "{err}");
    std::fs::write(&path, text.replace("8191", "8000")).unwrap();
    let err = ShardedBitcask::open(tmp.path(), Options::default(), None).unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err}");
}

#[test]
fn a_plain_store_is_not_opened_as_a_sharded_one() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Bitcask::open(tmp.path(), Options::default()).unwrap();
    db.put(b"k", b"v").unwrap();
    db.close().unwrap();
    let err = ShardedBitcask::open(tmp.path(), Options::default(), Some(2)).unwrap_err();
    assert!(
        matches!(&err, Error::Layout { detail, .. } if detail.contains("not sharded")),
        "{err}"
    );
    let missing = tmp.path().join("missing");
    assert!(matches!(
        ShardedBitcask::open_read_only(&missing, Options::default()),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn a_batch_across_shards_is_refused_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Store::Sharded(ShardedBitcask::open(tmp.path(), Options::default(), Some(4)).unwrap());
    let (a, b) =
        (0..).map(key).zip((1..).map(key)).find(|(a, b)| db.shard_of(a) != db.shard_of(b)).unwrap();
    let mut batch = WriteBatch::new();
    batch.put(&a, b"1").put(&b, b"2");
    let err = db.write(batch).unwrap_err();
    assert!(matches!(err, Error::CrossShard { .. }), "{err}");
    assert!(err.to_string().contains("hash tag"), "{err}");
    assert_eq!(db.len(), 0);
    // With one hash tag the keys share a shard and the batch is atomic.
    let mut batch = WriteBatch::new();
    batch.put(b"{t}a", b"1").put(b"{t}b", b"2").delete(b"{t}c");
    db.write(batch).unwrap();
    assert_eq!(db.get(b"{t}b").unwrap(), Some(b"2".to_vec()));
    db.write(WriteBatch::new()).unwrap();
}

#[test]
fn reads_of_many_keys_come_back_in_order_across_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let db = ShardedBitcask::open(tmp.path(), Options::default(), Some(16)).unwrap();
    for i in (0..300).step_by(2) {
        db.shard_for(&key(i)).unwrap().put(&key(i), &key(i + 1)).unwrap();
    }
    let keys: Vec<Vec<u8>> = (0..300).rev().map(key).collect();
    let mut got = vec![None; keys.len()];
    db.get_many_with(&keys, |i, v| got[i] = v.map(<[u8]>::to_vec)).unwrap();
    for (k, g) in keys.iter().zip(&got) {
        let i: u32 = std::str::from_utf8(&k[4..]).unwrap().parse().unwrap();
        let want = i.is_multiple_of(2).then(|| key(i + 1));
        assert_eq!(g, &want, "key {i}");
    }
    assert_eq!(db.len(), 150);
    assert_eq!(db.keys().unwrap().count(), 150);
    assert_eq!(db.keys_where(|k| k.ends_with(b"0")).unwrap().len(), 30);
}

#[test]
fn writers_on_many_threads_all_land_and_survive_a_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Arc::new(Store::Sharded(
        ShardedBitcask::open(tmp.path(), Options::default(), Some(4)).unwrap(),
    ));
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..2000 {
                    db.put(&key(t * 10_000 + i), &[t as u8; 8]).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    db.sync().unwrap();
    db.merge().unwrap();
    db.close().unwrap();
    let db = Store::Sharded(ShardedBitcask::open(tmp.path(), Options::default(), None).unwrap());
    assert_eq!(db.len(), 8000);
    assert_eq!(db.get(&key(30_000 + 1999)).unwrap(), Some(vec![3; 8]));
}

#[test]
fn a_second_writer_is_refused_while_the_store_is_open() {
    let tmp = tempfile::tempdir().unwrap();
    let db = ShardedBitcask::open(tmp.path(), Options::default(), Some(2)).unwrap();
    let err = ShardedBitcask::open(tmp.path(), Options::default(), None).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    db.close().unwrap();
    ShardedBitcask::open(tmp.path(), Options::default(), None).unwrap();
}
