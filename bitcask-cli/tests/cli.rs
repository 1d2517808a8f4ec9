//! Drives the real `bitcask` binary in temporary directories.

use std::io::{Read, Write};
use std::path::Path;
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
fn stats_text_and_json() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    ok(&d, &["put", "a", "1"]);
    ok(&d, &["put", "a", "2"]);
    let text = ok(&d, &["stats"]);
    assert!(text.contains("keys          1"), "{text}");
    let v: serde_json::Value = serde_json::from_str(ok(&d, &["stats", "--json"]).trim()).unwrap();
    assert_eq!(v["keys"], 1);
    assert_eq!(v["files"][0]["live_keys"], 1);
    assert_eq!(v["files"][0]["dead_keys"], 1);
    assert!(v["fragmentation"].as_f64().unwrap() > 0.4);
}

#[test]
fn merge_reports_what_it_reclaimed() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    for i in 0..20 {
        ok(&d, &["put", "k", &format!("value {i}")]);
    }
    let o = run(&d, &["merge"], b"");
    assert_eq!(code(&o), 0);
    assert!(stderr(&o).contains("reclaimed"), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(ok(&d, &["stats", "--json"]).trim()).unwrap();
    assert_eq!(v["dead_bytes"], 0);
    assert_eq!(ok(&d, &["get", "k"]), "value 19");
}

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

fn damage_a_sealed_file(d: &Path) -> (std::path::PathBuf, usize) {
    let opts_keys = 60;
    for i in 0..opts_keys {
        ok(d, &["put", &format!("key{i:03}"), &"x".repeat(2000)]);
    }
    // Seal the active file so the damage is in an immutable file.
    ok(d, &["merge"]);
    let data: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect();
    let victim = data.iter().min().unwrap().clone();
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&victim, &bytes).unwrap();
    (victim, opts_keys)
}

#[test]
fn check_finds_corruption_and_repair_salvages_every_valid_record() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    let (victim, n) = damage_a_sealed_file(&d);
    let o = run(&d, &["check"], b"");
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let listing = String::from_utf8(o.stdout).unwrap();
    assert!(listing.contains(victim.file_name().unwrap().to_str().unwrap()), "{listing}");
    assert!(listing.contains("offset 20"), "{listing}");
    // The intact hint names the key whose record is damaged.
    assert!(listing.contains("damaged record of key key000"), "{listing}");
    assert!(!listing.contains("key key001"), "{listing}");
    // Open uses the intact hint file; reading the damaged record reports file and offset.
    assert_eq!(ok(&d, &["get", "key001"]), "x".repeat(2000));
    let o = run(&d, &["get", "key000"], b"");
    assert_eq!(code(&o), 3);
    assert!(stderr(&o).contains("offset 20"), "{}", stderr(&o));
    // Repair asks first; without a terminal it refuses.
    assert_eq!(code(&run(&d, &["repair"], b"y\n")), 2);
    let backup = t.path().join("backup");
    let o = run(&d, &["repair", "--yes", "--backup", backup.to_str().unwrap()], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let report = String::from_utf8(o.stdout).unwrap();
    assert!(report.contains("lost offset 20"), "{report}");
    assert!(backup.join(victim.file_name().unwrap()).exists());
    assert_eq!(code(&run(&d, &["check"], b"")), 0);
    // Only the damaged record is gone.
    let keys = ok(&d, &["keys"]);
    assert_eq!(keys.lines().count(), n - 1, "{keys}");
    assert_eq!(code(&run(&d, &["get", "key000"], b"")), 1);
    assert_eq!(ok(&d, &["get", "key059"]), "x".repeat(2000));
}

#[test]
fn check_names_damaged_keys_without_a_hint_file_too() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    let (victim, _) = damage_a_sealed_file(&d);
    std::fs::remove_file(victim.with_extension("hint")).unwrap();
    let o = run(&d, &["check"], b"");
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let listing = String::from_utf8(o.stdout).unwrap();
    // The damaged record's own header still names its key.
    assert!(listing.contains("damaged record of key key000"), "{listing}");
    assert!(!listing.contains("key key001"), "{listing}");
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
fn inspect_decodes_datafiles_and_hint_files() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    ok(&d, &["put", "alpha", "one"]);
    ok(&d, &["delete", "alpha"]);
    let data = d.join("0000000001000000.data");
    let o = run(&d, &["inspect", data.to_str().unwrap()], b"");
    assert_eq!(code(&o), 0);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("datafile"), "{text}");
    assert!(text.contains("put    key=\"alpha\" value_len=3"), "{text}");
    assert!(text.contains("delete key=\"alpha\""), "{text}");
    assert!(text.contains("clean end"), "{text}");
    let hint = d.join("0000000001000000.hint");
    let text = ok(&d, &["inspect", hint.to_str().unwrap()]);
    assert!(text.contains("hint file") && text.contains("2 entries"), "{text}");
    // A torn file is shown up to the damage, with exit code 3.
    let bytes = std::fs::read(&data).unwrap();
    let torn = t.path().join("torn.data");
    std::fs::write(&torn, &bytes[..bytes.len() - 3]).unwrap();
    let o = run(&d, &["inspect", torn.to_str().unwrap()], b"");
    assert_eq!(code(&o), 3);
    assert!(String::from_utf8(o.stdout).unwrap().contains("torn record"));
}

#[test]
fn bench_runs_every_workload_on_a_temporary_store() {
    let o = bin()
        .args(["bench", "--keys", "3000", "--threads", "2"])
        .env_remove("BITCASK_DIR")
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&o.stderr));
    for w in [
        "put ",
        "batch ",
        "get ",
        "mixed ",
        "multiget ",
        "ycsb-a ",
        "ycsb-b ",
        "ycsb-c ",
        "ycsb-f ",
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(w))
            .unwrap_or_else(|| panic!("no {w} line in {text}"));
        assert!(line.contains("ops/s") && line.contains("p999"), "{line}");
    }
    assert!(text.contains("store: 3000 keys"), "{text}");
}

#[test]
fn demo_shows_the_engine_working() {
    let o = bin().arg("demo").env_remove("BITCASK_DIR").output().unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("every check passed"), "{text}");
    assert!(text.contains("merged"), "{text}");
    // A writer child process killed mid-stream, and every acknowledged put found again.
    assert!(text.contains("with SIGKILL after 50000 acknowledged puts"), "{text}");
    assert!(text.contains("50000 of 50000 acknowledged puts present"), "{text}");
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in [
        "put", "get", "ttl", "delete", "keys", "scan", "stats", "merge", "check", "repair",
        "export", "import", "backup", "inspect", "bench", "demo",
    ] {
        let o = bin().args([cmd, "--help"]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{cmd}");
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(text.contains("Example"), "{cmd} --help has no example:\n{text}");
    }
    let o = bin().arg("frobnicate").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn sync_policies_parse() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    ok(&d, &["--sync", "always", "put", "a", "1"]);
    ok(&d, &["--sync", "every=5", "put", "b", "2"]);
    assert_eq!(code(&run(&d, &["--sync", "every=0", "put", "c", "3"], b"")), 2);
    assert_eq!(code(&run(&d, &["--sync", "sometimes", "put", "c", "3"], b"")), 2);
}

/// Starts `bitcask import` on `d`, which holds the writer's lock while it waits for stdin,
/// and returns once the lock is taken.
fn hold_the_lock(d: &Path) -> std::process::Child {
    let mut holder = bin()
        .arg("--dir")
        .arg(d)
        .arg("import")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = holder.id().to_string();
    for _ in 0..6000 {
        let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
        if locks.lines().any(|l| l.contains("FLOCK") && l.split_whitespace().any(|w| w == pid)) {
            return holder;
        }
        assert!(holder.try_wait().unwrap().is_none(), "the holder exited");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the holder never took the lock");
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

#[test]
fn bench_never_writes_to_bitcask_dir() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("data");
    let o = bin()
        .args(["bench", "--workload", "put", "--keys", "500"])
        .env("BITCASK_DIR", &d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!d.exists(), "bench wrote to BITCASK_DIR");
    // --store names the store to benchmark.
    let s = t.path().join("bench-store");
    let o = bin()
        .args(["bench", "--workload", "put", "--keys", "500", "--store"])
        .arg(&s)
        .env_remove("BITCASK_DIR")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(ok(&s, &["stats", "--json"]).contains("\"keys\":500"));
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
fn merge_with_nothing_to_reclaim_rewrites_nothing_and_stats_explain_themselves() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    ok(&d, &["put", "a", "1"]);
    ok(&d, &["put", "b", "2"]);
    let names = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    let before = names(&d);
    let o = run(&d, &["merge"], b"");
    assert_eq!(code(&o), 0);
    assert!(stderr(&o).contains("nothing to reclaim"), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 file;") || stderr(&o).contains("1 file "), "{}", stderr(&o));
    assert_eq!(names(&d), before, "nothing rewritten");
    // After an overwrite there is something to reclaim.
    ok(&d, &["put", "a", "3"]);
    let o = run(&d, &["merge"], b"");
    assert!(stderr(&o).contains("merged"), "{}", stderr(&o));
    let stats = ok(&d, &["stats"]);
    for want in ["keydir memory", "(* the active file", "datafiles and hint files"] {
        assert!(stats.contains(want), "{want:?} missing from:\n{stats}");
    }
    let json = ok(&d, &["stats", "--json"]);
    assert!(json.contains("\"hint_bytes\"") && json.contains("\"keydir_bytes\""), "{json}");
}

#[test]
fn repair_checks_the_lock_before_it_announces_anything() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    for i in 0..60 {
        ok(&d, &["put", &format!("key{i:03}"), &"x".repeat(2000)]);
    }
    damage_a_sealed_file(&d);
    let mut holder = hold_the_lock(&d);
    let o = run(&d, &["repair", "--yes"], b"");
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(!stderr(&o).contains("damaged files"), "announced before locking: {}", stderr(&o));
    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());
    let o = run(&d, &["repair", "--yes"], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("damaged files"), "{}", stderr(&o));
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
fn inspect_resumes_after_damage_prints_times_and_cuts_long_keys() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    ok(&d, &["put", "first", "1"]);
    ok(&d, &["put", "second", "2", "--ttl", "1h"]);
    ok(&d, &["put", &"L".repeat(300), "3"]);
    let data = d.join("0000000001000000.data");
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[20 + 6] ^= 0xff; // inside the first record
    let damaged = t.path().join("damaged.data");
    std::fs::write(&damaged, &bytes).unwrap();
    let o = run(&d, &["inspect", damaged.to_str().unwrap()], b"");
    assert_eq!(code(&o), 3);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("damaged") && text.contains("resuming at offset"), "{text}");
    assert!(text.contains("key=\"second\""), "records after the damage are shown: {text}");
    assert!(text.contains(" expires=20") && text.contains("Z"), "times as times: {text}");
    assert!(text.contains("(300 bytes)") && !text.contains(&"L".repeat(100)), "{text}");
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

#[test]
fn every_argument_of_every_command_is_described() {
    for cmd in [
        "put", "get", "ttl", "delete", "keys", "scan", "stats", "merge", "check", "repair",
        "export", "import", "backup", "inspect", "bench", "demo",
    ] {
        let o = bin().args([cmd, "--help"]).output().unwrap();
        let text = String::from_utf8(o.stdout).unwrap();
        // clap prints an argument without a description as a bare name on its line, with
        // no description after it on the line or (long help) indented on the next.
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate().filter(|(_, l)| l.starts_with("  ")) {
            let t = line.trim();
            let indent = line.len() - line.trim_start().len();
            // Argument names start at the left margin of the list; `[env: ...]`,
            // `[default: ...]` and the like are annotations under a description.
            let is_arg =
                indent <= 6 && (t.starts_with('-') || t.starts_with('[') || t.starts_with('<'));
            let next = lines.get(i + 1).copied().unwrap_or_default();
            let described_below =
                !next.trim().is_empty() && next.len() - next.trim_start().len() > indent;
            let bare = is_arg && !t.contains("  ") && !described_below;
            assert!(!bare, "{cmd}: argument without a description: {line:?}\n{text}");
        }
    }
}

const COMMANDS: [&str; 16] = [
    "put", "get", "ttl", "delete", "keys", "scan", "stats", "merge", "check", "repair", "export",
    "import", "backup", "inspect", "bench", "demo",
];

fn help_of(cmd: &str) -> String {
    let o = bin().args([cmd, "--help"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{cmd} --help");
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn each_command_shows_only_the_flags_it_takes() {
    let takes = |cmd: &str| -> [bool; 3] {
        let h = help_of(cmd);
        [
            h.contains("--dir <PATH>"),
            h.contains("--hex") && h.contains("--base64"),
            h.contains("--sync"),
        ]
    };
    // [--dir, --hex/--base64, --sync]
    let expected: [(&str, [bool; 3]); 16] = [
        ("put", [true, true, true]),
        ("get", [true, true, false]),
        ("ttl", [true, true, false]),
        ("delete", [true, true, true]),
        ("keys", [true, true, false]),
        ("scan", [true, true, false]),
        ("stats", [true, false, false]),
        ("merge", [true, false, false]),
        ("check", [true, false, false]),
        ("repair", [true, false, false]),
        ("export", [true, true, false]),
        ("import", [true, false, true]),
        ("backup", [true, false, false]),
        ("inspect", [false, true, false]),
        ("bench", [false, false, true]),
        ("demo", [false, false, false]),
    ];
    for (cmd, want) in expected {
        assert_eq!(takes(cmd), want, "{cmd}: [--dir, --hex/--base64, --sync]\n{}", help_of(cmd));
        assert!(!help_of(cmd).contains("--read-only"), "{cmd}");
    }
}

#[test]
fn flags_work_before_and_after_the_command_and_misplaced_ones_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    ok(&d, &["--hex", "put", "00ff", "01"]);
    assert_eq!(ok(&d, &["get", "--hex", "00ff"]), "01\n");
    assert_eq!(ok(&d, &["get", "AP8=", "--base64"]), "AQ==\n");
    // A command's own --dir wins over the one before it.
    let other = t.path().join("other");
    ok(&d, &["put", "--dir", other.to_str().unwrap(), "k", "v"]);
    assert_eq!(ok(&other, &["get", "k"]), "v");
    assert_eq!(code(&run(&d, &["get", "k"], b"")), 1);
    for (args, flag) in [
        (&["--sync", "always", "get", "k"][..], "--sync"),
        (&["--hex", "stats"][..], "--hex"),
        (&["--base64", "merge"][..], "--base64"),
        (&["--sync", "never", "demo"][..], "--sync"),
    ] {
        let o = run(&d, args, b"");
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(&format!("{flag} does not apply to")), "{}", stderr(&o));
    }
    for args in [&["get", "--sync", "always", "k"][..], &["stats", "--hex"][..]] {
        assert_eq!(code(&run(&d, args, b"")), 2, "{args:?}");
    }
}

/// The `Usage:` block of a help or error text (up to the first blank line).
fn usage_block(text: &str) -> String {
    let start = text.find("Usage:").unwrap_or_else(|| panic!("no usage line in {text}"));
    text[start..].split("\n\n").next().unwrap().trim().to_string()
}

#[test]
fn the_usage_line_in_errors_matches_help() {
    for cmd in COMMANDS {
        let help = usage_block(&help_of(cmd));
        let o = bin().args([cmd, "--no-such-flag"]).output().unwrap();
        assert_eq!(code(&o), 2);
        assert_eq!(usage_block(&stderr(&o)), help, "{cmd}: unknown flag");
    }
    // Commands with a required argument, called without it.
    for cmd in ["put", "get", "ttl", "delete", "backup", "inspect"] {
        let o = bin().arg(cmd).env_remove("BITCASK_DIR").stdin(Stdio::null()).output().unwrap();
        assert_eq!(code(&o), 2, "{cmd}: {}", stderr(&o));
        assert_eq!(usage_block(&stderr(&o)), usage_block(&help_of(cmd)), "{cmd}: missing argument");
    }
}

#[test]
fn cluster_move_moves_whole_shards_and_rewrites_the_configuration() {
    use bitcask_core::{key_slot, Options, ShardedBitcask};
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let id1 = "0000000000000000000000000000000000000001";
    let id2 = "0000000000000000000000000000000000000002";
    let conf = tmp.path().join("cluster.conf");
    std::fs::write(
        &conf,
        format!("node {id1} 127.0.0.1:7001 0-8191\nnode {id2} 127.0.0.1:7002 8192-16383\n"),
    )
    .unwrap();
    let src = ShardedBitcask::open(&a, Options::default(), Some(16)).unwrap();
    let keys: Vec<String> =
        (0..5000).map(|i| format!("k{i}")).filter(|k| key_slot(k.as_bytes()) < 1024).collect();
    for k in &keys {
        src.put(k.as_bytes(), b"v").unwrap();
    }
    src.close().unwrap();
    ShardedBitcask::open(&b, Options::default(), Some(16)).unwrap().close().unwrap();
    let run_move = |slots: &str| {
        bin()
            .args(["cluster", "move", "--config"])
            .arg(&conf)
            .args(["--slots", slots, "--from"])
            .arg(&a)
            .arg("--to")
            .arg(&b)
            .args(["--to-node", id2])
            .output()
            .unwrap()
    };
    // A store that records no node id is refused (a node records it when it starts).
    let o = run_move("0-1023");
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("records no node id"), "{}", stderr(&o));
    bitcask_core::cluster::claim_node_id(&a, id1).unwrap();
    let o = run_move("0-1000");
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("not whole shards"), "{}", stderr(&o));
    let o = run_move("0-1023");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains(&format!("node {id1} 127.0.0.1:7001 1024-8191")), "{text}");
    assert!(text.contains(&format!("node {id2} 127.0.0.1:7002 0-1023 8192-16383")), "{text}");
    let moved = ShardedBitcask::open(&b, Options::default(), None).unwrap();
    assert_eq!(moved.len(), keys.len());
    assert!(keys.iter().all(|k| moved.contains(k.as_bytes()).unwrap()));
    let left = ShardedBitcask::open(&a, Options::default(), None).unwrap();
    assert_eq!(left.len(), 0, "the source's shard is emptied");
}
