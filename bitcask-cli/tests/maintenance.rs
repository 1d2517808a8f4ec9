//! Drives the real `bitcask` binary: stats, merge, check, repair and inspect on healthy and
//! damaged stores.

use std::path::Path;

mod common;
use common::*;

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
