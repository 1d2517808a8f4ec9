//! Sync points: encoding, decoding, and how the scanner treats them.

use bitcask_format::{
    decode_entry, encode_sync_point, Entry, ErrorKind, Record, ScanOutcome, Scanner,
    FILE_HEADER_LEN, SYNC_POINT_LEN,
};

#[test]
fn a_sync_point_round_trips_and_refuses_any_damage() {
    let mut buf = Vec::new();
    assert_eq!(encode_sync_point(4096, &mut buf), SYNC_POINT_LEN);
    assert_eq!(buf.len(), SYNC_POINT_LEN);
    assert_eq!(decode_entry(&buf).unwrap(), (Entry::SyncPoint { durable_end: 4096 }, 13));
    for cut in 0..buf.len() {
        let e = decode_entry(&buf[..cut]).unwrap_err();
        assert!(e.is_truncated(), "cut at {cut}: {e:?}");
    }
    for bit in 0..buf.len() * 8 {
        let mut bad = buf.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert!(
            !matches!(decode_entry(&bad), Ok((Entry::SyncPoint { durable_end: 4096 }, _))),
            "flip of bit {bit} went unnoticed"
        );
    }
}

#[test]
fn a_sync_point_below_the_file_header_is_refused() {
    let mut buf = Vec::new();
    encode_sync_point(FILE_HEADER_LEN as u64 - 1, &mut buf);
    assert_eq!(decode_entry(&buf).unwrap_err().kind, ErrorKind::BadSyncPoint);
}

#[test]
fn the_scanner_skips_sync_points_and_remembers_the_largest() {
    let base = FILE_HEADER_LEN as u64;
    let mut file = Vec::new();
    Record::put(b"a", b"1").encode(&mut file).unwrap();
    encode_sync_point(base + file.len() as u64, &mut file);
    let first_mark = base + file.len() as u64 - SYNC_POINT_LEN as u64;
    Record::put(b"b", b"2").encode(&mut file).unwrap();
    let second_mark = base + file.len() as u64;
    encode_sync_point(second_mark, &mut file);
    let mut scan = Scanner::new(&file, base, true);
    let keys: Vec<_> = scan.by_ref().map(|r| r.record.key.to_vec()).collect();
    assert_eq!(keys, [b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(scan.durable_mark(), second_mark);
    assert!(first_mark < second_mark);
    assert_eq!(scan.outcome(), ScanOutcome::Clean { end: base + file.len() as u64 });
}

#[test]
fn a_sync_point_vouching_for_bytes_after_itself_is_corrupt() {
    let base = FILE_HEADER_LEN as u64;
    let mut file = Vec::new();
    Record::put(b"a", b"1").encode(&mut file).unwrap();
    let at = base + file.len() as u64;
    encode_sync_point(at + 1, &mut file);
    let mut scan = Scanner::new(&file, base, true);
    assert_eq!(scan.by_ref().count(), 1);
    match scan.outcome() {
        ScanOutcome::Corrupt(e) => assert_eq!((e.kind, e.offset), (ErrorKind::BadSyncPoint, at)),
        other => panic!("expected corruption, got {other:?}"),
    }
    assert_eq!(scan.durable_mark(), 0);
}

#[test]
fn a_long_run_of_sync_points_scans_without_recursion() {
    let base = FILE_HEADER_LEN as u64;
    let mut file = Vec::new();
    for _ in 0..200_000 {
        encode_sync_point(base, &mut file);
    }
    let mut scan = Scanner::new(&file, base, true);
    assert_eq!(scan.by_ref().count(), 0);
    assert_eq!(scan.durable_mark(), base);
    assert_eq!(scan.outcome(), ScanOutcome::Clean { end: base + file.len() as u64 });
}
