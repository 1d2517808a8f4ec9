//! Files a store did not write, or wrote in an older format: another store's hint file is
//! ignored (the datafile is scanned, never shortened), open removes only temporary files of
//! its own names, and a store of format version 1 opens and carries on in new files.

mod common;
use common::*;

use bitcask_core::Options;
use bitcask_format::{FileHeader, FileKind, FILE_HEADER_LEN};
use bitcask_testkit::SimStorage;

fn filled(seed: u64, prefix: &str, n: usize) -> SimStorage {
    let sim = SimStorage::new(seed);
    let db = open(&sim, Options::default());
    for i in 0..n {
        db.put(format!("{prefix}{i}").as_bytes(), format!("{prefix}-value-{i}").as_bytes())
            .unwrap();
    }
    db.close().unwrap();
    sim
}

#[test]
fn a_hint_of_another_store_is_ignored_and_never_shortens_the_datafile() {
    let ours = filled(1, "ours", 200);
    let theirs = filled(2, "theirs", 20);
    let data = data_files(&ours).pop().unwrap();
    let hint = data.replace(".data", ".hint");
    assert_eq!(data_files(&theirs).pop().unwrap(), data, "both stores use the same file id");
    let len = file_len(&ours, &data);
    ours.write_file(&path(&hint), &theirs.read_file(&path(&hint)).unwrap());

    let db = open(&ours, Options::default());
    let report = db.recovery_report().clone();
    assert_eq!(report.hints_used, 0);
    assert_eq!(report.foreign_hints.len(), 1, "{report:?}");
    assert!(report.warnings().iter().any(|w| w.contains("does not describe")), "{report:?}");
    assert_eq!(db.len(), 200);
    for i in 0..200 {
        let v = db.get(format!("ours{i}").as_bytes()).unwrap();
        assert_eq!(v, Some(format!("ours-value-{i}").into_bytes()));
    }
    assert_eq!(db.get(b"theirs0").unwrap(), None);
    assert!(file_len(&ours, &data) >= len, "the datafile was shortened");
    db.close().unwrap();
    // The next open uses the hint written for the datafile itself.
    let db = open(&ours, Options::default());
    assert_eq!((db.recovery_report().hints_used, db.len()), (1, 200));
}

#[test]
fn open_removes_only_temporary_files_of_its_own_names() {
    let sim = filled(3, "k", 10);
    let leftover = "00000000ff000000.data.tmp";
    for name in ["notes.tmp", "SHARDS.tmp", "backup.data.tmp", leftover] {
        sim.write_file(&path(name), b"someone's bytes");
    }
    let db = open(&sim, Options::default());
    assert_eq!(db.recovery_report().temp_files_removed, 1);
    let names = sim.files(&dir());
    for kept in ["notes.tmp", "SHARDS.tmp", "backup.data.tmp"] {
        assert!(names.iter().any(|n| n == kept), "{kept} was removed: {names:?}");
    }
    assert!(!names.iter().any(|n| n == leftover), "{names:?}");
}

#[test]
fn a_store_of_format_version_1_opens_and_writes_to_a_new_file() {
    let sim = filled(4, "old", 50);
    let files = data_files(&sim);
    for name in &files {
        let mut bytes = sim.read_file(&path(name)).unwrap();
        let id = FileHeader::decode(&bytes).unwrap().file_id;
        let mut head = Vec::new();
        FileHeader { kind: FileKind::Data, version: 1, file_id: id }.encode(&mut head);
        bytes[..FILE_HEADER_LEN].copy_from_slice(&head);
        sim.write_file(&path(name), &bytes);
    }
    let db = open(&sim, Options::default());
    assert_eq!(db.len(), 50);
    db.put(b"new", b"value").unwrap();
    db.close().unwrap();
    let now = data_files(&sim);
    assert_eq!(now.len(), files.len() + 1, "{now:?}");
    let newest = sim.read_file(&path(now.last().unwrap())).unwrap();
    assert_eq!(FileHeader::decode(&newest).unwrap().version, bitcask_format::FORMAT_VERSION);
    let old = sim.read_file(&path(&files[files.len() - 1])).unwrap();
    assert_eq!(FileHeader::decode(&old).unwrap().version, 1, "an old file was rewritten");
    let db = open(&sim, Options::default());
    assert_eq!(db.len(), 51);
    assert_eq!(db.get(b"old7").unwrap(), Some(b"old-value-7".to_vec()));
}
