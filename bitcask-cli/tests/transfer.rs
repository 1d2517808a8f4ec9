//! Drives the real `bitcask` binary: export, import, scan --json and backup: one schema,
//! exact round trips, copies beside a writer.

use std::path::Path;

mod common;
use common::*;

#[test]
fn export_import_round_trips_binary_data_and_ttls() {
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a");
    let b = t.path().join("b");
    let binary: Vec<u8> = (0..=255u8).rev().collect();
    assert_eq!(code(&run(&a, &["--hex", "put", "0001fe", "-"], b"0aff00")), 0);
    assert_eq!(code(&run(&a, &["put", "bin"], &binary)), 0);
    ok(&a, &["put", "session", "tok", "--ttl", "1h"]);
    ok(&a, &["put", "empty", ""]);
    let dump = t.path().join("dump.jsonl");
    ok(&a, &["export", dump.to_str().unwrap()]);
    let text = std::fs::read_to_string(&dump).unwrap();
    assert_eq!(text.lines().count(), 4);
    assert!(text.lines().any(|l| l.contains("expires_at_ms")));
    let o = run(&b, &["import"], text.as_bytes());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(ok(&a, &["scan", "--base64"]), ok(&b, &["scan", "--base64"]));
    assert_eq!(run(&b, &["get", "bin"], b"").stdout, binary);
    // The TTL came along: the export of the copy has the same expiry.
    let expiry = |dir: &Path| {
        let e = ok(dir, &["export"]);
        e.lines().find(|l| l.contains("expires_at_ms")).unwrap().to_string()
    };
    let (ea, eb) = (expiry(&a), expiry(&b));
    let ms = |l: &str| {
        serde_json::from_str::<serde_json::Value>(l).unwrap()["expires_at_ms"].as_u64().unwrap()
    };
    assert!(ms(&ea).abs_diff(ms(&eb)) < 2000, "{ea} vs {eb}");
    let bad = run(&b, &["import"], b"{\"key\": 5}\n");
    assert_eq!(code(&bad), 2);
    assert!(stderr(&bad).contains("line 1"), "{}", stderr(&bad));
}

#[test]
fn scan_json_export_and_import_share_one_schema_and_round_trip_exactly() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    ok(&d, &["put", "text", "hello world"]);
    ok(&d, &["put", "session", "tok", "--ttl", "1h"]);
    assert_eq!(code(&run(&d, &["--hex", "put", "00ff", "80"], b"")), 0);
    // scan --json piped into import.
    let scanned = ok(&d, &["scan", "--json"]);
    let copy = t.path().join("copy");
    let o = run(&copy, &["import"], scanned.as_bytes());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(ok(&copy, &["get", "text"]), "hello world");
    assert_eq!(ok(&copy, &["--hex", "get", "00ff"]).trim(), "80");
    // export | import gives the same export again, expiry to the millisecond.
    let exported = ok(&d, &["export"]);
    assert!(exported.contains("\"key\":\"text\""), "{exported}");
    assert!(exported.contains("\"key_base64\""), "{exported}");
    let copy2 = t.path().join("copy2");
    assert_eq!(code(&run(&copy2, &["import"], exported.as_bytes())), 0);
    assert_eq!(ok(&copy2, &["export"]), exported);
    // A line it cannot read is refused with its number.
    let bad = format!("{}\n{{\"key\":\"k\"}}\n", exported.lines().next().unwrap());
    let o = run(&t.path().join("copy3"), &["import"], bad.as_bytes());
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
}

#[test]
fn backup_writes_an_openable_copy_beside_a_writer() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    for i in 0..50 {
        ok(&d, &["put", &format!("k{i}"), &"v".repeat(3000)]);
    }
    let mut holder = hold_the_lock(&d);
    let copy = t.path().join("copy");
    let o = run(&d, &["backup", copy.to_str().unwrap()], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("backed up"), "{}", stderr(&o));
    assert_eq!(ok(&copy, &["get", "k49"]), "v".repeat(3000));
    assert_eq!(ok(&copy, &["keys"]).lines().count(), 50);
    let o = run(&d, &["backup", copy.to_str().unwrap()], b"");
    assert_ne!(code(&o), 0, "the destination exists now");
    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());
}
