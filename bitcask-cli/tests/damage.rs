//! The CLI meets damage: a writing open says what it cut, a write beside a damaged record
//! either lands and succeeds or is refused before anything is written, and `import` keeps
//! exactly the lines before a bad one.

mod common;
use common::*;

use std::path::{Path, PathBuf};

fn lines(n: usize, bad_at: Option<usize>) -> String {
    let mut s = String::new();
    for i in 1..=n {
        if Some(i) == bad_at {
            s.push_str("{\"key\": \"broken\"\n");
        } else {
            s.push_str(&format!("{{\"key\":\"k{i}\",\"value\":\"{}\"}}\n", "v".repeat(i % 50)));
        }
    }
    s
}

fn key_count(dir: &Path) -> usize {
    ok(dir, &["keys"]).lines().count()
}

fn datafile(dir: &Path) -> PathBuf {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect();
    v.sort();
    v.pop().unwrap()
}

#[test]
fn import_keeps_exactly_the_lines_before_a_bad_one() {
    for (n, bad) in [(5000, 4000), (5000, 2), (10, 1)] {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("s");
        let o = run(&d, &["import"], lines(n, Some(bad)).as_bytes());
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(&format!("line {bad}:")), "{err}");
        assert!(err.contains(&format!("before it imported ({} key", bad - 1)), "{err}");
        assert_eq!(key_count(&d), bad - 1, "bad line {bad}");
    }
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    assert_eq!(code(&run(&d, &["import"], lines(2500, None).as_bytes())), 0);
    assert_eq!(key_count(&d), 2500);
}

#[test]
fn a_writing_open_warns_about_what_it_cut_and_where_the_bytes_went() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    assert_eq!(code(&run(&d, &["import"], lines(20, None).as_bytes())), 0);
    let f = datafile(&d);
    let mut bytes = std::fs::read(&f).unwrap();
    bytes.extend_from_slice(&[0x11, 0x22, 0x33, 0x44, 0x00, 0x03]);
    std::fs::write(&f, &bytes).unwrap();
    let o = run(&d, &["put", "x", "y"], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("warning: cut a torn tail") && err.contains(".quarantine"), "{err}");
    assert_eq!(key_count(&d), 21);
    // Said once: the next open finds nothing to cut.
    let o = run(&d, &["put", "z", "w"], b"");
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    // `check` lists what was set aside, and where it came from.
    let listed = ok(&d, &["check"]);
    assert!(listed.contains(".quarantine: 6 B set aside by an earlier open from"), "{listed}");
}

#[test]
fn a_write_beside_a_damaged_record_lands_and_succeeds_or_is_refused_whole() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("s");
    assert_eq!(code(&run(&d, &["import"], lines(30, None).as_bytes())), 0);
    let f = datafile(&d);
    let mut bytes = std::fs::read(&f).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&f, &bytes).unwrap();
    // With its hint the damaged record is not read at open: the put lands and says so.
    let o = run(&d, &["put", "new", "value"], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(ok(&d, &["get", "new"]), "value");
    // Without the hint the damage is seen at open: refused, and nothing is written.
    std::fs::remove_file(f.with_extension("hint")).unwrap();
    let before = std::fs::read(&f).unwrap();
    let o = run(&d, &["put", "other", "value"], b"");
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("damage at rest"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&f).unwrap(), before, "a refused write changed the file");
}
