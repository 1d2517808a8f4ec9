//! Checks run by the fuzz targets (`fuzz/`) and, on committed crash inputs, by ordinary
//! tests. Each takes arbitrary bytes and fails an assertion if a decoder misbehaves: a
//! panic, a length beyond the input, or a result that contradicts itself.

use crate::{
    decode_entry, decode_hint_entry, decode_record, Entry, FileHeader, HintReader, ScanOutcome,
    Scanner,
};

fn u64_prefix(data: &[u8]) -> (u64, &[u8]) {
    match data.split_first_chunk::<8>() {
        Some((n, rest)) => (u64::from_le_bytes(*n), rest),
        None => (0, data),
    }
}

/// Record and entry decoders on arbitrary bytes.
pub fn record_decode(data: &[u8]) {
    let _ = FileHeader::decode(data);
    if let Some(key) = crate::unverified_record_key(data) {
        assert!(!key.is_empty() && key.len() < data.len());
    }
    if let Ok((rec, used)) = decode_record(data) {
        assert!(used <= data.len() && rec.key.len() + rec.value.len() < used);
    }
    if let Ok((entry, used)) = decode_entry(data) {
        assert!(used <= data.len());
        if let Entry::Batch(b) = entry {
            assert_eq!(b.records().count(), b.count as usize);
            let inner: usize = b.records().map(|(_, l, _)| l).sum();
            assert_eq!(inner, b.body.len());
        }
    }
}

/// Hint decoders: the first 8 bytes are the datafile length, the rest the hint bytes.
pub fn hint_decode(data: &[u8]) {
    let (data_len, rest) = u64_prefix(data);
    let prev_end = data_len / 3;
    if let Ok((e, used)) = decode_hint_entry(rest, prev_end, data_len) {
        assert!(used <= rest.len());
        assert!(e.offset >= prev_end && e.offset.saturating_add(u64::from(e.len)) <= data_len);
    }
    let file_id = FileHeader::decode(rest).map_or(0, |h| h.file_id);
    if let Ok(reader) = HintReader::new(rest, file_id, data_len) {
        let covered = reader.trailer().data_len;
        assert!(covered <= data_len);
        let mut prev_end = 0;
        for e in reader.flatten() {
            assert!(e.offset >= prev_end, "hint entries overlap");
            prev_end = e.offset.saturating_add(u64::from(e.len));
            assert!(prev_end <= covered);
        }
    }
}

/// The scanner: the first byte picks a chunk size; scanning in chunks must find exactly the
/// records (and the valid prefix) a whole-input scan finds.
pub fn file_scan(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else { return };
    let mut whole = Scanner::new(body, 0, true);
    let expected: Vec<(u64, u32)> = whole.by_ref().map(|r| (r.offset, r.len)).collect();
    let outcome = whole.outcome();
    assert!(outcome != ScanOutcome::Running);
    let end = outcome.valid_end().unwrap_or(0);
    assert!(end <= body.len() as u64);
    for (o, l) in &expected {
        assert!(o + u64::from(*l) <= end);
    }
    let chunk = usize::from(sel) + 1;
    let mut got = Vec::new();
    let mut start = 0usize;
    let mut want = chunk;
    loop {
        let stop = start.saturating_add(want).min(body.len());
        let slice = body.get(start..stop).unwrap_or_default();
        let mut s = Scanner::new(slice, start as u64, stop == body.len());
        got.extend(s.by_ref().map(|r| (r.offset, r.len)));
        match s.outcome() {
            ScanOutcome::NeedMore { offset, needed } => {
                assert!(offset >= start as u64, "the scan went backwards");
                let offset = offset as usize;
                want = chunk.max(needed.min(body.len() as u64) as usize).max(stop - offset + 1);
                start = offset;
            }
            other => {
                assert_eq!(other, outcome, "chunked and whole scans disagree");
                break;
            }
        }
    }
    assert_eq!(got, expected);
    walk_tiles(body);
}

/// The walk of a whole file: its steps tile the file after the header, in order, each of
/// at least one byte, and a damaged region ends where a valid entry (or the file) starts.
fn walk_tiles(file: &[u8]) {
    let mut at = crate::FILE_HEADER_LEN;
    for step in crate::walk(file, true) {
        let (offset, len) = match step {
            crate::Walked::Entry { offset, len, .. } => (offset, len),
            crate::Walked::Damaged { offset, len, error } => {
                let next = offset + len;
                let resumes =
                    next == file.len() || file.get(next..).is_some_and(|b| decode_entry(b).is_ok());
                assert!(resumes, "a damaged region ends where no entry starts");
                assert!(error.offset >= offset as u64);
                (offset, len)
            }
            crate::Walked::UnusedTail { offset } => (offset, file.len() - offset),
        };
        assert_eq!(offset, at, "the walk skipped or repeated bytes");
        assert!(len > 0);
        at = offset + len;
    }
    assert!(file.len() <= crate::FILE_HEADER_LEN || at == file.len(), "the walk stopped early");
}
