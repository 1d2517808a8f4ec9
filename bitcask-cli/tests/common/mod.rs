//! Helpers shared by the tests that drive the real `bitcask` binary.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bitcask"))
}

/// Runs `bitcask --dir DIR ARGS...` with `stdin`.
pub fn run(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut c = bin();
    c.arg("--dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c.env_remove("BITCASK_DIR");
    let mut child = c.spawn().unwrap();
    // The command may exit without reading its input (a closed pipe is fine here).
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

pub fn ok(dir: &Path, args: &[&str]) -> String {
    let o = run(dir, args, b"");
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
