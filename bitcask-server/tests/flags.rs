//! The binary's flags and exit codes: protected mode, the shard count, the directory, the
//! log line.

mod common;

use common::{bin, Reply, Server};

#[test]
fn a_public_bind_without_a_password_is_refused_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let o =
        bin().args(["--bind", "0.0.0.0", "--port", "0", "--dir"]).arg(tmp.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("without --requirepass"), "{err}");
    assert!(!tmp.path().join("SHARDS").exists(), "nothing was created");
}

#[test]
fn the_directory_is_created_and_the_shard_count_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/b/data");
    let s = Server::start_in(&dir, &["--shards", "8"]);
    s.raw().cmd(&["SET", "k", "v"]);
    let (code, _) = s.terminate();
    assert_eq!(code, Some(0));
    assert!(dir.join("SHARDS").exists() && dir.join("shard-0007").is_dir());
    // Reopened without --shards it keeps 8; a different count is refused.
    let s = Server::start_in(&dir, &[]);
    assert!(s.raw().cmd(&["INFO", "bitcask"]).text().contains("shards:8"));
    assert_eq!(s.raw().cmd(&["GET", "k"]), Reply::bulk("v"));
    drop(s);
    let o = bin().args(["--port", "0", "--shards", "4", "--dir"]).arg(&dir).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("8 shards; 4 were asked for"));
    let o = bin()
        .args(["--port", "0", "--shards", "3", "--dir"])
        .arg(tmp.path().join("new"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("power of two"));
}

#[test]
fn a_locked_store_and_a_busy_port_fail_with_exit_1() {
    let s = Server::start(&[]);
    let o = bin().args(["--port", "0", "--dir"]).arg(&s.dir).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("locked"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let tmp = tempfile::tempdir().unwrap();
    let o = bin().args(["--port", &s.port.to_string(), "--dir"]).arg(tmp.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("network"));
}

#[test]
fn bad_flags_are_usage_errors() {
    let o = bin().args(["--dir", "x", "--sync", "sometimes"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown sync policy"));
    let o = bin().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    for flag in [
        "--dir",
        "--bind",
        "--port",
        "--requirepass",
        "--sync",
        "--shards",
        "--maxclients",
        "--max-bulk-len",
    ] {
        assert!(help.contains(flag), "{flag} in --help");
    }
}
