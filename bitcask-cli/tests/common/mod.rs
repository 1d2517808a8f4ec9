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

/// Starts `bitcask import` on `d`, which holds the writer's lock while it waits for stdin,
/// and returns once the lock is taken.
pub fn hold_the_lock(d: &Path) -> std::process::Child {
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
