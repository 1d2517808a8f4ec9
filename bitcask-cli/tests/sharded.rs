//! Drives the real `bitcask` binary on a sharded store, as `bitcask-server` writes one:
//! every command reads, checks, backs up and exports it, beside a running writer too, and
//! a write while the writer holds it is refused (exit code 4).

mod common;
use common::*;

use bitcask_core::{Options, ShardedBitcask, Store};

/// A 4-shard store of 1,000 keys, as a server leaves it.
fn server_store(d: &std::path::Path) {
    let s = Store::Sharded(ShardedBitcask::open(d, Options::default(), Some(4)).unwrap());
    for i in 0..1000 {
        s.put(format!("key:{i}").as_bytes(), format!("value-{i}").as_bytes()).unwrap();
    }
    s.close().unwrap();
}

#[test]
fn every_command_works_on_a_servers_store() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("server");
    server_store(&d);
    assert_eq!(ok(&d, &["get", "key:7"]), "value-7");
    let keys = ok(&d, &["keys"]);
    assert_eq!(keys.lines().count(), 1000);
    let mut sorted: Vec<&str> = keys.lines().collect();
    sorted.sort();
    assert_eq!(keys.lines().collect::<Vec<_>>(), sorted, "keys come in order across shards");
    assert!(ok(&d, &["stats"]).contains("keys          1000"));
    assert_eq!(ok(&d, &["export"]).lines().count(), 1000);
    let o = run(&d, &["check"], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("ok:"), "{}", stderr(&o));
    // Writes land in the server's shards, not in a second store beside them.
    ok(&d, &["put", "new", "value"]);
    assert!(!d.join("LOCK").exists() && !d.join("0000000001000000.data").exists());
    // An import keeps each batch in one shard.
    let lines: String =
        (0..2500).map(|i| format!("{{\"key\":\"imported:{i}\",\"value\":\"v\"}}\n")).collect();
    assert_eq!(code(&run(&d, &["import"], lines.as_bytes())), 0);
    let s = Store::Sharded(ShardedBitcask::open(&d, Options::default(), None).unwrap());
    assert_eq!(s.len(), 3501);
    assert_eq!(s.get(b"new").unwrap(), Some(b"value".to_vec()));
    s.close().unwrap();
    assert_eq!(code(&run(&d, &["delete", "new"], b"")), 0);
    let o = run(&d, &["merge"], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn a_servers_store_is_backed_up_and_read_beside_its_writer_and_writes_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("server");
    server_store(&d);
    let mut holder = hold_the_lock(&d);
    assert_eq!(ok(&d, &["get", "key:999"]), "value-999");
    assert_eq!(ok(&d, &["keys"]).lines().count(), 1000);
    let o = run(&d, &["check"], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let copy = t.path().join("copy");
    let o = run(&d, &["backup", copy.to_str().unwrap()], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // A write while the writer holds the store: refused, exit code 4.
    let o = run(&d, &["put", "k", "v"], b"");
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());
    // The copy is a whole sharded store.
    let b = Store::open_read_only(&copy, Options::default()).unwrap();
    assert_eq!((b.shard_count(), b.len()), (4, 1000));
    assert_eq!(b.get(b"key:123").unwrap(), Some(b"value-123".to_vec()));
    assert_eq!(ok(&copy, &["get", "key:5"]), "value-5");
}

#[test]
fn repair_works_shard_by_shard() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("server");
    server_store(&d);
    // Damage a record of one shard's datafile (its hint set aside, so the check scans).
    let shard = d.join("shard-0002");
    let data = std::fs::read_dir(&shard)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "data"))
        .unwrap();
    let _ = std::fs::remove_file(data.with_extension("hint"));
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[40] ^= 0x01;
    std::fs::write(&data, &bytes).unwrap();
    let o = run(&d, &["check"], b"");
    assert_ne!(code(&o), 0);
    assert!(String::from_utf8_lossy(&o.stdout).contains("shard-0002"), "{o:?}");
    let o = run(&d, &["repair", "--yes"], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(code(&run(&d, &["check"], b"")), 0);
    let n = ok(&d, &["keys"]).lines().count();
    assert!((998..1000).contains(&n), "{n} keys after losing one record");
}
