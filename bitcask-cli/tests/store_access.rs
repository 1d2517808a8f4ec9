//! Drives the real `bitcask` binary: opening the store: missing directories, the writer's
//! lock, reads beside a writer, exit codes.

mod common;
use common::*;

#[test]
fn missing_or_absent_directory_is_a_clear_error() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("nowhere");
    let o = run(&missing, &["get", "k"], b"");
    assert_eq!(code(&o), 6);
    assert!(stderr(&o).contains("nowhere"), "{}", stderr(&o));
    let o = bin().args(["get", "k"]).env_remove("BITCASK_DIR").output().unwrap();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--dir"));
    // BITCASK_DIR works as --dir.
    let d = t.path().join("env");
    let o = bin().args(["put", "k", "v"]).env("BITCASK_DIR", &d).output().unwrap();
    assert_eq!(code(&o), 0);
    assert_eq!(ok(&d, &["get", "k"]), "v");
}

#[test]
fn a_store_locked_by_another_process() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    ok(&d, &["put", "k", "v"]);
    // `import` holds the store open while it waits for stdin.
    let mut holder = hold_the_lock(&d);
    let o = run(&d, &["put", "k", "w"], b"");
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    let msg = stderr(&o);
    assert!(msg.contains("locked"), "{msg}");
    // Readers still work.
    assert_eq!(ok(&d, &["get", "k"]), "v");
    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());
    ok(&d, &["put", "k", "w"]);
}

#[test]
fn every_read_command_works_beside_a_writer_without_read_only() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    ok(&d, &["put", "k", "v"]);
    ok(&d, &["put", "session", "x", "--ttl", "1h"]);
    let mut holder = hold_the_lock(&d);
    assert_eq!(ok(&d, &["get", "k"]), "v");
    assert_eq!(ok(&d, &["keys"]), "k\nsession\n");
    assert!(ok(&d, &["scan"]).contains("k\tv"));
    assert!(ok(&d, &["stats"]).contains("keys"));
    assert_eq!(ok(&d, &["export"]).lines().count(), 2);
    let ttl: i64 = ok(&d, &["ttl", "session"]).trim().parse().unwrap();
    assert!(ttl > 3_500_000 && ttl <= 3_600_000, "{ttl}");
    let o = run(&d, &["check"], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // A write is still refused: the lock is the writer's.
    assert_eq!(code(&run(&d, &["put", "k", "w"], b"")), 4);
    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());
}

#[test]
fn reads_never_create_a_store() {
    let t = tempfile::tempdir().unwrap();
    let typo = t.path().join("typo");
    for args in [
        &["get", "a"][..],
        &["keys"],
        &["scan"],
        &["stats"],
        &["export"],
        &["ttl", "a"],
        &["check"],
    ] {
        let o = run(&typo, args, b"");
        assert_eq!(code(&o), 6, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("typo"), "{args:?}: {}", stderr(&o));
        assert!(!typo.exists(), "{args:?} created the store");
    }
    // Only writes create it, and say so once.
    let o = run(&typo, &["put", "a", "1"], b"");
    assert_eq!(code(&o), 0);
    assert!(stderr(&o).contains("created store"), "{}", stderr(&o));
    let o = run(&typo, &["put", "b", "2"], b"");
    assert!(!stderr(&o).contains("created"), "{}", stderr(&o));
}

#[test]
fn exit_codes_follow_the_cause() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    ok(&d, &["put", "k", "v"]);
    let o = run(&d, &["put", "", "v"], b"");
    assert_eq!(code(&o), 2, "empty key: {}", stderr(&o));
    let o = run(&d, &["put", "k", "w", "--ttl", "0"], b"");
    assert_eq!(code(&o), 2, "--ttl 0: {}", stderr(&o));
    assert!(stderr(&o).contains("invalid expire time"), "{}", stderr(&o));
    assert_eq!(ok(&d, &["get", "k"]), "v", "nothing was written");
    assert_eq!(ok(&d, &["ttl", "k"]).trim(), "-1");
    assert_eq!(code(&run(&d, &["ttl", "missing"], b"")), 1);
}
