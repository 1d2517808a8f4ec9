//! Crash-safety suite, tests 1 and 2: the newest datafile cut at every byte offset of its
//! last 64 KiB, and garbage after its last record. `BITCASK_CRASH_SCALE=n` sweeps n times
//! as finely (n ≥ 4: every offset).

mod common;
use common::workload::{model_of, scale};
use common::*;

use bitcask_core::Options;
use bitcask_format::{record_len, FILE_HEADER_LEN};
use bitcask_testkit::SimStorage;

const NEWEST: &str = "0000000002000000.data";

/// (end offset, key, value) of each record of the newest datafile.
type Ends = Vec<(usize, Vec<u8>, Vec<u8>)>;

/// A store whose newest datafile holds about 80 KiB of records of varied sizes.
fn store() -> (SimStorage, Ends) {
    let sim = SimStorage::new(1);
    let db = open(&sim, small(100 << 10));
    // A sealed (merged) first generation, so the newest file is generation 2.
    for i in 0..40 {
        db.put(&key(100_000 + i), &[1u8; 2000]).unwrap();
    }
    db.merge().unwrap();
    let mut ends = Vec::new();
    let mut at = FILE_HEADER_LEN;
    let mut i = 0;
    while at < 80 << 10 {
        let v = vec![(i % 251) as u8; (i * 37) % 700];
        db.put(&key(i), &v).unwrap();
        at += record_len(8, v.len(), false);
        ends.push((at, key(i), v));
        i += 1;
    }
    drop(db);
    sim.delete_file(&path("0000000002000000.hint"));
    // Close ends the file with a sync point.
    assert_eq!(file_len(&sim, NEWEST), at + bitcask_format::SYNC_POINT_LEN);
    (sim, ends)
}

#[test]
fn t1_truncation_sweep_over_the_last_64_kib() {
    let (base, ends) = store();
    let bytes = base.read_file(&path(NEWEST)).unwrap();
    let len = bytes.len();
    let sealed = model_of(&open(&base.fork(), Options::default()))
        .into_iter()
        .filter(|(k, _)| k.as_slice() >= key(100_000).as_slice())
        .count();
    // Every offset near record boundaries, and a stride elsewhere (every offset when scaled).
    let stride = (4 / scale()).max(1);
    let mut cuts = 0;
    for cut in (len - (64 << 10))..len {
        let near_boundary = ends.iter().any(|(e, _, _)| e.abs_diff(cut) <= 16);
        if !near_boundary && cut % stride != 0 {
            continue;
        }
        let sim = base.fork();
        sim.write_file(&path(NEWEST), &bytes[..cut]);
        let db = open(&sim, small(100 << 10));
        let whole: Vec<_> = ends.iter().filter(|(e, _, _)| *e <= cut).collect();
        assert_eq!(db.len(), whole.len() + sealed, "cut at {cut}");
        let valid_end = whole.last().map_or(FILE_HEADER_LEN, |(e, _, _)| *e);
        // A torn tail of zeros is indistinguishable from unused (preallocated) space: cut
        // all the same, but not reported as damage.
        let torn = if bitcask_format::is_unused_tail(&bytes[valid_end..cut]) {
            0
        } else {
            cut - valid_end
        };
        assert_eq!(db.recovery_report().bytes_truncated as usize, torn, "cut at {cut}");
        if let Some((_, k, v)) = whole.last() {
            assert_eq!(db.get(k).unwrap().as_ref(), Some(v), "cut at {cut}");
        }
        if let Some((_, k, _)) = ends.iter().find(|(e, _, _)| *e > cut) {
            assert_eq!(db.get(k).unwrap(), None, "cut at {cut}: a partial record was loaded");
        }
        db.put(b"next", b"put").unwrap();
        drop(db);
        let db = open(&sim, small(100 << 10));
        assert_eq!(db.len(), whole.len() + sealed + 1, "cut at {cut}, after reopen");
        cuts += 1;
    }
    eprintln!("t1: {cuts} cut offsets checked");
    assert!(cuts > 16_000, "{cuts}");
}

#[test]
fn t2_garbage_tails_leave_no_phantom_records() {
    let (base, ends) = store();
    let bytes = base.read_file(&path(NEWEST)).unwrap();
    let expected = model_of(&open(&base.fork(), Options::default()));
    // A valid record that must not be resurrected from behind garbage.
    let mut phantom = Vec::new();
    bitcask_format::Record::put(b"phantom", b"must not appear").encode(&mut phantom).unwrap();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut cases = 0;
    for round in 0..60 * scale() {
        let n = 1 + (rnd() % 9000) as usize;
        let mut tail: Vec<u8> = match round % 4 {
            0 => vec![0; n],
            1 => (0..n).map(|_| rnd() as u8).collect(),
            2 => vec![0xff; n],
            _ => {
                // Zeros (a file grown before its data landed), then a valid record.
                let mut t = vec![0; n];
                t.extend_from_slice(&phantom);
                t
            }
        };
        if round % 7 == 0 {
            // Half of a real record first.
            let (_, k, v) = &ends[round % ends.len()];
            let mut r = Vec::new();
            bitcask_format::Record::put(k, v).encode(&mut r).unwrap();
            tail.splice(0..0, r[..r.len() / 2].iter().copied());
        }
        let sim = base.fork();
        let mut b = bytes.clone();
        b.extend_from_slice(&tail);
        sim.write_file(&path(NEWEST), &b);
        let db = open(&sim, Options::default());
        assert_eq!(model_of(&db), expected, "round {round}");
        assert_eq!(db.get(b"phantom").unwrap(), None, "round {round}");
        // Zeros alone are unused (preallocated) space: cut, not reported as damage.
        let torn = if bitcask_format::is_unused_tail(&tail) { 0 } else { tail.len() };
        assert_eq!(db.recovery_report().bytes_truncated as usize, torn, "round {round}");
        assert_eq!(file_len(&sim, NEWEST), bytes.len(), "round {round}: the tail stays cut");
        cases += 1;
    }
    eprintln!("t2: {cases} garbage tails checked");
}
