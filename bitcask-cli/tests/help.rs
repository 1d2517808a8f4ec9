//! Drives the real `bitcask` binary: help and usage: every command and argument described,
//! flags in any position, usage lines that match.

use std::process::Stdio;

mod common;
use common::*;

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
