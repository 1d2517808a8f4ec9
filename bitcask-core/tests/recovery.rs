//! Open after damage: torn and garbage tails, corrupt records, bad hint files, odd file
//! sizes, empty files, unknown versions.

mod common;
use common::*;

use std::time::Duration;

use bitcask_core::{Error, Options, RecoveryMode, SCAN_BUFFER_SIZE};
use bitcask_format::{
    record_len, FileHeader, FileKind, HintEntry, HintWriter, FILE_HEADER_LEN, SYNC_POINT_LEN,
};
use bitcask_testkit::SimStorage;

const FIRST: &str = "0000000001000000.data";
const FIRST_HINT: &str = "0000000001000000.hint";

/// A store with `n` records in its first datafile; returns the file's bytes and the end
/// offset of every record.
fn one_file(n: usize) -> (Vec<u8>, Vec<usize>) {
    let sim = SimStorage::new(7);
    let db = open(&sim, Options::default());
    let mut ends = Vec::new();
    let mut at = FILE_HEADER_LEN;
    for i in 0..n {
        let v = vec![i as u8; i % 37];
        db.put(&key(i), &v).unwrap();
        at += record_len(key(i).len(), v.len(), false);
        ends.push(at);
    }
    drop(db);
    let bytes = sim.read_file(&path(FIRST)).unwrap();
    // Close ends the file with a sync point.
    assert_eq!(bytes.len(), at + SYNC_POINT_LEN);
    (bytes, ends)
}

/// A fresh simulated store whose first datafile holds `bytes` (and no hint).
fn store_with(bytes: &[u8]) -> SimStorage {
    let sim = SimStorage::new(9);
    drop(open(&sim, Options::default()));
    sim.write_file(&path(FIRST), bytes);
    sim.delete_file(&path(FIRST_HINT));
    sim
}

#[test]
fn torn_tail_at_every_byte_offset() {
    let (bytes, ends) = one_file(40);
    for cut in FILE_HEADER_LEN..bytes.len() {
        let sim = store_with(&bytes[..cut]);
        let db = open(&sim, Options::default());
        let whole = ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(db.len(), whole, "cut at {cut}");
        for i in 0..whole {
            assert_eq!(db.get(&key(i)).unwrap(), Some(vec![i as u8; i % 37]), "cut {cut} key {i}");
        }
        let r = db.recovery_report();
        let valid_end = if whole == 0 { FILE_HEADER_LEN } else { ends[whole - 1] };
        assert_eq!(r.bytes_truncated as usize, cut - valid_end, "cut at {cut}");
        // The next put and reopen work.
        db.put(b"after", b"cut").unwrap();
        drop(db);
        let db = open(&sim, Options::default());
        assert_eq!(db.len(), whole + 1, "cut at {cut}");
        assert_eq!(db.get(b"after").unwrap(), Some(b"cut".to_vec()));
        assert_eq!(db.recovery_report().bytes_truncated, 0);
    }
}

#[test]
fn torn_header_of_the_newest_file_is_rewritten() {
    let (bytes, _) = one_file(3);
    for cut in 0..FILE_HEADER_LEN {
        let sim = store_with(&bytes[..cut]);
        let db = open(&sim, Options::default());
        assert_eq!(db.len(), 0);
        db.put(b"k", b"v").unwrap();
        drop(db);
        assert_eq!(open(&sim, Options::default()).get(b"k").unwrap(), Some(b"v".to_vec()));
    }
}

#[test]
fn garbage_tail_leaves_no_phantom_records() {
    // Zeros or random bytes after the last record.
    let (bytes, ends) = one_file(10);
    let mut x: u64 = 0x1234_5678;
    for (name, tail) in [
        ("zeros", vec![0u8; 4096]),
        (
            "random",
            (0..4096)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect(),
        ),
        ("ones", vec![0xffu8; 100]),
    ] {
        let mut b = bytes.clone();
        b.extend_from_slice(&tail);
        let sim = store_with(&b);
        let db = open(&sim, Options::default());
        assert_eq!(db.len(), 10, "{name}");
        // Cut after the sync point close wrote.
        assert_eq!(file_len(&sim, FIRST), ends[9] + SYNC_POINT_LEN, "{name}: the tail was cut off");
        if name == "zeros" {
            // Unused (preallocated) space: cut, but not damage.
            assert_eq!(db.recovery_report().bytes_truncated, 0);
            assert_eq!(db.recovery_report().truncated, None);
            continue;
        }
        assert_eq!(db.recovery_report().bytes_truncated as usize, tail.len(), "{name}");
        let cut_at = db.recovery_report().truncated.as_ref().unwrap().offset as usize;
        assert_eq!(cut_at, ends[9] + SYNC_POINT_LEN);
    }
}

/// Two datafiles: a sealed one (the records ending at the returned offsets) and the active one.
fn two_files() -> (SimStorage, Vec<u8>, Vec<usize>) {
    let sim = SimStorage::new(3);
    let db = open(&sim, small(600));
    let mut ends = Vec::new();
    let mut at = FILE_HEADER_LEN;
    for i in 0..30 {
        db.put(&key(i), &[i as u8; 10]).unwrap();
        at += record_len(8, 10, false);
        if at <= 600 {
            ends.push(at);
        }
    }
    drop(db);
    assert!(data_files(&sim).len() >= 2);
    let bytes = sim.read_file(&path(FIRST)).unwrap();
    (sim, bytes, ends)
}

#[test]
fn corrupt_record_in_a_sealed_file_fails_open_with_file_and_offset() {
    let (sim, mut bytes, ends) = two_files();
    let victim = 3; // the 4th record
    bytes[ends[victim - 1] + 12] ^= 0x10;
    sim.write_file(&path(FIRST), &bytes);
    sim.delete_file(&path(FIRST_HINT));
    match try_open(&sim, small(600)) {
        Err(Error::Corruption { path: p, offset, .. }) => {
            assert_eq!(p, path(FIRST));
            assert_eq!(offset as usize, ends[victim - 1]);
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    // Skipping corrupt records opens with every valid one and reports the damage.
    let db = open(&sim, Options { recovery: RecoveryMode::SkipCorrupt, ..small(600) });
    assert_eq!(db.get(&key(victim)).unwrap(), None, "the damaged record is not loaded");
    for i in (0..ends.len()).filter(|&i| i != victim) {
        assert_eq!(db.get(&key(i)).unwrap(), Some(vec![i as u8; 10]), "key {i}");
    }
    let skipped = &db.recovery_report().skipped;
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].offset as usize, ends[victim - 1]);
    assert_eq!(skipped[0].len as usize, ends[victim] - ends[victim - 1]);
}

#[test]
fn a_length_field_claiming_gigabytes_is_corruption_not_an_allocation() {
    let (sim, mut bytes, ends) = two_files();
    // Record 2's value length varint (offset 6 in the record) claims 256 MiB.
    let at = ends[1] + 6;
    let mut patched = bytes[..at].to_vec();
    patched.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x01]);
    patched.extend_from_slice(&bytes[at + 1..]);
    bytes = patched;
    sim.write_file(&path(FIRST), &bytes);
    sim.delete_file(&path(FIRST_HINT));
    match try_open(&sim, small(600)) {
        Err(Error::Corruption { offset, .. }) => assert_eq!(offset as usize, ends[1]),
        other => panic!("expected corruption, got {other:?}"),
    }
}

#[test]
fn a_zero_length_key_is_corruption() {
    let (sim, mut bytes, ends) = two_files();
    bytes[ends[0] + 5] = 0;
    sim.write_file(&path(FIRST), &bytes);
    sim.delete_file(&path(FIRST_HINT));
    let err = try_open(&sim, small(600)).unwrap_err();
    assert!(err.to_string().contains("empty key"), "{err}");
}

#[test]
fn a_get_whose_record_fails_its_checksum_is_an_error_never_wrong_bytes() {
    let sim = SimStorage::new(5);
    let db = open(&sim, Options::default());
    db.put(b"k", b"the value").unwrap();
    let mut bytes = sim.read_file(&path(FIRST)).unwrap();
    // The record's last byte (the file goes on with preallocated zeros).
    let last = FILE_HEADER_LEN + bitcask_format::record_len(1, 9, false) - 1;
    bytes[last] ^= 1;
    sim.write_file(&path(FIRST), &bytes);
    match db.get(b"k") {
        Err(Error::Corruption { path: p, offset, .. }) => {
            assert_eq!(p, path(FIRST));
            assert_eq!(offset as usize, FILE_HEADER_LEN);
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    assert!(matches!(db.iter().unwrap().next(), Some(Err(Error::Corruption { .. }))));
}

#[test]
fn damaged_hint_files_fall_back_to_a_scan() {
    let (sim, _, _) = two_files();
    let reference = contents(&open(&sim, small(600)));
    let hint = sim.read_file(&path(FIRST_HINT)).expect("sealed files have hints");
    let data_len = file_len(&sim, FIRST) as u64;
    let mut past_end = HintWriter::new(1 << 24);
    past_end
        .push(&HintEntry {
            key: b"ghost",
            offset: data_len - 5,
            len: 40,
            expiry: None,
            tombstone: false,
        })
        .unwrap();
    let variants: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", hint[..hint.len() / 2].to_vec()),
        ("flipped", {
            let mut h = hint.clone();
            h[FILE_HEADER_LEN + 3] ^= 4;
            h
        }),
        ("no trailer", hint[..hint.len() - 21].to_vec()),
        ("past the end", past_end.finish(data_len)),
        ("claims more data", {
            let mut w = HintWriter::new(1 << 24);
            w.push(&HintEntry {
                key: b"ghost",
                offset: 20,
                len: 13,
                expiry: None,
                tombstone: false,
            })
            .unwrap();
            w.finish(data_len + 100)
        }),
        ("empty", Vec::new()),
    ];
    for (name, bad) in variants {
        sim.write_file(&path(FIRST_HINT), &bad);
        let db = open(&sim, small(600));
        assert_eq!(contents(&db), reference, "{name}");
        assert!(db.get(b"ghost").unwrap().is_none(), "{name}");
        assert_eq!(db.recovery_report().hints_rejected, 1, "{name}");
    }
}

#[test]
fn a_file_whose_size_is_a_multiple_of_the_read_buffer() {
    // The scan reads SCAN_BUFFER_SIZE bytes at a time from the header's end.
    for target_body in [SCAN_BUFFER_SIZE, 2 * SCAN_BUFFER_SIZE, SCAN_BUFFER_SIZE - FILE_HEADER_LEN]
    {
        let sim = SimStorage::new(11);
        let db = open(&sim, Options::default());
        // Close ends the file with a sync point.
        let mut left = target_body - SYNC_POINT_LEN;
        let mut i = 0;
        while left > 0 {
            let full = record_len(8, 1000, false);
            let v = if left >= full + 20 {
                1000
            } else {
                // The last record fills the rest exactly.
                (0..=left).find(|&v| record_len(8, v, false) == left).expect("a fitting size")
            };
            db.put(&key(i), &vec![i as u8; v]).unwrap();
            left -= record_len(8, v, false);
            i += 1;
        }
        drop(db);
        assert_eq!(file_len(&sim, FIRST), FILE_HEADER_LEN + target_body);
        sim.delete_file(&path(FIRST_HINT));
        let db = open(&sim, Options::default());
        assert_eq!(db.len(), i, "body of {target_body}");
        assert_eq!(db.recovery_report().bytes_truncated, 0);
        assert_eq!(db.get(&key(i - 1)).unwrap().unwrap()[0], (i - 1) as u8);
    }
}

#[test]
fn file_ids_are_never_reused() {
    // An empty newest file, one with only tombstones, reopen, merge.
    let sim = SimStorage::new(13);
    let mut seen = std::collections::BTreeSet::new();
    let mut record = |sim: &SimStorage| {
        for n in data_files(sim) {
            seen.insert(n);
        }
    };
    let db = open(&sim, small(200));
    for i in 0..30 {
        db.put(&key(i), b"0123456789").unwrap();
    }
    record(&sim);
    for i in 0..30 {
        db.delete(&key(i)).unwrap();
    }
    record(&sim);
    drop(db);
    let before: Vec<String> = data_files(&sim);
    for round in 0..4 {
        let db = open(&sim, small(200));
        if round % 2 == 1 {
            db.merge().unwrap();
        }
        db.put(b"r", &[round as u8]).unwrap();
        let now = data_files(&sim);
        for n in &now {
            if !before.contains(n) && !seen.contains(n) {
                seen.insert(n.clone());
            }
        }
        drop(db);
    }
    // Every name created was new: a name disappearing and coming back would have been
    // counted once, so compare with the creations in the operation log.
    let creates: Vec<_> = sim
        .log()
        .into_iter()
        .filter_map(|op| match op {
            bitcask_testkit::Op::Create(p) => {
                p.file_name().map(|n| n.to_string_lossy().into_owned())
            }
            _ => None,
        })
        .filter(|n| n.ends_with(".data") || n.ends_with(".data.tmp"))
        .map(|n| n.trim_end_matches(".tmp").to_owned())
        .collect();
    let unique: std::collections::BTreeSet<_> = creates.iter().collect();
    assert_eq!(unique.len(), creates.len(), "a datafile id was created twice: {creates:?}");
    let db = open(&sim, small(200));
    assert_eq!(db.get(b"r").unwrap(), Some(vec![3]));
    assert_eq!(db.len(), 1);
}

#[test]
fn an_empty_newest_file_and_a_tombstone_only_newest_file() {
    let sim = SimStorage::new(17);
    let db = open(&sim, Options::default());
    db.put(b"a", b"1").unwrap();
    drop(db);
    // A zero-length file as the highest id.
    sim.write_file(&path("0000000002000000.data"), &[]);
    let db = open(&sim, Options::default());
    assert_eq!(db.get(b"a").unwrap(), Some(b"1".to_vec()));
    db.delete(b"a").unwrap();
    drop(db);
    let db = open(&sim, Options::default());
    assert_eq!(db.get(b"a").unwrap(), None);
    db.put(b"b", b"2").unwrap();
    drop(db);
    let db = open(&sim, Options::default());
    assert_eq!(contents(&db), vec![(b"b".to_vec(), b"2".to_vec())]);
}

#[test]
fn a_newer_format_version_is_refused() {
    let sim = SimStorage::new(19);
    let db = open(&sim, Options::default());
    db.put(b"a", b"1").unwrap();
    drop(db);
    let mut bytes = sim.read_file(&path(FIRST)).unwrap();
    let mut head = Vec::new();
    let newer = bitcask_format::FORMAT_VERSION + 1;
    FileHeader { kind: FileKind::Data, version: newer, file_id: 1 << 24 }.encode(&mut head);
    bytes[..FILE_HEADER_LEN].copy_from_slice(&head);
    sim.write_file(&path(FIRST), &bytes);
    match try_open(&sim, Options::default()) {
        Err(Error::UnsupportedVersion { found, path: p }) if found == newer => {
            assert_eq!(p, path(FIRST))
        }
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
    // Nothing was lost: the file is untouched.
    assert_eq!(sim.read_file(&path(FIRST)).unwrap(), bytes);
}

#[test]
fn order_comes_from_position_never_from_time() {
    // A later write with an earlier expiry still wins, before and after reopen,
    // from the scan and from hint files.
    let sim = SimStorage::new(23);
    let db = open(&sim, small(120));
    db.put_with_ttl(b"k", b"first", Duration::from_secs(7200)).unwrap();
    for i in 0..10 {
        db.put(&key(i), b"filler-filler").unwrap();
    }
    db.put_with_ttl(b"k", b"second", Duration::from_secs(3600)).unwrap();
    db.put(b"j", b"one").unwrap();
    db.put(b"j", b"two").unwrap();
    assert_eq!(db.get(b"k").unwrap(), Some(b"second".to_vec()));
    drop(db);
    let db = open(&sim, small(120));
    assert!(db.recovery_report().hints_used > 0);
    assert_eq!(db.get(b"k").unwrap(), Some(b"second".to_vec()));
    assert_eq!(db.get(b"j").unwrap(), Some(b"two".to_vec()));
    for n in sim.files(&dir()).into_iter().filter(|n| n.ends_with(".hint")) {
        sim.delete_file(&path(&n));
    }
    let db2 = {
        drop(db);
        open(&sim, small(120))
    };
    assert_eq!(db2.get(b"k").unwrap(), Some(b"second".to_vec()));
}

#[test]
fn leftover_temporary_files_are_removed_on_open() {
    let sim = SimStorage::new(29);
    drop(open(&sim, Options::default()));
    sim.write_file(&path("0000000001000005.data.tmp"), b"half a merge");
    sim.write_file(&path("0000000001000005.hint.tmp"), b"half a hint");
    let db = open(&sim, Options::default());
    assert_eq!(db.recovery_report().temp_files_removed, 2);
    assert!(sim.files(&dir()).iter().all(|n| !n.ends_with(".tmp")));
}

#[test]
fn a_hint_trailer_claiming_billions_of_entries_does_not_drive_an_allocation() {
    // Open sizes the keydir from hint trailers before verifying them; the count is capped by
    // what the file could hold.
    let (sim, _, _) = two_files();
    let reference = contents(&open(&sim, small(600)));
    let mut hint = sim.read_file(&path(FIRST_HINT)).unwrap();
    let at = hint.len() - 20; // the trailer's count field
    hint[at..at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    sim.write_file(&path(FIRST_HINT), &hint);
    let db = open(&sim, small(600));
    assert_eq!(contents(&db), reference);
    assert_eq!(db.recovery_report().hints_rejected, 1);
    assert!(db.stats().keydir_bytes < 16 << 20, "{}", db.stats().keydir_bytes);
}

#[test]
fn a_large_hint_file_built_on_two_threads_gives_what_a_scan_gives() {
    // More than 65,536 entries in one hint file: open applies them on two threads, each
    // building half of the keydir's shards. Overwrites, deletes and TTLs inside the file
    // make order matter. A scan of the same files (hints removed) must give the same
    // keys, values, live and dead counts per file, and TTL count.
    let sim = SimStorage::new(11);
    let db = open(&sim, small(64 << 20));
    for i in 0..90_000usize {
        db.put(&key(i % 70_000), format!("v{i}").as_bytes()).unwrap();
        if i % 5 == 0 {
            db.delete(&key((i * 7) % 70_000)).unwrap();
        }
        if i % 11 == 0 {
            db.put_with_ttl(&key(i % 70_000), b"ttl", Duration::from_secs(3600)).unwrap();
        }
        if i % 13 == 0 {
            db.put_with_ttl(&key((i * 3) % 70_000), b"gone", Duration::ZERO).unwrap();
        }
    }
    db.close().unwrap();
    let hints: Vec<String> =
        sim.files(&dir()).into_iter().filter(|n| n.ends_with(".hint")).collect();
    assert_eq!(hints.len(), 1, "{hints:?}");
    let entries = sim.read_file(&path(&hints[0])).unwrap().len() / 20;
    assert!(entries > 65_536, "{entries} hint entries: too few for two threads");
    let with_hint = open_ro(&sim, Options::default());
    assert_eq!(with_hint.recovery_report().hints_used, 1);
    let scanned_sim = sim.fork();
    scanned_sim.delete_file(&path(&hints[0]));
    let scanned = open_ro(&scanned_sim, Options::default());
    assert_eq!(scanned.recovery_report().hints_used, 0);
    assert_eq!(contents(&with_hint), contents(&scanned));
    assert_eq!(with_hint.len(), scanned.len());
    assert_eq!(with_hint.stats().files, scanned.stats().files);
    assert_eq!(with_hint.recovery_report().records, scanned.recovery_report().records);
    let ttl_left = |db: &bitcask_core::Bitcask| {
        (0..70_000).filter(|&i| matches!(db.ttl(&key(i)), Ok(Some(Some(_))))).count()
    };
    assert_eq!(ttl_left(&with_hint), ttl_left(&scanned));
}
