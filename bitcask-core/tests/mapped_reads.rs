//! Mapped reads: gets read through maps of the datafiles by default, the
//! simulated disk models those maps (so the crash suite reads through them), and
//! `Options::mmap_reads = false` puts every read on `pread`, where a file truncated behind
//! the store's back is an error, not a `SIGBUS`.

mod common;
use common::*;

use bitcask_core::{Bitcask, Error, Options};
use bitcask_testkit::SimStorage;

fn fill(db: &Bitcask) {
    for i in 0..100 {
        db.put(&key(i), &[i as u8; 40]).unwrap();
    }
}

fn read_all(db: &Bitcask) {
    for i in 0..100 {
        assert_eq!(db.get(&key(i)).unwrap(), Some(vec![i as u8; 40]));
    }
}

#[test]
fn gets_read_through_maps_of_sealed_and_active_files() {
    let sim = SimStorage::new(1);
    let db = open(&sim, small(1024));
    fill(&db);
    drop(db);
    // After reopen the sealed files and the active file's recovered records are mapped.
    let db = open(&sim, small(1024));
    let before = sim.mapped_reads();
    read_all(&db);
    // Two mapped reads per get: the key check of the slot picked by hash tag, the value.
    assert_eq!(sim.mapped_reads() - before, 200, "every get went through a map");
    // Records appended after the active file was mapped are read through the map too.
    db.put(b"fresh", b"value").unwrap();
    let before = sim.mapped_reads();
    assert_eq!(db.get(b"fresh").unwrap(), Some(b"value".to_vec()));
    assert_eq!(sim.mapped_reads() - before, 2);
}

#[test]
fn with_mmap_reads_off_no_read_goes_through_a_map() {
    let sim = SimStorage::new(2);
    let opts = Options { mmap_reads: false, ..small(1024) };
    let db = open(&sim, opts.clone());
    fill(&db);
    drop(db);
    let db = open(&sim, opts);
    read_all(&db);
    db.merge().unwrap();
    read_all(&db);
    assert_eq!(sim.mapped_reads(), 0);
}

#[test]
fn without_maps_a_datafile_truncated_from_outside_is_an_error() {
    let t = tempfile::tempdir().unwrap();
    let opts = Options { mmap_reads: false, ..small(1024) };
    let db = Bitcask::open(t.path(), opts).unwrap();
    fill(&db);
    // Cut every sealed datafile to its header behind the store's back.
    let active = db.stats().files.iter().find(|f| f.active).map(|f| f.file_id).unwrap();
    for e in std::fs::read_dir(t.path()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        if name.ends_with(".data") && !name.starts_with(&active.to_string()) {
            std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(20).unwrap();
        }
    }
    let err = db.get(&key(0)).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    // The process lives on and the rest of the store still works.
    db.put(b"k", b"v").unwrap();
    assert_eq!(db.get(b"k").unwrap(), Some(b"v".to_vec()));
}
