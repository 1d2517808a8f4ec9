//! Every truncation and every single-bit flip of sample encodings is detected, and no input
//! makes a decoder panic.

use bitcask_format::*;
use proptest::prelude::*;

fn samples() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let mut b = Vec::new();
    Record::put(b"a key", b"a value of some length").encode(&mut b).unwrap();
    out.push(("record", b.clone()));
    b.clear();
    Record::put_expiring(b"ttl", b"v", 1_700_000_000_000).encode(&mut b).unwrap();
    out.push(("expiring record", b.clone()));
    b.clear();
    Record::put(b"empty", b"").encode(&mut b).unwrap();
    out.push(("empty value", b.clone()));
    b.clear();
    Record::tombstone(b"gone").encode(&mut b).unwrap();
    out.push(("tombstone", b.clone()));
    b.clear();
    encode_batch(
        &[Record::put(b"a", b"1"), Record::tombstone(b"b"), Record::put_expiring(b"c", b"3", 9)],
        &mut b,
    )
    .unwrap();
    out.push(("batch", b.clone()));
    out
}

/// (key, value, expiry, tombstone) of each decoded record.
type Owned = Vec<(Vec<u8>, Vec<u8>, Option<u64>, bool)>;

fn decode_all(buf: &[u8]) -> Result<Owned> {
    let (e, used) = decode_entry(buf)?;
    assert!(used <= buf.len());
    Ok(match e {
        Entry::Record(r) => vec![(r.key.to_vec(), r.value.to_vec(), r.expiry, r.tombstone)],
        Entry::Batch(b) => b
            .records()
            .map(|(_, _, r)| (r.key.to_vec(), r.value.to_vec(), r.expiry, r.tombstone))
            .collect(),
        Entry::SyncPoint { .. } => Vec::new(),
    })
}

#[test]
fn every_truncation_of_a_data_entry_is_reported_as_truncated() {
    for (name, bytes) in samples() {
        for cut in 0..bytes.len() {
            let e = decode_all(&bytes[..cut]).unwrap_err();
            assert!(e.is_truncated(), "{name} cut at {cut}: {e}");
            // The scanner calls it a torn tail at the entry's start.
            let mut s = Scanner::new(&bytes[..cut], 100, true);
            assert_eq!(s.next(), None, "{name} cut at {cut}");
            let expect = if cut == 0 {
                ScanOutcome::Clean { end: 100 }
            } else {
                ScanOutcome::TornTail { offset: 100 }
            };
            assert_eq!(s.outcome(), expect, "{name} cut at {cut}");
        }
    }
}

#[test]
fn every_single_bit_flip_of_a_data_entry_is_detected() {
    for (name, bytes) in samples() {
        let original = decode_all(&bytes).unwrap();
        for bit in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            match decode_all(&b) {
                Err(_) => {}
                Ok(got) => {
                    panic!("{name}: flip of bit {bit} decoded as {got:?} (was {original:?})")
                }
            }
        }
    }
}

fn sample_hint() -> (Vec<u8>, u64) {
    let mut w = HintWriter::new(42);
    w.push(&HintEntry { key: b"alpha", offset: 20, len: 30, expiry: None, tombstone: false })
        .unwrap();
    w.push(&HintEntry { key: b"beta", offset: 50, len: 11, expiry: None, tombstone: true })
        .unwrap();
    w.push(&HintEntry { key: b"gamma", offset: 61, len: 40, expiry: Some(77), tombstone: false })
        .unwrap();
    (w.finish(101), 101)
}

/// (key, offset, len, expiry, tombstone) of each hint entry.
type OwnedHints = Vec<(Vec<u8>, u64, u32, Option<u64>, bool)>;

fn read_hint(bytes: &[u8], data_len: u64) -> Result<OwnedHints> {
    HintReader::new(bytes, 42, data_len)?
        .map(|e| e.map(|e| (e.key.to_vec(), e.offset, e.len, e.expiry, e.tombstone)))
        .collect()
}

#[test]
fn every_truncation_and_bit_flip_of_a_hint_file_is_detected() {
    let (bytes, len) = sample_hint();
    let good = read_hint(&bytes, len).unwrap();
    assert_eq!(good.len(), 3);
    for cut in 0..bytes.len() {
        assert!(read_hint(&bytes[..cut], len).is_err(), "cut at {cut}");
    }
    for bit in 0..bytes.len() * 8 {
        let mut b = bytes.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        if let Ok(got) = read_hint(&b, len) {
            panic!("flip of bit {bit} decoded as {got:?}");
        }
    }
}

#[test]
fn a_hint_pointing_past_its_datafile_is_refused() {
    let (bytes, len) = sample_hint();
    // The datafile is shorter than what the trailer says it covers.
    assert_eq!(HintReader::new(&bytes, 42, len - 1).unwrap_err().kind, ErrorKind::HintOutOfRange);
    // An entry whose record would end past the covered prefix.
    let mut w = HintWriter::new(42);
    w.push(&HintEntry { key: b"k", offset: 20, len: 100, expiry: None, tombstone: false }).unwrap();
    let bytes = w.finish(60);
    let err = HintReader::new(&bytes, 42, 60).unwrap().next().unwrap().unwrap_err();
    assert_eq!(err.kind, ErrorKind::HintOutOfRange);
    assert_eq!(err.offset, FILE_HEADER_LEN as u64);
    // An entry that points into the file header (or before the previous record) cannot
    // even be written.
    let mut w = HintWriter::new(42);
    let e = HintEntry { key: b"key", offset: 0, len: 10, expiry: None, tombstone: false };
    assert_eq!(w.push(&e).unwrap_err().kind, ErrorKind::HintOutOfRange);
    // An entry too short for its key.
    let mut w = HintWriter::new(42);
    w.push(&HintEntry { key: b"key", offset: 20, len: 3, expiry: None, tombstone: false }).unwrap();
    let bytes = w.finish(1000);
    assert_eq!(
        HintReader::new(&bytes, 42, 1000).unwrap().next().unwrap().unwrap_err().kind,
        ErrorKind::HintOutOfRange
    );
    // Entries out of file order are refused by the writer.
    let mut w = HintWriter::new(42);
    w.push(&HintEntry { key: b"a", offset: 40, len: 9, expiry: None, tombstone: false }).unwrap();
    let back = HintEntry { key: b"b", offset: 30, len: 9, expiry: None, tombstone: false };
    assert_eq!(w.push(&back).unwrap_err().kind, ErrorKind::HintOutOfRange);
    // The wrong datafile.
    let (bytes, len) = sample_hint();
    assert_eq!(
        HintReader::new(&bytes, 43, len).unwrap_err().kind,
        ErrorKind::WrongFileId { found: 42 }
    );
}

#[test]
fn headers_reject_wrong_magic_version_and_kind() {
    let mut buf = Vec::new();
    FileHeader::new(FileKind::Data, 7).encode(&mut buf);
    let mut bad = buf.clone();
    bad[0] = b'X';
    assert_eq!(FileHeader::decode(&bad).unwrap_err().kind, ErrorKind::BadMagic);
    // A newer version is refused before its checksum is even looked at.
    let mut newer = buf.clone();
    newer[4..6].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert_eq!(
        FileHeader::decode(&newer).unwrap_err().kind,
        ErrorKind::UnsupportedVersion { found: FORMAT_VERSION + 1 }
    );
    assert_eq!(
        FileHeader::decode_expect(&buf, FileKind::Hint, 7).unwrap_err().kind,
        ErrorKind::WrongFileKind { found: 1 }
    );
    for cut in 0..buf.len() {
        assert!(FileHeader::decode(&buf[..cut]).unwrap_err().is_truncated());
    }
    for bit in 0..buf.len() * 8 {
        let mut b = buf.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        assert!(FileHeader::decode(&b).is_err(), "bit {bit}");
    }
}

#[test]
fn huge_length_fields_are_not_trusted() {
    // A record header claiming a 256 MiB value in a 20-byte input: truncated, no allocation.
    let mut buf = vec![0u8; 4];
    buf.push(0);
    buf.extend_from_slice(&[1]); // key len 1
    buf.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x01]); // value len 2^28
    buf.extend_from_slice(b"k");
    let e = decode_record(&buf).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated { needed: 12 + (1 << 28) });
    // One byte more than the limit is refused outright.
    let mut buf = vec![0u8; 4];
    buf.push(0);
    buf.push(1);
    buf.extend_from_slice(&[0x81, 0x80, 0x80, 0x80, 0x01]);
    assert_eq!(
        decode_record(&buf).unwrap_err().kind,
        ErrorKind::ValueTooLarge { len: (1 << 28) + 1 }
    );
    // A zero-length key (as in a zero-filled tail).
    assert_eq!(decode_record(&[0u8; 16]).unwrap_err().kind, ErrorKind::EmptyKey);
    // A batch claiming more records than its body can hold.
    let frame = [0, 0, 0, 0, FLAG_BATCH, 100, 8, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(decode_entry(&frame).unwrap_err().kind, ErrorKind::BadBatch);
}

#[test]
fn garbage_after_valid_records_is_reported_at_its_offset() {
    let mut file = Vec::new();
    Record::put(b"a", b"1").encode(&mut file).unwrap();
    let good = file.len() as u64;
    file.extend_from_slice(&[0u8; 64]);
    let mut s = Scanner::new(&file, 20, true);
    assert_eq!(s.by_ref().count(), 1);
    match s.outcome() {
        ScanOutcome::Corrupt(e) => {
            assert_eq!(e.offset, 20 + good);
            assert_eq!(e.kind, ErrorKind::EmptyKey);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.outcome().valid_end(), Some(20 + good));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), len in any::<u64>()) {
        let _ = decode_entry(&bytes);
        let _ = decode_record(&bytes);
        let _ = FileHeader::decode(&bytes);
        let _ = decode_hint_entry(&bytes, len / 2, len);
        if let Ok(r) = HintReader::new(&bytes, 0, len) {
            for e in r { let _ = e; }
        }
        let mut s = Scanner::new(&bytes, len / 2, len % 2 == 0);
        for r in s.by_ref() { prop_assert!(r.offset >= len / 2); }
        prop_assert!(s.outcome() != ScanOutcome::Running);
    }
}

#[test]
fn a_batch_member_is_not_an_entry_on_its_own() {
    // Otherwise a scan resynchronizing after a damaged frame would apply part of the batch.
    let mut buf = Vec::new();
    let (_, positions) =
        encode_batch(&[Record::put(b"a", b"1"), Record::put(b"b", b"2")], &mut buf).unwrap();
    for (at, len) in positions {
        let member = &buf[at..at + len];
        assert!(matches!(decode_entry(member).unwrap_err().kind, ErrorKind::BadFlags { .. }));
        // A get reads it by position: that works.
        assert!(decode_record(member).is_ok());
    }
    // Damage the frame (its last byte): a resynchronizing scan finds no record in it.
    let last = buf.len() - 1;
    buf[last] ^= 1;
    let mut found = 0;
    for i in 0..buf.len() {
        found += usize::from(decode_entry(&buf[i..]).is_ok());
    }
    assert_eq!(found, 0);
}
