//! Property tests: every encoding decodes back to what was encoded.

use bitcask_format::*;
use proptest::prelude::*;

fn arb_record() -> impl Strategy<Value = (Vec<u8>, Vec<u8>, Option<u64>, bool)> {
    (
        proptest::collection::vec(any::<u8>(), 1..300),
        proptest::collection::vec(any::<u8>(), 0..2000),
        proptest::option::of(any::<u64>()),
        any::<bool>(),
    )
        .prop_map(|(k, v, e, t)| if t { (k, Vec::new(), None, true) } else { (k, v, e, false) })
}

fn as_record(r: &(Vec<u8>, Vec<u8>, Option<u64>, bool)) -> Record<'_> {
    Record { key: &r.0, value: &r.1, expiry: r.2, tombstone: r.3 }
}

proptest! {
    #[test]
    fn record_round_trip(r in arb_record()) {
        let rec = as_record(&r);
        let mut buf = vec![0xAA; 3]; // encoders append
        let len = rec.encode(&mut buf).unwrap();
        prop_assert_eq!(len, rec.encoded_len());
        prop_assert_eq!(buf.len(), 3 + len);
        let (back, used) = decode_record(&buf[3..]).unwrap();
        prop_assert_eq!(used, len);
        prop_assert_eq!(back, rec);
    }

    #[test]
    fn batch_round_trip(rs in proptest::collection::vec(arb_record(), 1..20)) {
        let recs: Vec<Record<'_>> = rs.iter().map(as_record).collect();
        let mut buf = Vec::new();
        let (len, positions) = encode_batch(&recs, &mut buf).unwrap();
        prop_assert_eq!(len, buf.len());
        prop_assert_eq!(batch_frame_len(&recs), len as u64);
        let (entry, used) = decode_entry(&buf).unwrap();
        prop_assert_eq!(used, len);
        let Entry::Batch(b) = entry else { panic!("expected a batch") };
        prop_assert_eq!(b.count as usize, recs.len());
        let got: Vec<_> = b.records().collect();
        prop_assert_eq!(got.len(), recs.len());
        for (i, (at, l, r)) in got.into_iter().enumerate() {
            prop_assert_eq!(r, recs[i]);
            // The positions the encoder reported locate each record on its own.
            let (pos, plen) = positions[i];
            prop_assert_eq!((b.body_offset + at, l), (pos, plen));
            let (alone, _) = decode_record(&buf[pos..pos + plen]).unwrap();
            prop_assert_eq!(alone, recs[i]);
        }
    }

    #[test]
    fn hint_round_trip(
        entries in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 1..100), proptest::option::of(any::<u64>()), any::<bool>(), 0u32..5000),
            0..50),
        file_id in any::<u64>(),
    ) {
        // Lay the described records out one after another, as in a real datafile.
        let mut w = HintWriter::new(file_id);
        let mut offset = FILE_HEADER_LEN as u64;
        let mut expected = Vec::new();
        for (key, expiry, tomb, vlen) in &entries {
            let expiry = if *tomb { None } else { *expiry };
            let vlen = if *tomb { 0 } else { *vlen as usize };
            let len = record_len(key.len(), vlen, expiry.is_some()) as u32;
            let e = HintEntry { key, offset, len, expiry, tombstone: *tomb };
            w.push(&e).unwrap();
            expected.push(e);
            offset += u64::from(len);
        }
        let bytes = w.finish(offset);
        let reader = HintReader::new(&bytes, file_id, offset).unwrap();
        prop_assert_eq!(reader.trailer(), HintTrailer { count: entries.len() as u64, data_len: offset });
        let got: Vec<_> = reader.collect::<Result<_>>().unwrap();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn header_round_trip(id in any::<u64>(), hint in any::<bool>()) {
        let kind = if hint { FileKind::Hint } else { FileKind::Data };
        let mut buf = Vec::new();
        FileHeader::new(kind, id).encode(&mut buf);
        prop_assert_eq!(buf.len(), FILE_HEADER_LEN);
        prop_assert_eq!(FileHeader::decode(&buf).unwrap(), FileHeader::new(kind, id));
        prop_assert_eq!(FileHeader::decode_expect(&buf, kind, id).unwrap().file_id, id);
    }

    #[test]
    fn scanner_finds_every_record_in_any_chunking(
        rs in proptest::collection::vec(arb_record(), 1..30),
        chunk in 1usize..400,
    ) {
        let mut file = Vec::new();
        let mut expected = Vec::new();
        for (i, r) in rs.iter().enumerate() {
            let at = file.len() as u64;
            if i % 4 == 3 {
                let recs = [as_record(r), Record::tombstone(b"batched")];
                let (_, pos) = encode_batch(&recs, &mut file).unwrap();
                expected.push((at + pos[0].0 as u64, recs[0].key.to_vec()));
                expected.push((at + pos[1].0 as u64, b"batched".to_vec()));
            } else {
                as_record(r).encode(&mut file).unwrap();
                expected.push((at, r.0.clone()));
            }
        }
        // Scan the file in chunks of `chunk` bytes, growing the buffer when an entry needs it,
        // as the engine does.
        let mut got = Vec::new();
        let mut start = 0usize;
        let mut want = chunk;
        loop {
            let end = (start + want).min(file.len());
            let at_eof = end == file.len();
            let mut s = Scanner::new(&file[start..end], start as u64, at_eof);
            for r in s.by_ref() {
                got.push((r.offset, r.record.key.to_vec()));
            }
            match s.outcome() {
                ScanOutcome::Clean { end } => { prop_assert_eq!(end, file.len() as u64); break; }
                ScanOutcome::NeedMore { offset, needed } => {
                    want = chunk.max(needed as usize).max(end - offset as usize + 1);
                    start = offset as usize;
                }
                other => prop_assert!(false, "unexpected outcome {:?}", other),
            }
        }
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn header_for_a_16_byte_key_and_100_byte_value_is_small() {
    let key = [7u8; 16];
    let value = [9u8; 100];
    let len = Record::put(&key, &value).encoded_len();
    assert_eq!(len - 116, 7, "record header bytes");
    assert!(Record::put_expiring(&key, &value, 1).encoded_len() - 116 <= 16);
}

#[test]
fn a_hint_entry_for_a_16_byte_key_is_20_bytes() {
    let key = [7u8; 16];
    let mut w = HintWriter::new(1);
    let empty = w.clone().finish(20).len();
    w.push(&HintEntry { key: &key, offset: 20, len: 123, expiry: None, tombstone: false }).unwrap();
    assert_eq!(w.finish(143).len() - empty, 20);
}

#[test]
fn limits_are_enforced_by_the_encoder_and_nothing_is_appended() {
    let big_key = vec![1u8; MAX_KEY_LEN + 1];
    let ok_key = vec![1u8; MAX_KEY_LEN];
    let mut out = Vec::new();
    assert_eq!(
        Record::put(&big_key, b"").encode(&mut out).unwrap_err().kind,
        ErrorKind::KeyTooLarge { len: MAX_KEY_LEN as u64 + 1 }
    );
    assert_eq!(Record::put(b"", b"v").encode(&mut out).unwrap_err().kind, ErrorKind::EmptyKey);
    assert!(out.is_empty());
    let n = Record::put(&ok_key, b"").encode(&mut out).unwrap();
    assert_eq!(decode_record(&out).unwrap().1, n);

    let big_value = vec![0u8; MAX_VALUE_LEN + 1];
    out.clear();
    assert_eq!(
        Record::put(b"k", &big_value).encode(&mut out).unwrap_err().kind,
        ErrorKind::ValueTooLarge { len: MAX_VALUE_LEN as u64 + 1 }
    );
    assert!(out.is_empty());
    assert_eq!(encode_batch(&[], &mut out).unwrap_err().kind, ErrorKind::BadBatch);
    assert_eq!(
        encode_batch(&[Record::put(b"a", b"1"), Record::put(b"", b"2")], &mut out)
            .unwrap_err()
            .kind,
        ErrorKind::EmptyKey
    );
    assert!(out.is_empty());
}

#[test]
fn a_value_shaped_like_a_tombstone_stays_a_value() {
    // Tombstones are a flag, so any value (empty, or bytes that look special)
    // is stored as given.
    for value in [&b""[..], b"__tombstone__", &[0u8; 8], &[0xff; 4]] {
        let mut buf = Vec::new();
        Record::put(b"k", value).encode(&mut buf).unwrap();
        let (r, _) = decode_record(&buf).unwrap();
        assert!(!r.tombstone);
        assert_eq!(r.value, value);
    }
}
