//! Hashes, sets, lists and sorted sets under `--sync always`, power cut while writers run (each power-loss mode
//! on its own copy of the disk): the reopened server holds, for every collection, exactly
//! the state after some prefix of its writer's commands that includes every acknowledged
//! one. HSET, HDEL, SADD, SREM, RPUSH, LPOP, ZINCRBY (a member's record moves to a new key
//! with its score), ZPOPMIN, ZREM and DEL of whole collections (re-created at once under
//! the same key) are in flight, with merges of small datafiles running beside them.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use bitcask_core::{ShardedBitcask, SyncPolicy};
use bitcask_server::{run_store, store_options, Config};
use bitcask_testkit::{PowerLoss, SimStorage};
use common::{text_pairs, Raw, Reply};

/// One writer's collections: its hash, set, list and sorted set.
#[derive(Clone, Default, PartialEq, Debug)]
struct State {
    hash: BTreeMap<String, String>,
    set: BTreeSet<String>,
    list: Vec<String>,
    zset: BTreeMap<String, i64>,
}

/// Writer `t`'s sorted-set command `i` and what it does to the model.
fn zset_command(t: usize, i: usize, s: &mut State) -> Vec<String> {
    let z = format!("z{t}");
    // Few members, so most increments move one that exists.
    let m = format!("m{}", (i * 5) % 7);
    match (i / 13) % 8 {
        0..=4 => {
            let by = (i % 7) as i64 - 2;
            *s.zset.entry(m.clone()).or_default() += by;
            vec!["ZINCRBY".into(), z, by.to_string(), m]
        }
        5 => {
            let min = s.zset.iter().min_by_key(|(m, &sc)| (sc, (*m).clone()));
            if let Some(min) = min.map(|(m, _)| m.clone()) {
                s.zset.remove(&min);
            }
            vec!["ZPOPMIN".into(), z]
        }
        6 => {
            s.zset.remove(&m);
            vec!["ZREM".into(), z, m]
        }
        _ => {
            s.zset.clear();
            vec!["DEL".into(), z]
        }
    }
}

/// A writer's states: `states[i]` after its first `i` commands; `acked` of them answered.
#[derive(Default)]
struct History {
    states: Vec<State>,
    acked: usize,
}

/// Writer `t`'s command `i` and what it does to the model.
fn command(t: usize, i: usize, s: &mut State) -> Vec<String> {
    let (h, set, list) = (format!("h{t}"), format!("s{t}"), format!("l{t}"));
    if i % 13 >= 11 {
        return zset_command(t, i, s);
    }
    let cmd: Vec<String> = match i % 13 {
        0 | 3 | 6 => {
            let (f, v) = (format!("f{}", i % 37), format!("v{i}"));
            s.hash.insert(f.clone(), v.clone());
            vec!["HSET".into(), h, f, v]
        }
        1 | 4 | 7 => {
            let m = format!("m{}", (i * 7) % 41);
            s.set.insert(m.clone());
            vec!["SADD".into(), set, m]
        }
        2 | 8 => {
            let f = format!("f{}", (i * 5) % 37);
            s.hash.remove(&f);
            vec!["HDEL".into(), h, f]
        }
        5 => {
            let m = format!("m{}", (i * 3) % 41);
            s.set.remove(&m);
            vec!["SREM".into(), set, m]
        }
        9 => {
            s.list.push(format!("v{i}"));
            vec!["RPUSH".into(), list, format!("v{i}")]
        }
        _ if i.is_multiple_of(3) => {
            s.hash.clear();
            vec!["DEL".into(), h]
        }
        _ if i % 3 == 1 => {
            if !s.list.is_empty() {
                s.list.remove(0);
            }
            vec!["LPOP".into(), list]
        }
        _ => {
            s.set.clear();
            vec!["DEL".into(), set]
        }
    };
    cmd
}

/// Asks for a merge of every shard, again and again, until `stop`; how many merged files.
fn merger(port: u16, stop: Arc<AtomicBool>) -> usize {
    let mut c = Raw::connect(port);
    let mut merged = 0;
    while !stop.load(Ordering::Relaxed) {
        // RESP2's flat map: files_merged, n, files_written, n, bytes_reclaimed, n (or an
        // error while a background merge runs).
        if let Reply::Array(v) = c.cmd(&["BITCASK.MERGE"]) {
            merged += usize::from(matches!(v.get(1), Some(Reply::Int(n)) if *n > 0));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    merged
}

fn writer(port: u16, t: usize, log: Arc<Mutex<History>>, stop: Arc<AtomicBool>) {
    let mut c = Raw::connect(port);
    let mut state = State::default();
    log.lock().unwrap().states.push(state.clone());
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let cmd = command(t, i, &mut state);
        log.lock().unwrap().states.push(state.clone());
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        c.send(&Raw::frame(&args));
        match c.try_read() {
            Some(Reply::Int(_) | Reply::Bulk(_) | Reply::Nil | Reply::Array(_)) => {
                log.lock().unwrap().acked = i + 1
            }
            _ => return,
        }
        i += 1;
    }
}

/// Serves the store on `sim` in this process; its port and the server's thread.
fn serve(
    sim: SimStorage,
) -> (u16, std::thread::JoinHandle<Result<(), bitcask_server::ServeError>>) {
    let mut cfg = Config::for_dir("/db");
    cfg.sync = SyncPolicy::Always;
    // Small datafiles, so the merges running beside the writers have files to merge.
    let opts = bitcask_core::Options { max_file_size: 16 * 1024, ..store_options(&cfg) };
    let db = ShardedBitcask::open_with_storage(Arc::new(sim), "/db", opts, Some(2), false).unwrap();
    let (tx, rx) = mpsc::channel();
    let server =
        std::thread::spawn(move || run_store(db, cfg, move |a| tx.send(a.port()).unwrap()));
    (rx.recv().unwrap(), server)
}

fn shutdown(port: u16, server: std::thread::JoinHandle<Result<(), bitcask_server::ServeError>>) {
    let mut c = Raw::connect(port);
    c.send(&Raw::frame(&[b"SHUTDOWN"]));
    server.join().unwrap().unwrap();
}

fn read_state(c: &mut Raw, t: usize) -> State {
    let hash = text_pairs(c.cmd(&["HGETALL", &format!("h{t}")])).into_iter().collect();
    let set = c.cmd(&["SMEMBERS", &format!("s{t}")]).items().iter().map(Reply::text).collect();
    let list =
        c.cmd(&["LRANGE", &format!("l{t}"), "0", "-1"]).items().iter().map(Reply::text).collect();
    let scored = text_pairs(c.cmd(&["ZRANGE", &format!("z{t}"), "0", "-1", "WITHSCORES"]));
    let zset = scored.into_iter().map(|(m, s)| (m, s.parse().unwrap())).collect();
    State { hash, set, list, zset }
}

#[test]
fn every_acknowledged_collection_write_survives_a_power_cut_and_nothing_else_comes_back() {
    let (mut checked, mut merged) = (0, 0);
    for round in 0..3u64 {
        let sim = SimStorage::new(100 + round);
        sim.set_sync_delay(Duration::from_micros(200));
        let (port, server) = serve(sim.clone());
        let logs: Vec<Arc<Mutex<History>>> = (0..4).map(|_| Arc::default()).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = logs
            .iter()
            .enumerate()
            .map(|(t, log)| {
                let (log, stop) = (log.clone(), stop.clone());
                std::thread::spawn(move || writer(port, t, log, stop))
            })
            .collect();
        let merges = {
            let stop = stop.clone();
            std::thread::spawn(move || merger(port, stop))
        };
        std::thread::sleep(Duration::from_millis(300 + 100 * round));
        let acked: Vec<usize> = logs.iter().map(|l| l.lock().unwrap().acked).collect();
        let disks: Vec<(PowerLoss, SimStorage)> =
            [PowerLoss::DropUnsynced, PowerLoss::KeepRandomPrefix, PowerLoss::TornWrite]
                .into_iter()
                .map(|m| (m, sim.fork()))
                .collect();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        merged += merges.join().unwrap();
        shutdown(port, server);
        assert!(acked.iter().all(|&n| n > 20), "the writers got going: {acked:?}");
        for (mode, disk) in disks {
            disk.power_loss(mode);
            let (port, server) = serve(disk);
            let mut c = Raw::connect(port);
            for (t, log) in logs.iter().enumerate() {
                let found = read_state(&mut c, t);
                let states = &log.lock().unwrap().states;
                let ok = states.iter().skip(acked[t]).any(|s| *s == found);
                assert!(
                    ok,
                    "{mode:?}: writer {t} holds {found:?}, no state from command {}",
                    acked[t]
                );
                checked += acked[t];
            }
            drop(c);
            shutdown(port, server);
        }
    }
    eprintln!("{checked} acknowledged collection writes checked after power cuts, {merged} merges");
    assert!(merged > 0, "no merge ran beside the writers");
}
