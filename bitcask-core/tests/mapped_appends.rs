//! Appends through writable maps of preallocated space (`Options::mmap_writes`): the same
//! bytes as `pwrite` appends, unused space only at the end of the active file, cut exactly
//! by recovery after a kill, by sealing and by close; readers beside the writer see none of
//! it. (Power cuts and kill -9 on this path: `crash_oracle.rs`, `crash_kill9.rs`.)

mod common;
use common::*;

use bitcask_core::{Bitcask, Options};
use bitcask_format::FILE_HEADER_LEN;
use bitcask_testkit::SimStorage;

fn mapped(max_file_size: u64) -> Options {
    Options { mmap_writes: true, ..small(max_file_size) }
}

fn fill(db: &Bitcask, n: usize) {
    for i in 0..n {
        db.put(&key(i), format!("value {i} {}", "x".repeat(i % 90)).as_bytes()).unwrap();
        if i % 10 == 9 {
            db.delete(&key(i - 3)).unwrap();
        }
    }
}

fn active_name(db: &Bitcask) -> (String, u64) {
    let f = db.stats().files.into_iter().find(|f| f.active).unwrap();
    (format!("{}.data", f.file_id), f.size)
}

#[test]
fn mapped_and_pwrite_appends_write_the_same_files() {
    let (a, b) = (SimStorage::new(1), SimStorage::new(1));
    for (sim, mmap_writes) in [(&a, true), (&b, false)] {
        let db = open(sim, Options { mmap_writes, ..small(4096) });
        fill(&db, 300);
        db.close().unwrap();
    }
    assert_eq!(data_files(&a), data_files(&b));
    assert!(data_files(&a).len() > 5, "{:?}", data_files(&a));
    for name in sim_files(&a) {
        assert_eq!(a.read_file(&path(&name)), b.read_file(&path(&name)), "{name}");
    }
}

fn sim_files(sim: &SimStorage) -> Vec<String> {
    sim.files(&dir()).into_iter().filter(|n| n.ends_with(".data") || n.ends_with(".hint")).collect()
}

#[test]
fn only_the_open_active_file_holds_unused_space() {
    let sim = SimStorage::new(2);
    let db = open(&sim, mapped(64 << 10));
    fill(&db, 2000);
    let (active, end) = active_name(&db);
    assert_eq!(active, data_files(&sim).last().unwrap().clone());
    // While open: preallocated past its records (up to max_file_size here).
    assert!(file_len(&sim, &active) as u64 > end, "{} <= {end}", file_len(&sim, &active));
    let stats = db.stats();
    for f in stats.files.iter().filter(|f| !f.active) {
        let name = format!("{}.data", f.file_id);
        assert_eq!(file_len(&sim, &name) as u64, f.size, "sealed {name} keeps no unused space");
    }
    db.close().unwrap();
    let point = bitcask_format::SYNC_POINT_LEN as u64;
    assert_eq!(file_len(&sim, &active) as u64, end + point, "close cuts the unused tail");
    let report = bitcask_core::tools::check_with_storage(&sim, &dir(), |_, _| {}).unwrap();
    assert!(report.is_clean(), "{report:?}");
}

#[test]
fn after_a_kill_recovery_finds_the_end_of_a_preallocated_file_exactly() {
    let sim = SimStorage::new(3);
    let db = open(&sim, mapped(1 << 20));
    fill(&db, 500);
    let want = contents(&db);
    let (active, end) = active_name(&db);
    assert!(file_len(&sim, &active) as u64 > end);
    // A reader beside the writer sees every record and reports no damage.
    let ro = open_ro(&sim, Options::default());
    assert_eq!(contents(&ro), want);
    assert_eq!(ro.recovery_report().truncated, None);
    assert_eq!(ro.recovery_report().bytes_truncated, 0);
    drop(ro);
    // `check` beside the writer: the zeros after the records are not damage.
    let report = bitcask_core::tools::check_with_storage(&sim, &dir(), |_, _| {}).unwrap();
    assert!(report.is_clean(), "{report:?}");
    sim.kill_process();
    drop(db);
    let db = open(&sim, mapped(1 << 20));
    assert_eq!(contents(&db), want);
    assert_eq!(db.recovery_report().truncated, None, "unused space is not a torn tail");
    assert_eq!(file_len(&sim, &active) as u64, end, "cut exactly at the last record");
    // Appends go on from there, through a fresh preallocation.
    db.put(b"after", b"the kill").unwrap();
    assert_eq!(db.get(b"after").unwrap(), Some(b"the kill".to_vec()));
    drop(db);
    assert_eq!(contents(&open(&sim, Options::default())).len(), want.len() + 1);
}

#[test]
fn a_torn_copy_before_the_unused_space_is_cut_and_reported() {
    let sim = SimStorage::new(4);
    let db = open(&sim, mapped(1 << 20));
    fill(&db, 50);
    let want = contents(&db);
    let (active, end) = active_name(&db);
    db.close().unwrap();
    // Close ended the file with a sync point.
    let end = end + bitcask_format::SYNC_POINT_LEN as u64;
    // Half a record after the last one, then zeros: a writer killed mid-copy.
    let mut bytes = sim.read_file(&path(&active)).unwrap();
    let mut rec = Vec::new();
    bitcask_format::Record::put(b"torn", b"never acknowledged").encode(&mut rec).unwrap();
    bytes.extend_from_slice(&rec[..rec.len() / 2]);
    bytes.resize(bytes.len() + 8192, 0);
    sim.write_file(&path(&active), &bytes);
    let db = open(&sim, mapped(1 << 20));
    assert_eq!(contents(&db), want);
    let torn = db.recovery_report().truncated.clone().expect("a torn record is reported");
    assert_eq!(torn.offset, end);
    assert_eq!(file_len(&sim, &active) as u64, end);
    assert!(end > FILE_HEADER_LEN as u64);
}
