//! Crash-safety suite, test 3: single-bit flips over the first and last 4 KiB of a sealed
//! datafile, the newest datafile and a hint file, plus random flips: never a wrong value,
//! never a panic; a damaged hint falls back to a scan; damage in a sealed file is reported
//! by file and offset. `BITCASK_CRASH_SCALE=n` flips n times as many bits (n ≥ 5: all).

mod common;
use common::workload::{scale, Model};
use common::*;

use bitcask_core::{Error, Options, RecoveryMode, SimStorage};

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

/// Opens the flipped store and checks every rule; returns whether open succeeded.
fn check(sim: &SimStorage, model: &Model, file: &str, byte: usize, recovery: RecoveryMode) -> bool {
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
            // A sealed file's records, or any datafile's header (a damaged header of the
            // newest file is not a torn tail: the header is synced before any record).
            assert!(
                file == SEALED || byte < 20,
                "{file} byte {byte}: this damage must not fail the open"
            );
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
    for (k, v) in model {
        match db.get(k) {
            Ok(Some(got)) => assert_eq!(&got, v, "{file} byte {byte}: wrong value"),
            Ok(None) => assert!(
                file == NEWEST || recovery == RecoveryMode::SkipCorrupt || file == SEALED,
                "{file} byte {byte}: key lost"
            ),
            Err(Error::Corruption { .. }) => {
                assert_eq!(file, SEALED, "{file} byte {byte}: corrupt read")
            }
            Err(e) => panic!("{file} byte {byte}: {e}"),
        }
    }
    for (k, v) in db.iter().unwrap().flatten() {
        assert_eq!(model.get(&k), Some(&v), "{file} byte {byte}: phantom or wrong pair");
    }
    true
}

#[test]
fn t3_bit_flip_sweep() {
    let (base, model) = store();
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
                if !check(&sim.fork(), &model, file, bit / 8, recovery) {
                    failed_opens += 1;
                }
            }
            flips += 1;
        }
    }
    eprintln!("t3: {flips} bit flips, each opened strict and skipping; {failed_opens} strict opens refused");
    assert!(flips > 8000, "{flips}");
}
