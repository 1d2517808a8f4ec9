#![no_main]
//! Structured records, batches and hint entries: encoding then decoding gives them back.

use arbitrary::Arbitrary;
use bitcask_format::{
    decode_entry, decode_record, encode_batch, Entry, HintReader, HintWriter, Record,
    FILE_HEADER_LEN,
};

#[derive(Debug, Arbitrary)]
struct R {
    key: Vec<u8>,
    value: Vec<u8>,
    expiry: Option<u64>,
    tombstone: bool,
}

impl R {
    fn record(&self) -> Record<'_> {
        if self.tombstone {
            Record::tombstone(&self.key)
        } else {
            Record { key: &self.key, value: &self.value, expiry: self.expiry, tombstone: false }
        }
    }
}

libfuzzer_sys::fuzz_target!(|input: (Vec<R>, u64)| {
    let (rs, file_id) = input;
    let recs: Vec<Record<'_>> = rs.iter().map(R::record).collect();
    for r in &recs {
        let mut buf = Vec::new();
        match r.encode(&mut buf) {
            Ok(len) => {
                assert_eq!(len, buf.len());
                assert_eq!(len, r.encoded_len());
                assert_eq!(decode_record(&buf).unwrap(), (*r, len));
            }
            Err(_) => {
                assert!(buf.is_empty());
                assert!(r.key.is_empty() || r.key.len() > bitcask_format::MAX_KEY_LEN);
            }
        }
    }
    let mut buf = Vec::new();
    if let Ok((len, positions)) = encode_batch(&recs, &mut buf) {
        let (entry, used) = decode_entry(&buf).unwrap();
        assert_eq!(used, len);
        let Entry::Batch(b) = entry else { panic!("not a batch") };
        let got: Vec<Record<'_>> = b.records().map(|(_, _, r)| r).collect();
        assert_eq!(got, recs);
        for ((at, l), r) in positions.iter().zip(&recs) {
            assert_eq!(decode_record(&buf[*at..*at + *l]).unwrap().0, *r);
        }
        // The same records as a hint file.
        let mut w = HintWriter::new(file_id);
        let base = FILE_HEADER_LEN as u64;
        for ((at, l), r) in positions.iter().zip(&recs) {
            let e = bitcask_format::HintEntry {
                key: r.key,
                offset: base + *at as u64,
                len: *l as u32,
                expiry: r.expiry,
                tombstone: r.tombstone,
            };
            w.push(&e).unwrap();
        }
        let data_len = base + len as u64;
        let hint = w.finish(data_len);
        let back: Vec<_> =
            HintReader::new(&hint, file_id, data_len).unwrap().map(|e| e.unwrap()).collect();
        assert_eq!(back.len(), recs.len());
        for (e, r) in back.iter().zip(&recs) {
            assert_eq!((e.key, e.expiry, e.tombstone), (r.key, r.expiry, r.tombstone));
        }
    }
});
