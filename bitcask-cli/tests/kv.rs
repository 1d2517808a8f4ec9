//! Drives the real `bitcask` binary: put, get, delete, keys and scan: values from
//! arguments, stdin and files, encodings, TTLs, and output that cannot break lines.

use std::io::{Read, Write};
use std::process::Stdio;

mod common;
use common::*;

#[test]
fn put_get_delete_and_exit_codes() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    ok(&d, &["put", "greeting", "hello"]);
    assert_eq!(ok(&d, &["get", "greeting"]), "hello");
    let missing = run(&d, &["get", "nope"], b"");
    assert_eq!(code(&missing), 1);
    assert!(stderr(&missing).contains("nope"), "{}", stderr(&missing));
    ok(&d, &["delete", "greeting"]);
    assert_eq!(code(&run(&d, &["delete", "greeting"], b"")), 1);
    assert_eq!(code(&run(&d, &["get", "greeting"], b"")), 1);
}

#[test]
fn values_from_stdin() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    let binary: Vec<u8> = (0..=255u8).collect();
    assert_eq!(code(&run(&d, &["put", "bin"], &binary)), 0);
    assert_eq!(run(&d, &["get", "bin"], b"").stdout, binary);
    assert_eq!(code(&run(&d, &["put", "dash", "-"], b"from a pipe")), 0);
    assert_eq!(ok(&d, &["get", "dash"]), "from a pipe");
}

#[test]
fn ttl_expires() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    ok(&d, &["put", "brief", "v", "--ttl", "100ms"]);
    ok(&d, &["put", "long", "v", "--ttl", "1h"]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(code(&run(&d, &["get", "brief"], b"")), 1);
    assert_eq!(ok(&d, &["get", "long"]), "v");
    assert_eq!(code(&run(&d, &["put", "x", "v", "--ttl", "soon"], b"")), 2);
}

#[test]
fn keys_and_scan_with_prefix_limit_and_json() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    for k in ["user:2", "user:1", "item:1", "user:3"] {
        ok(&d, &["put", k, &format!("v-{k}")]);
    }
    assert_eq!(ok(&d, &["keys"]), "item:1\nuser:1\nuser:2\nuser:3\n");
    assert_eq!(ok(&d, &["keys", "--prefix", "user:", "--limit", "2"]), "user:1\nuser:2\n");
    assert_eq!(ok(&d, &["scan", "--prefix", "item"]), "item:1\tv-item:1\n");
    let json = ok(&d, &["scan", "--json", "--limit", "1"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["key"], "item:1");
    assert_eq!(v["value"], "v-item:1");
}

#[test]
fn binary_keys_in_hex_and_base64() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    ok(&d, &["--hex", "put", "00ff10", "deadbeef"]);
    assert_eq!(ok(&d, &["--hex", "get", "00ff10"]), "deadbeef\n");
    assert_eq!(ok(&d, &["--base64", "get", "AP8Q"]), "3q2+7w==\n");
    assert_eq!(ok(&d, &["--hex", "keys"]), "00ff10\n");
    let bad = run(&d, &["--hex", "get", "zz"], b"");
    assert_eq!(code(&bad), 2);
    assert!(stderr(&bad).contains("hex"));
    let json = ok(&d, &["scan", "--json"]);
    assert!(json.contains("\"key_base64\":\"AP8Q\""), "{json}");
}

#[test]
fn keys_into_a_closed_pipe_exits_quietly() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    let mut dump = String::new();
    for i in 0..50_000 {
        dump.push_str(&format!("{{\"key\":\"key{i:06}\",\"value\":\"\"}}\n"));
    }
    assert_eq!(code(&run(&d, &["import"], dump.as_bytes())), 0);
    let mut child = bin()
        .arg("--dir")
        .arg(&d)
        .arg("keys")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take()); // like `head` exiting
    let out = child.wait_with_output().unwrap();
    assert_eq!(&first, b"key000000\n");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn text_output_escapes_bytes_that_would_break_lines_and_messages_shorten_keys() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    // "a\nb" as key, "x\ty" as value, given in hex.
    assert_eq!(code(&run(&d, &["--hex", "put", "610a62", "780979"], b"")), 0);
    assert_eq!(ok(&d, &["keys"]), "a\\nb\n");
    assert_eq!(ok(&d, &["scan"]), "a\\nb\tx\\ty\n");
    assert_eq!(ok(&d, &["--hex", "keys"]), "610a62\n");
    // A long key in a message is cut and its length given.
    let long = "k".repeat(5000);
    let o = run(&d, &["get", &long], b"");
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).len() < 300 && stderr(&o).contains("(5000 bytes)"), "{}", stderr(&o));
}

#[test]
fn long_keys_come_from_a_file_and_oversized_values_are_refused_while_reading() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    let key = vec![b'k'; 60_000];
    let key_file = t.path().join("key");
    std::fs::write(&key_file, &key).unwrap();
    let kf = key_file.to_str().unwrap();
    assert_eq!(code(&run(&d, &["put", "--key-file", kf, "value"], b"")), 0);
    assert_eq!(ok(&d, &["get", "--key-file", kf]), "value");
    // The key from stdin.
    let o = run(&d, &["get", "--key-file", "-"], &key);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "value", "{}", stderr(&o));
    let o = run(&d, &["put", "--key-file", "-"], &key);
    assert_eq!(code(&o), 2, "stdin cannot be key and value: {}", stderr(&o));
    assert_eq!(code(&run(&d, &["delete", "--key-file", kf], b"")), 0);
    // A value over the 256 MiB limit is refused after the limit, not after the whole input.
    let mut child = bin()
        .arg("--dir")
        .arg(&d)
        .args(["put", "big"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let chunk = vec![0u8; 1 << 20];
        let mut sent = 0usize;
        while sent < 512 << 20 && stdin.write_all(&chunk).is_ok() {
            sent += chunk.len();
        }
        sent
    });
    let out = child.wait_with_output().unwrap();
    let sent = feeder.join().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exceeds the limit"));
    assert!(sent < 300 << 20, "it read {sent} bytes before refusing");
    assert_eq!(code(&run(&d, &["get", "big"], b"")), 1);
}

#[test]
fn a_closed_stderr_is_not_a_panic() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    ok(&d, &["put", "k", "v"]);
    // `bitcask get missing 2>&1 | true`: stderr is a pipe nobody reads.
    let mut child = bin()
        .arg("--dir")
        .arg(&d)
        .args(["get", "missing"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(1));
}
