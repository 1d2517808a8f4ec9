//! Rebuilding at open: a collection deleted by one header tombstone (its elements only
//! forgotten) and re-created under a new version never sees its old elements, across
//! reopens and merges; an unreadable header is reported and left with its elements.

use bitcask_collections::{element_key, header_key, rebuild, Header, HeaderError, Kind};
use bitcask_core::{Bitcask, Options, WriteBatch};

fn opts() -> Options {
    Options { max_file_size: 4096, ..Options::default() }
}

fn create(db: &Bitcask, key: &[u8], version: u64, fields: impl Iterator<Item = usize>) {
    let mut b = WriteBatch::new();
    b.put(&header_key(0, key), &Header { kind: Kind::Hash, version }.encode());
    for i in fields {
        b.put(&element_key(0, key, version, format!("f{i}").as_bytes()), &[b'v'; 40]);
    }
    db.write(b).unwrap();
}

#[test]
fn a_recreated_collection_never_sees_the_old_elements() {
    let dir = tempfile::tempdir().unwrap();
    let db = Bitcask::open(dir.path(), opts()).unwrap();
    create(&db, b"h", 1, 0..300);
    // Deleting: one tombstone; the elements are forgotten, not written.
    db.delete(&header_key(0, b"h")).unwrap();
    let old: Vec<Vec<u8>> =
        (0..300).map(|i| element_key(0, b"h", 1, format!("f{i}").as_bytes())).collect();
    db.forget(&old).unwrap();
    create(&db, b"h", 2, 0..1);
    for merge in [false, true] {
        if merge {
            db.merge().unwrap();
        }
        let found = rebuild(&db).unwrap();
        assert_eq!(found.collections.len(), 1);
        assert_eq!(found.collections[0].collection.version, 2);
        assert_eq!(found.collections[0].collection.members.len(), 1);
        assert!(found.max_version >= 2);
    }
    db.close().unwrap();
    // Reopened: the old elements the merge did not drop are orphans, found and reported.
    let db = Bitcask::open(dir.path(), opts()).unwrap();
    let found = rebuild(&db).unwrap();
    assert_eq!(found.collections[0].collection.members.len(), 1);
    assert!(found.orphans.iter().all(|k| old.contains(k)));
    assert!(found.max_version >= 2, "a new version stays above every record's");
    db.forget(&found.orphans).unwrap();
    db.merge().unwrap();
    db.close().unwrap();
    let db = Bitcask::open(dir.path(), opts()).unwrap();
    let found = rebuild(&db).unwrap();
    assert!(found.orphans.is_empty(), "merged away: {}", found.orphans.len());
    assert_eq!(found.collections[0].collection.members.len(), 1);
}

#[test]
fn an_unreadable_header_is_reported_and_its_elements_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = Bitcask::open(dir.path(), opts()).unwrap();
    create(&db, b"h", 5, 0..3);
    let mut newer = Header { kind: Kind::Set, version: 5 }.encode();
    newer[1] = 9;
    db.put(&header_key(0, b"h"), &newer).unwrap();
    let found = rebuild(&db).unwrap();
    assert!(found.collections.is_empty());
    assert!(found.orphans.is_empty(), "elements of an unreadable header are not orphans");
    assert_eq!(found.unreadable, vec![(header_key(0, b"h"), HeaderError::Format(9))]);
}

#[test]
fn a_sorted_set_is_rebuilt_in_order_from_its_keys_alone() {
    use bitcask_collections::score_member;
    let dir = tempfile::tempdir().unwrap();
    let db = Bitcask::open(dir.path(), opts()).unwrap();
    let mut b = WriteBatch::new();
    b.put(&header_key(0, b"z"), &Header { kind: Kind::Zset, version: 3 }.encode());
    for (s, m) in [(2.5, &b"b"[..]), (-1.0, b"c"), (2.5, b"a"), (f64::INFINITY, b"d")] {
        // The element's value is empty: the score is in the key.
        b.put(&element_key(0, b"z", 3, &score_member(s, m)), b"");
    }
    // A member too short to hold a score: an orphan.
    b.put(&element_key(0, b"z", 3, b"short"), b"");
    db.write(b).unwrap();
    let found = rebuild(&db).unwrap();
    let z = &found.collections[0].collection;
    let order: Vec<(f64, &[u8])> = z.ranked().iter().map(|(s, m)| (s.0, &**m)).collect();
    assert_eq!(order, [(-1.0, &b"c"[..]), (2.5, b"a"), (2.5, b"b"), (f64::INFINITY, b"d")]);
    assert_eq!((z.score(b"a"), z.rank(b"d")), (Some(2.5), Some(3)));
    assert_eq!(found.orphans, [element_key(0, b"z", 3, b"short")]);
}
