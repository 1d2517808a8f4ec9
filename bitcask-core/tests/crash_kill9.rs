//! Crash-safety suite, test 8: a child process writes from several threads while merges run,
//! reporting every acknowledged put and delete over a pipe; the parent kills it with
//! SIGKILL at random moments and checks, after every kill, that every acknowledged write is
//! there. `BITCASK_KILLS=n` sets the number of kills (default 200).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcask_core::{Bitcask, Options};

const THREADS: u64 = 3;
const KEYS: u64 = 20;

/// Even-numbered kills hit a child appending through writable maps, odd ones a child
/// appending with `pwrite`: both write paths die mid-stream.
fn opts(kill: u64) -> Options {
    Options { max_file_size: 32 << 10, mmap_writes: kill.is_multiple_of(2), ..Options::default() }
}

/// Operation `i` of thread `t`: its key, and its value (`None` for a delete).
fn op(t: u64, i: u64) -> (Vec<u8>, Option<Vec<u8>>) {
    let key = format!("t{t}-k{}", i % KEYS).into_bytes();
    if i % 7 == 6 {
        (key, None)
    } else {
        (key, Some(format!("t{t}-i{i}-{}", "v".repeat((i % 50) as usize)).into_bytes()))
    }
}

/// Child side (the same test, run with the env vars set): writes until killed.
fn child(dir: &str) -> ! {
    let start: u64 = std::env::var("BITCASK_KILL9_START").unwrap().parse().unwrap();
    let db = Arc::new(Bitcask::open(dir, opts(start / 10_000_000)).unwrap());
    // Acks go over stderr: the test harness writes to stdout (a "test ... " line without a
    // newline would swallow the first ack).
    let out = Arc::new(Mutex::new(std::io::stderr()));
    let mut handles = Vec::new();
    for t in 0..THREADS {
        let (db, out) = (db.clone(), out.clone());
        handles.push(std::thread::spawn(move || {
            for i in start.. {
                let (k, v) = op(t, i);
                match v {
                    Some(v) => db.put(&k, &v).unwrap(),
                    None => {
                        db.delete(&k).unwrap();
                    }
                }
                // One write per line (stderr is unbuffered), so a kill never splits an ack.
                let line = format!("A {t} {i}\n");
                out.lock().unwrap().write_all(line.as_bytes()).unwrap();
            }
        }));
    }
    loop {
        db.merge().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// SIGKILL's number (9 on every Unix this runs on).
fn sigkill() -> i32 {
    9
}

/// The acks a child wrote, read until it ends: the last op acknowledged by each thread and
/// how many acks there were. `first` hears of the first ack.
type Acks = (HashMap<u64, u64>, u64);

fn read_acks(out: impl std::io::Read, first: std::sync::mpsc::Sender<()>) -> Acks {
    let mut last: HashMap<u64, u64> = HashMap::new();
    let mut n = 0u64;
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        let mut p = line.split_whitespace();
        let (Some("A"), Some(t), Some(i), None) = (p.next(), p.next(), p.next(), p.next()) else {
            // Anything but an ack (a panic message, an error) is a failure.
            panic!("the child wrote a line that is not an ack: {line:?}");
        };
        let (t, i): (u64, u64) = (t.parse().unwrap(), i.parse().unwrap());
        assert!(last.get(&t).is_none_or(|&j| i == j + 1), "acks out of order");
        last.insert(t, i);
        n += 1;
        if n == 1 {
            let _ = first.send(());
        }
    }
    (last, n)
}

/// Starts a writer child on `dir` whose ops start at `start`, lets it write for `pause`
/// once it acknowledged something, kills it with SIGKILL, and returns its acks.
fn run_and_kill(dir: &std::path::Path, start: u64, pause: Duration, kill: u64) -> Acks {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "t8_kill_9_at_random_moments", "--nocapture", "--test-threads", "1"])
        .env("BITCASK_KILL9_DIR", dir)
        .env("BITCASK_KILL9_START", start.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stderr.take().unwrap();
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || read_acks(out, first_tx));
    if first_rx.recv_timeout(Duration::from_secs(30)).is_err() {
        let _ = child.kill();
        let status = child.wait().unwrap();
        let _ = reader.join();
        panic!("kill {kill}: no ack within 30 s (the child ended with {status})");
    }
    std::thread::sleep(pause);
    child.kill().unwrap();
    let status = child.wait().unwrap();
    let acks = reader.join().expect("the ack reader failed");
    use std::os::unix::process::ExitStatusExt;
    // Killed by our SIGKILL: it was still writing, it had not died on its own.
    assert_eq!(status.signal(), Some(sigkill()), "kill {kill}: child ended with {status}");
    acks
}

/// Checks every key of the reopened store against `expected` (updated with the ops
/// acknowledged this round); the op after each thread's last ack may or may not have landed.
fn check_after_kill(
    dir: &std::path::Path,
    expected: &mut HashMap<Vec<u8>, Option<Vec<u8>>>,
    (last, n): &Acks,
    start: u64,
    kill: u64,
) {
    for (&t, &a) in last {
        for i in start..=a {
            let (k, v) = op(t, i);
            expected.insert(k, v);
        }
    }
    let db = Bitcask::open(dir, opts(kill))
        .unwrap_or_else(|e| panic!("kill {kill}: reopen failed: {e}"));
    for t in 0..THREADS {
        let next = last.get(&t).map_or(start, |a| a + 1);
        let (maybe_key, maybe_val) = op(t, next);
        for k in 0..KEYS {
            let key = format!("t{t}-k{k}").into_bytes();
            let got = db.get(&key).unwrap();
            let want = expected.get(&key).cloned().flatten();
            if got == want {
                continue;
            }
            assert!(
                key == maybe_key && got == maybe_val,
                "kill {kill}: key {} is {:?}, acknowledged {:?} (acks this round: {n}, last per thread {last:?}, start {start})",
                String::from_utf8_lossy(&key),
                got.map(|v| String::from_utf8_lossy(&v).into_owned()),
                want.map(|v| String::from_utf8_lossy(&v).into_owned()),
            );
            // The unacknowledged op did land: it is the state from now on.
            expected.insert(key, got);
        }
    }
}

#[test]
fn t8_kill_9_at_random_moments() {
    if let Ok(dir) = std::env::var("BITCASK_KILL9_DIR") {
        child(&dir);
    }
    let kills: u64 =
        std::env::var("BITCASK_KILLS").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    // The state each key must have: the result of its last acknowledged operation.
    let mut expected: HashMap<Vec<u8>, Option<Vec<u8>>> = HashMap::new();
    let mut x: u64 = 0x9e37_79b9;
    let mut acks_total = 0u64;
    for kill in 0..kills {
        let start = kill * 10_000_000;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Let it run a random while once it is writing, then kill -9.
        let acks = run_and_kill(&dir, start, Duration::from_micros(500 + x % 20_000), kill);
        acks_total += acks.1;
        check_after_kill(&dir, &mut expected, &acks, start, kill);
    }
    eprintln!("t8: {kills} kills, {acks_total} acknowledged writes checked after each");
    assert!(acks_total > kills, "the child barely wrote");
}
