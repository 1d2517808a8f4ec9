//! Durability through the server: under `--sync always` every acknowledged write survives
//! SIGKILL; a transaction is all or none after SIGKILL; SIGTERM, SIGINT and SHUTDOWN close
//! the store cleanly and exit 0.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Raw, Reply, Server, WriteAllOk};

/// Writers on several connections, each recording what the server acknowledged; the
/// server is killed mid-stream; after a restart every acknowledged write is there.
fn acknowledged_writes_survive_sigkill(args: &[&str], writers: usize) -> usize {
    let s = Server::start(args);
    let (dir, port) = (s.dir.clone(), s.port);
    let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..writers)
        .map(|t| {
            let (acked, stop) = (acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    // Pipelines of four writes: each reply acknowledges one of them.
                    let mut frames = Vec::new();
                    let keys: Vec<(String, String)> =
                        (0..4).map(|j| (format!("w{t}:{i}:{j}"), format!("v{i}.{j}"))).collect();
                    for (k, v) in &keys {
                        frames.extend(Raw::frame(&[b"SET", k.as_bytes(), v.as_bytes()]));
                    }
                    if c.stream.get_mut().write_all_ok(&frames).is_err() {
                        return;
                    }
                    for (k, v) in keys {
                        match c.try_read() {
                            Some(Reply::Simple(ok)) if ok == "OK" => {
                                acked.lock().unwrap().insert(k, v);
                            }
                            _ => return,
                        }
                    }
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    let _keep = s.kill9();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 100, "the writers got going: {}", acked.len());
    let s = Server::restart_killed(&dir, port, args);
    let mut c = s.raw();
    for (k, v) in &acked {
        assert_eq!(c.cmd(&["GET", k]), Reply::bulk(v), "acknowledged {k} lost");
    }
    acked.len()
}

#[test]
fn under_sync_always_every_acknowledged_write_survives_sigkill() {
    let n = acknowledged_writes_survive_sigkill(&["--sync", "always"], 8);
    eprintln!("{n} acknowledged writes checked after SIGKILL");
}

#[test]
fn a_sharded_store_under_sync_always_keeps_every_acknowledged_write_too() {
    let n = acknowledged_writes_survive_sigkill(&["--sync", "always", "--shards", "4"], 8);
    eprintln!("{n} acknowledged writes checked after SIGKILL");
}

#[test]
fn transactions_are_all_or_none_after_sigkill() {
    let args = ["--sync", "never"];
    let s = Server::start(&args);
    let (dir, port) = (s.dir.clone(), s.port);
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    // Ten keys of one hash tag, written by one EXEC: all or none.
                    let mut frames = Raw::frame(&[b"MULTI"]);
                    for j in 0..10 {
                        let k = format!("{{tx{t}:{i}}}.{j}");
                        frames.extend(Raw::frame(&[b"SET", k.as_bytes(), &[b'x'; 300]]));
                    }
                    frames.extend(Raw::frame(&[b"EXEC"]));
                    if c.stream.get_mut().write_all_ok(&frames).is_err() {
                        return;
                    }
                    for _ in 0..12 {
                        if c.try_read().is_none() {
                            return;
                        }
                    }
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let _keep = s.kill9();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let s = Server::restart_killed(&dir, port, &args);
    let mut c = s.raw();
    let keys: Vec<String> = c.cmd(&["KEYS", "*"]).items().iter().map(Reply::text).collect();
    assert!(keys.len() >= 100, "{} keys", keys.len());
    let mut groups: HashMap<String, usize> = HashMap::new();
    for k in &keys {
        *groups.entry(k.split('.').next().unwrap().to_string()).or_default() += 1;
    }
    for (g, n) in &groups {
        assert_eq!(*n, 10, "transaction {g} is partly there");
    }
}

fn writes_then_stops_cleanly(
    stop: impl FnOnce(Server) -> (Option<i32>, Option<tempfile::TempDir>),
) {
    let s = Server::start(&["--sync", "never", "--shards", "2"]);
    let (dir, port) = (s.dir.clone(), s.port);
    let mut c = s.raw();
    for i in 0..500 {
        c.cmd(&["SET", &format!("k{i}"), &format!("v{i}")]);
    }
    let (code, _keep) = stop(s);
    assert_eq!(code, Some(0), "a clean shutdown exits 0");
    let s = Server::restart_killed(&dir, port, &[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(500));
    assert_eq!(c.cmd(&["GET", "k499"]), Reply::bulk("v499"));
}

#[test]
fn sigterm_closes_the_store_and_exits_0() {
    writes_then_stops_cleanly(Server::terminate);
}

#[test]
fn sigint_closes_the_store_and_exits_0() {
    writes_then_stops_cleanly(|s| {
        s.stop_with(|child, _| {
            common::signal(child, libc::SIGINT);
            common::wait_for(child)
        })
    });
}

#[test]
fn shutdown_closes_the_store_and_exits_0() {
    writes_then_stops_cleanly(|s| {
        s.stop_with(|child, port| {
            let mut c = Raw::connect(port);
            c.send(&Raw::frame(&[b"SHUTDOWN"]));
            assert!(c.is_closed(), "SHUTDOWN closes the connection without a reply");
            common::wait_for(child)
        })
    });
}
