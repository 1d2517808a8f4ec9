//! One writer per directory, enforced by an OS advisory lock that dies with its process,
//! and bounded file descriptors.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use bitcask_core::{Bitcask, Error, Options};

#[test]
fn a_second_writer_in_the_same_process_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let db = Bitcask::open(t.path(), Options::default()).unwrap();
    match Bitcask::open(t.path(), Options::default()) {
        Err(Error::Locked { path }) => assert_eq!(path, t.path()),
        other => panic!("expected Locked, got {other:?}"),
    }
    // Readers are welcome.
    db.put(b"k", b"v").unwrap();
    let ro = Bitcask::open_read_only(t.path(), Options::default()).unwrap();
    assert_eq!(ro.get(b"k").unwrap(), Some(b"v".to_vec()));
    drop(db);
    Bitcask::open(t.path(), Options::default()).unwrap();
}

#[test]
fn a_leftover_lock_file_does_not_block() {
    // An empty LOCK file (or one with a stale PID in it) means nothing.
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("LOCK"), b"12345\n").unwrap();
    Bitcask::open(t.path(), Options::default()).unwrap();
}

/// Child side of the cross-process test (the same test, run with the env var set): holds
/// the store open until stdin closes.
fn lock_holder(dir: &str) {
    let db = Bitcask::open(dir, Options::default()).unwrap();
    db.put(b"child", b"was here").unwrap();
    println!("LOCKED");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[test]
fn the_lock_is_held_across_processes_and_dies_with_its_holder() {
    if let Ok(dir) = std::env::var("BITCASK_LOCK_CHILD_DIR") {
        return lock_holder(&dir);
    }
    let t = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_lock_is_held_across_processes_and_dies_with_its_holder",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("BITCASK_LOCK_CHILD_DIR", t.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("LOCKED") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "child exited early");
    }
    assert!(matches!(Bitcask::open(t.path(), Options::default()), Err(Error::Locked { .. })));
    let ro = Bitcask::open_read_only(t.path(), Options::default()).unwrap();
    assert_eq!(ro.get(b"child").unwrap(), Some(b"was here".to_vec()));
    // kill -9: no chance to clean up; the OS drops the lock.
    child.kill().unwrap();
    child.wait().unwrap();
    let db = Bitcask::open(t.path(), Options::default()).unwrap();
    assert_eq!(db.get(b"child").unwrap(), Some(b"was here".to_vec()));
}

fn open_fds() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn file_descriptors_stay_bounded_and_deleted_files_are_released() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().to_string_lossy().into_owned();
    let db =
        Bitcask::open(t.path(), Options { max_file_size: 1024, ..Options::default() }).unwrap();
    for round in 0..20u8 {
        for i in 0..100u32 {
            db.put(&i.to_le_bytes(), &[round; 40]).unwrap();
        }
        db.merge().unwrap();
        // Reads from many threads share the handles.
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for i in 0..100u32 {
                        db.get(&i.to_le_bytes()).unwrap().unwrap();
                    }
                });
            }
        });
    }
    let ours: Vec<String> = open_fds().into_iter().filter(|p| p.starts_with(&dir)).collect();
    let datafiles = std::fs::read_dir(t.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "data"))
        .count();
    assert!(ours.iter().all(|p| !p.ends_with("(deleted)")), "handles to deleted files: {ours:?}");
    // One handle per datafile, plus the lock.
    assert!(ours.len() <= datafiles + 1, "{} fds for {datafiles} datafiles: {ours:?}", ours.len());
    drop(db);
    assert!(open_fds().iter().all(|p| !p.starts_with(&dir)), "close leaves no handle open");
}
