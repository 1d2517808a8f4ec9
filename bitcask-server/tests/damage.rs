//! Damage at rest and failing disks, as an operator meets them: a rotted datafile never
//! costs a synced key (strict start-up refuses and changes nothing; `--recovery skip` sets
//! the damaged record aside and serves the rest), the log and `INFO` say what happened, and
//! `INFO persistence` tells the truth while writes are refused.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

use bitcask_core::{ShardedBitcask, SyncPolicy};
use bitcask_server::{run_store, store_options, Config};
use bitcask_testkit::{Fault, FaultPlan, SimStorage};
use common::{bin, Raw, Reply, Server};

fn info(c: &mut Raw, section: &str) -> String {
    c.cmd(&["INFO", section]).text()
}

fn field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {info}"))
        .trim()
        .to_owned()
}

/// The largest datafile of the store under `dir` (the one holding the writes).
fn biggest_datafile(dir: &Path) -> PathBuf {
    let mut files = Vec::new();
    for shard in std::fs::read_dir(dir).unwrap().flatten() {
        if shard.path().is_dir() {
            for f in std::fs::read_dir(shard.path()).unwrap().flatten() {
                if f.path().extension().is_some_and(|e| e == "data") {
                    files.push(f.path());
                }
            }
        }
    }
    files.into_iter().max_by_key(|p| std::fs::metadata(p).unwrap().len()).unwrap()
}

fn value(i: usize) -> String {
    format!("value-{i}-{}", "x".repeat(i % 40))
}

#[test]
fn rot_in_a_synced_datafile_costs_one_key_and_is_reported() {
    let server = Server::start(&["--sync", "always", "--shards", "1"]);
    let mut c = server.raw();
    for i in 0..300 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), &value(i)]), Reply::ok());
    }
    let dir = server.dir.clone();
    let tmp = server.kill9();
    let data = biggest_datafile(&dir);
    let mut bytes = std::fs::read(&data).unwrap();
    let used = bytes.iter().rposition(|&b| b != 0).unwrap();
    let at = used / 2;
    bytes[at] ^= 0x10;
    std::fs::write(&data, &bytes).unwrap();

    // Strict (the default): start-up refuses, names the damage, and changes no byte.
    let out = bin().arg("--dir").arg(&dir).args(["--port", "0"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("corruption") && err.contains("damage at rest"), "{err}");
    assert_eq!(std::fs::read(&data).unwrap(), bytes, "a refused start changed the file");

    // Skip: every other key is served, the damaged record is set aside and reported.
    let server = Server::start_in(&dir, &["--recovery", "skip"]);
    let mut c = server.raw();
    let mut lost = 0;
    for i in 0..300 {
        match c.cmd(&["GET", &format!("k{i}")]) {
            Reply::Bulk(v) => assert_eq!(v, value(i).into_bytes()),
            Reply::Nil => lost += 1,
            other => panic!("k{i}: {other:?}"),
        }
    }
    assert!(lost <= 1, "{lost} keys lost to one flipped bit");
    let rec = info(&mut c, "recovery");
    assert_eq!(field(&rec, "recovery_clean"), "0");
    assert_eq!(field(&rec, "recovery_damaged_regions"), "1");
    let region = field(&rec, "recovery_region0");
    assert!(region.contains("action=skipped"), "{region}");
    let kept = region.rsplit("quarantine=").next().unwrap();
    let kept = std::fs::read(kept).unwrap();
    assert!(!kept.is_empty() && bytes.windows(kept.len()).any(|w| w == kept));
    drop(tmp);
}

#[test]
fn start_up_logs_what_recovery_cut() {
    let server = Server::start(&["--sync", "never", "--shards", "1"]);
    let mut c = server.raw();
    for i in 0..50 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), &value(i)]), Reply::ok());
    }
    let dir = server.dir.clone();
    let _tmp = server.kill9();
    // A torn write after everything else: half a record at the end of the data.
    let data = biggest_datafile(&dir);
    let mut bytes = std::fs::read(&data).unwrap();
    let used = bytes.iter().rposition(|&b| b != 0).unwrap() + 1;
    bytes.truncate(used);
    bytes.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0x00, 0x05, 0x40]);
    std::fs::write(&data, &bytes).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bitcask-server"))
        .arg("--dir")
        .arg(&dir)
        .args(["--port", "0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = out;
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.contains("listening on");
        seen.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let log = seen.join("\n");
    assert!(log.contains("recovery: shard-0000: cut a torn tail"), "{log}");
    assert!(log.contains(".quarantine"), "{log}");
}

#[test]
fn info_persistence_reports_refused_writes_and_the_error() {
    let sim = SimStorage::new(5);
    let mut cfg = Config::for_dir("/db");
    cfg.sync = SyncPolicy::Never;
    let opts = store_options(&cfg);
    let db = ShardedBitcask::open_with_storage(Arc::new(sim.clone()), "/db", opts, Some(1), false)
        .unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || run_store(db, cfg, move |a| tx.send(a.port()).unwrap()));
    let mut c = Raw::connect(rx.recv().unwrap());
    assert_eq!(c.cmd(&["SET", "a", "1"]), Reply::ok());
    let p = info(&mut c, "persistence");
    assert_eq!(field(&p, "aof_last_write_status"), "ok");
    assert_eq!(field(&p, "bitcask_writes_refused"), "0");
    sim.set_faults(Some(FaultPlan { at_op: 0, fault: Fault::Eio, persistent: true, reads: false }));
    assert!(matches!(c.cmd(&["SET", "b", "2"]), Reply::Error(_)));
    assert!(matches!(c.cmd(&["SAVE"]), Reply::Error(_)));
    let p = info(&mut c, "persistence");
    assert_eq!(field(&p, "aof_last_write_status"), "err");
    assert_eq!(field(&p, "rdb_last_bgsave_status"), "err");
    assert_eq!(field(&p, "bitcask_writes_refused"), "1");
    assert!(!field(&p, "bitcask_write_error").is_empty(), "{p}");
    assert_eq!(c.cmd(&["GET", "a"]), Reply::bulk("1"));
}
