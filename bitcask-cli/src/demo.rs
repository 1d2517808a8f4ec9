//! `bitcask demo`: the engine at work on a temporary store, with no setup.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use bitcask_core::{Bitcask, Options, WriteBatch};

use crate::failure::{CmdResult, Failure, EXIT_OTHER};
use crate::out::{count, size, Out};

fn fail(e: impl ToString) -> Failure {
    Failure { code: EXIT_OTHER, msg: e.to_string() }
}

pub fn run() -> CmdResult {
    let tmp = tempfile::tempdir().map_err(fail)?;
    let dir = tmp.path().join("demo");
    let opts = Options { max_file_size: 4 << 20, ..Options::default() };
    let mut out = Out::new();
    let db = Bitcask::open(&dir, opts.clone()).map_err(fail)?;
    out.text(&format!("opened a new store in {}", dir.display()))?;

    let n = 200_000u32;
    let t = Instant::now();
    for i in 0..n {
        db.put(
            format!("user:{i:08}").as_bytes(),
            format!("profile of user {i}: {:.<60}", "").as_bytes(),
        )
        .map_err(fail)?;
    }
    let secs = t.elapsed().as_secs_f64();
    out.text(&format!("put {n} keys in {secs:.2} s ({:.0} puts/s)", f64::from(n) / secs))?;

    let t = Instant::now();
    let mut found = 0;
    for i in (0..n).step_by(7) {
        found += usize::from(db.get(format!("user:{i:08}").as_bytes()).map_err(fail)?.is_some());
    }
    out.text(&format!("read {found} keys in {:.3} s", t.elapsed().as_secs_f64()))?;

    for i in 0..n / 2 {
        db.put(format!("user:{i:08}").as_bytes(), b"updated").map_err(fail)?;
    }
    let mut batch = WriteBatch::new();
    for i in 0..1000 {
        batch.delete(format!("user:{:08}", n - 1 - i).as_bytes());
    }
    db.write(batch).map_err(fail)?;
    out.text(&format!("updated {} keys, deleted 1000 in one atomic batch", n / 2))?;
    let s = db.stats();
    out.text(&format!(
        "{} keys in {} files, {} on disk, {:.0}% dead",
        s.keys,
        s.files.len(),
        size(s.disk_bytes),
        s.fragmentation() * 100.0
    ))?;

    let r = db.merge().map_err(fail)?;
    out.text(&format!(
        "merged {} files into {} in {:.2} s, reclaimed {}",
        r.files_in,
        r.files_out,
        r.duration.as_secs_f64(),
        size(r.bytes_reclaimed)
    ))?;
    db.close().map_err(fail)?;

    let t = Instant::now();
    let db = Bitcask::open(&dir, opts.clone()).map_err(fail)?;
    let rep = db.recovery_report();
    out.text(&format!(
        "reopened in {:.1} ms: {} keys ({} used, {} scanned)",
        t.elapsed().as_secs_f64() * 1000.0,
        db.len(),
        count(rep.hints_used as u64, "hint file"),
        count(rep.files_scanned as u64, "file")
    ))?;
    let ok = db.get(b"user:00000001").map_err(fail)? == Some(b"updated".to_vec())
        && db.get(format!("user:{:08}", n - 1).as_bytes()).map_err(fail)?.is_none()
        && db.len() == (n - 1000) as usize;
    drop(db);
    out.flush()?;
    let crash_ok = crash(&mut out, &dir, &opts)?;
    let ok = ok && crash_ok;
    out.text(if ok { "every check passed" } else { "CHECK FAILED" })?;
    out.flush()?;
    Ok(if ok { 0 } else { EXIT_OTHER })
}

/// A writer in a child process is killed with SIGKILL while it writes; the store is
/// reopened and every put the child had acknowledged is checked.
fn crash(out: &mut Out, dir: &Path, opts: &Options) -> Result<bool, Failure> {
    let exe = std::env::current_exe().map_err(fail)?;
    let mut child = Command::new(exe)
        .arg("demo-writer")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(fail)?;
    let pid = child.id();
    let acks = BufReader::new(child.stdout.take().ok_or_else(|| fail("no pipe"))?);
    let mut acked = 0u64;
    for line in acks.lines() {
        let Ok(line) = line else { break };
        acked = line.trim().parse().map_err(fail)?;
        if acked >= 50_000 {
            break;
        }
    }
    child.kill().map_err(fail)?;
    child.wait().map_err(fail)?;
    let t = Instant::now();
    let db = Bitcask::open(dir, opts.clone()).map_err(fail)?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let cut = db.recovery_report().bytes_truncated;
    let mut missing = 0;
    for i in 0..acked {
        let want = format!("written by the child: {i}");
        if db.get(format!("crash:{i:08}").as_bytes()).map_err(fail)?.as_deref()
            != Some(want.as_bytes())
        {
            missing += 1;
        }
    }
    out.text(&format!(
        "killed a writer (child process {pid}) with SIGKILL after {acked} acknowledged puts"
    ))?;
    out.text(&format!(
        "reopened in {ms:.1} ms: {} of {acked} acknowledged puts present, {cut} bytes of torn tail cut",
        acked - missing
    ))?;
    Ok(missing == 0 && acked > 0)
}

/// `demo-writer DIR`: puts `crash:N` keys and prints each N once the put has returned,
/// until killed.
pub fn writer(dir: &Path) -> CmdResult {
    let db = Bitcask::open(dir, Options { max_file_size: 4 << 20, ..Options::default() })
        .map_err(fail)?;
    let mut stdout = std::io::stdout().lock();
    for i in 0u64.. {
        db.put(format!("crash:{i:08}").as_bytes(), format!("written by the child: {i}").as_bytes())
            .map_err(fail)?;
        // One line per acknowledged put; a closed pipe ends the writer.
        if writeln!(stdout, "{}", i + 1).and_then(|()| stdout.flush()).is_err() {
            break;
        }
    }
    Ok(0)
}
