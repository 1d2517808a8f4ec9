//! Online backup: the copy opens and holds exactly a prefix of the history while
//! a writer goes on; sealed files are linked, not copied; a kill -9 in the middle of a
//! backup leaves the source untouched and no store-like directory behind.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bitcask_core::{Bitcask, Error, Options};

fn key(i: u64) -> Vec<u8> {
    format!("key{i:08}").into_bytes()
}

fn value(i: u64) -> Vec<u8> {
    format!("value-{i}-{}", "x".repeat((i % 64) as usize)).into_bytes()
}

fn opts() -> Options {
    Options { max_file_size: 64 << 10, ..Options::default() }
}

fn contents(db: &Bitcask) -> BTreeMap<Vec<u8>, Vec<u8>> {
    db.iter().unwrap().map(|kv| kv.unwrap()).collect()
}

#[test]
fn a_backup_taken_while_writing_holds_exactly_a_prefix_of_the_history() {
    let t = tempfile::tempdir().unwrap();
    let db = Arc::new(Bitcask::open(t.path().join("src"), opts()).unwrap());
    for i in 0..2000 {
        db.put(&key(i), &value(i)).unwrap();
    }
    let acked = Arc::new(AtomicU64::new(2000));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, acked, stop) = (db.clone(), acked.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = acked.load(Ordering::SeqCst);
            while !stop.load(Ordering::SeqCst) {
                db.put(&key(i), &value(i)).unwrap();
                if i % 3 == 0 {
                    db.delete(&key(i / 2)).unwrap();
                }
                i += 1;
                acked.store(i, Ordering::SeqCst);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    let before = acked.load(Ordering::SeqCst);
    let report = db.backup_to(t.path().join("copy")).unwrap();
    let after = acked.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert!(report.files_linked > 0, "sealed files are linked: {report:?}");
    assert!(report.files_copied >= 1, "the active file is copied: {report:?}");

    let copy = Bitcask::open(t.path().join("copy"), opts()).unwrap();
    let got = contents(&copy);
    // The state after puts 0..n (and the deletes among them) for one n in before..=after+1.
    let state = |n: u64| {
        let mut m = BTreeMap::new();
        for i in 0..n {
            m.insert(key(i), value(i));
            if i >= 2000 && i % 3 == 0 {
                m.remove(&key(i / 2));
            }
        }
        m
    };
    let n = (0..=after + 1).rev().find(|n| got.contains_key(&key(n.saturating_sub(1))));
    let n = n.unwrap_or(0);
    assert!(n >= before, "the copy lacks writes acknowledged before the backup ({n} < {before})");
    // A put and its delete are two writes: the copy may sit between them.
    let between = {
        let mut m = state(n);
        if n > 0 && (n - 1) >= 2000 && (n - 1) % 3 == 0 {
            m.insert(key((n - 1) / 2), value((n - 1) / 2));
        }
        m
    };
    assert!(got == state(n) || got == between, "the copy is no prefix of the history");
    // The copy is a store of its own: writes there do not reach the source.
    copy.put(b"only-in-copy", b"1").unwrap();
    assert_eq!(db.get(b"only-in-copy").unwrap(), None);
}

#[test]
fn backing_up_to_an_existing_directory_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let db = Bitcask::open(t.path().join("src"), opts()).unwrap();
    db.put(b"k", b"v").unwrap();
    std::fs::create_dir(t.path().join("taken")).unwrap();
    let err = db.backup_to(t.path().join("taken")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("taken"), "{err}");
}

/// Length and CRC32 of every file of a store, by name (the LOCK file aside).
fn fingerprint(dir: &Path) -> BTreeMap<String, (usize, u32)> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if name != "LOCK" {
            let bytes = std::fs::read(e.path()).unwrap();
            m.insert(name, (bytes.len(), crc32fast::hash(&bytes)));
        }
    }
    m
}

#[test]
fn a_kill_9_during_a_backup_leaves_the_source_untouched() {
    if let Ok(src) = std::env::var("BITCASK_BACKUP_CHILD") {
        // Child: back up again and again until killed (read-only: the parent may be writing).
        let db = Bitcask::open_read_only(&src, opts()).unwrap();
        let dest = Path::new(&src).with_file_name("dest");
        for round in 0.. {
            let d = dest.join(format!("{}-{round}", std::process::id()));
            std::fs::create_dir_all(&dest).unwrap();
            db.backup_to(&d).unwrap();
            eprintln!("B {round}");
        }
    }
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    let db = Bitcask::open(&src, Options { max_file_size: 4 << 20, ..Options::default() }).unwrap();
    let big = vec![7u8; 4000];
    for i in 0..6000 {
        db.put(&key(i), &big).unwrap();
    }
    let want = contents(&db);
    db.close().unwrap();
    let before = fingerprint(&src);
    let (mut whole, mut interrupted) = (0, 0);
    for kill in 0..5u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_kill_9_during_a_backup_leaves_the_source_untouched",
                "--nocapture",
            ])
            .env("BITCASK_BACKUP_CHILD", &src)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Kill it at some moment after its first backup is done (it then backs up again).
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let first = lines.find(|l| l.as_ref().is_ok_and(|l| l.starts_with("B ")));
        assert!(first.is_some(), "kill {kill}: the child never finished a backup");
        std::thread::sleep(Duration::from_millis(3 + 7 * kill));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(fingerprint(&src), before, "kill {kill}: the source changed");
        let db = Bitcask::open_read_only(&src, opts()).unwrap();
        assert_eq!(contents(&db), want, "kill {kill}");
        drop(db);
        // Every finished backup is whole; an unfinished one is only a *.backup-tmp folder.
        let dest = t.path().join("dest");
        for e in std::fs::read_dir(&dest).into_iter().flatten() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".backup-tmp") {
                interrupted += 1;
            } else {
                let copy = Bitcask::open_read_only(&p, opts()).unwrap();
                assert_eq!(contents(&copy), want, "kill {kill}: backup {name} is not whole");
                whole += 1;
            }
            std::fs::remove_dir_all(&p).unwrap();
        }
    }
    eprintln!("{whole} whole backups checked, {interrupted} interrupted ones found");
    assert!(whole > 0 && interrupted > 0, "{whole} whole, {interrupted} interrupted");
}
