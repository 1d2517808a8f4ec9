//! Crash-safety suite, test 3: single-bit flips over the first and last 4 KiB of a sealed
//! datafile, the newest datafile and a hint file, plus random flips: never a wrong value,
//! never a panic; a damaged hint falls back to a scan; damage in a sealed file is reported
//! by file and offset. `BITCASK_CRASH_SCALE=n` flips n times as many bits (n ≥ 5: all).

mod common;
use common::workload::{scale, Model};
use common::*;

use bitcask_core::{Error, Options, RecoveryMode};
use bitcask_format::{ScanOutcome, Scanner, FILE_HEADER_LEN};
use bitcask_testkit::SimStorage;

const SEALED: &str = "0000000001000001.data";
const SEALED_HINT: &str = "0000000001000001.hint";
const NEWEST: &str = "0000000002000000.data";

/// A sealed datafile with its hint (keys 0..) and a newest datafile (keys 1000..), each
/// about 8 KiB; every key lives in one file only.
fn store() -> (SimStorage, Model) {
    let sim = SimStorage::new(3);
    let db = open(&sim, small(1 << 20));
    let mut model = Model::new();
    for i in 0..100 {
        let v = vec![i as u8; 40 + i % 50];
        db.put(&key(i), &v).unwrap();
        model.insert(key(i), v);
    }
    db.merge().unwrap(); // seals and rewrites the first file, with a hint
    for i in 1000..1100 {
        let v = vec![i as u8; 40 + i % 50];
        db.put(&key(i), &v).unwrap();
        model.insert(key(i), v);
    }
    drop(db);
    sim.delete_file(&path("0000000002000000.hint")); // the newest file is scanned
    assert_eq!(sim.files(&dir()).iter().filter(|n| n.ends_with(".data")).count(), 2);
    (sim, model)
}

/// Where each key's record lies in the undamaged files: (file, start, end).
type Layout = std::collections::HashMap<Vec<u8>, (&'static str, usize, usize)>;

fn layout(sim: &SimStorage) -> Layout {
    let mut out = Layout::new();
    for file in [SEALED, NEWEST] {
        let bytes = sim.read_file(&path(file)).unwrap();
        let body = &bytes[FILE_HEADER_LEN..];
        let mut scan = Scanner::new(body, FILE_HEADER_LEN as u64, true);
        for r in scan.by_ref() {
            let start = r.offset as usize;
            out.insert(r.record.key.to_vec(), (file, start, start + r.len as usize));
        }
        assert!(matches!(scan.outcome(), ScanOutcome::Clean { .. }), "{file}");
    }
    out
}

/// Opens the flipped store and checks every rule; returns whether open succeeded.
///
/// A key whose record the flip did not touch reads back exactly: the whole store was synced,
/// so no flip is a torn tail, and a skipping open sets aside only the damaged record (or
/// header). The damaged record of a
/// sealed file (whose intact hint is trusted) reads as `Corruption`, never a wrong value.
fn check(
    sim: &SimStorage,
    model: &Model,
    layout: &Layout,
    file: &str,
    byte: usize,
    recovery: RecoveryMode,
) -> bool {
    let opts = Options { recovery, ..Options::default() };
    let db = match try_open(sim, opts) {
        Ok(db) => db,
        Err(Error::Corruption { path: p, offset, .. }) => {
            assert_eq!(
                recovery,
                RecoveryMode::Strict,
                "{file} byte {byte}: skip mode failed to open"
            );
            assert_eq!(p, path(file), "{file} byte {byte}: corruption reported in the wrong file");
            assert!(offset as usize <= byte, "{file} byte {byte}: reported at {offset}");
            // Any datafile: the newest one was synced and closed (a sync point at its end
            // says so), so damage in it is damage at rest, not a torn tail.
            assert!(file != SEALED_HINT, "{file} byte {byte}: this damage must not fail the open");
            return false;
        }
        Err(Error::UnsupportedVersion { path: p, .. }) => {
            // The version is read before anything else (a newer version may change the
            // header), so a flip there reads as a version this build refuses to guess at.
            assert!(file != SEALED_HINT && (4..6).contains(&byte), "{file} byte {byte}");
            assert_eq!(p, path(file));
            return false;
        }
        Err(e) => panic!("{file} byte {byte}: unexpected error {e}"),
    };
    if file == SEALED_HINT {
        assert_eq!(db.recovery_report().hints_rejected, 1, "{file} byte {byte}: hint not rejected");
    }
    let skipping = recovery == RecoveryMode::SkipCorrupt;
    let mut damaged = 0;
    for (k, v) in model {
        let &(in_file, start, end) = &layout[k];
        let touched = in_file == file && (start..end).contains(&byte);
        // Only the damaged record: what follows it was synced.
        let may_be_cut = in_file == file && file == NEWEST && touched;
        let may_be_dropped = in_file == file && skipping && touched;
        match db.get(k) {
            Ok(Some(got)) => assert_eq!(&got, v, "{file} byte {byte}: wrong value"),
            Ok(None) => assert!(
                may_be_cut || may_be_dropped,
                "{file} byte {byte} ({recovery:?}): key {k:?} at {in_file} {start}..{end} lost"
            ),
            Err(Error::Corruption { .. }) if touched && file == SEALED => damaged += 1,
            Err(e) => panic!("{file} byte {byte}: key {k:?} at {in_file} {start}..{end}: {e}"),
        }
    }
    let mut iter_damaged = 0;
    for item in db.iter().unwrap() {
        match item {
            Ok((k, v)) => {
                assert_eq!(model.get(&k), Some(&v), "{file} byte {byte}: phantom or wrong pair")
            }
            Err(Error::Corruption { .. }) => iter_damaged += 1,
            Err(e) => panic!("{file} byte {byte}: iter: {e}"),
        }
    }
    assert_eq!(iter_damaged, damaged, "{file} byte {byte}: iter and get disagree on damage");
    assert!(damaged <= 1, "{file} byte {byte}: one flip damaged {damaged} records");
    true
}

#[test]
fn t3_bit_flip_sweep() {
    let (base, model) = store();
    let layout = layout(&base);
    let stride = (5 / scale()).max(1);
    let mut flips = 0;
    let mut failed_opens = 0;
    let mut x: u64 = 77;
    for file in [SEALED, NEWEST, SEALED_HINT] {
        let bytes = base.read_file(&path(file)).unwrap();
        let n = bytes.len();
        let mut bits: Vec<usize> = (0..(n.min(4096) * 8))
            .chain((n.saturating_sub(4096) * 8)..n * 8)
            .step_by(stride)
            .collect();
        for _ in 0..100 * scale() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bits.push((x % (n as u64 * 8)) as usize);
        }
        bits.sort_unstable();
        bits.dedup();
        for bit in bits {
            let sim = base.fork();
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            sim.write_file(&path(file), &b);
            for recovery in [RecoveryMode::Strict, RecoveryMode::SkipCorrupt] {
                if !check(&sim.fork(), &model, &layout, file, bit / 8, recovery) {
                    failed_opens += 1;
                }
            }
            flips += 1;
        }
    }
    eprintln!("t3: {flips} bit flips, each opened strict and skipping; {failed_opens} strict opens refused");
    assert!(flips > 8000, "{flips}");
}
