//! `--sync always` means an OK follows an fsync: the server runs in this process on the
//! simulated disk, clients write on several connections, and the power is cut (each
//! power-loss mode on its own copy of the disk) while they do. Every write acknowledged
//! before the cut is in the recovered store.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use bitcask_core::{Options, ShardedBitcask, SyncPolicy};
use bitcask_server::{run_store, store_options, Config};
use bitcask_testkit::{PowerLoss, SimStorage};
use common::{Raw, Reply, WriteAllOk};

type Acked = Arc<Mutex<HashMap<Vec<u8>, Vec<u8>>>>;

fn writer(port: u16, t: usize, acked: Acked, stop: Arc<AtomicBool>) {
    let mut c = Raw::connect(port);
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let keys: Vec<(Vec<u8>, Vec<u8>)> = (0..3)
            .map(|j| {
                (
                    format!("t{t}:{i}:{j}").into_bytes(),
                    vec![b'a' + (i % 26) as u8; 1 + (i % 90) as usize],
                )
            })
            .collect();
        let mut frames = Vec::new();
        for (k, v) in &keys {
            frames.extend(Raw::frame(&[b"SET", k, v]));
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
}

#[test]
fn every_write_acknowledged_under_sync_always_survives_a_power_cut() {
    let mut checked = 0;
    for round in 0..3u64 {
        let sim = SimStorage::new(round);
        sim.set_sync_delay(Duration::from_micros(300));
        let mut cfg = Config::for_dir("/db");
        cfg.sync = SyncPolicy::Always;
        let db = ShardedBitcask::open_with_storage(
            Arc::new(sim.clone()),
            "/db",
            store_options(&cfg),
            Some(2),
            false,
        )
        .unwrap();
        let (tx, rx) = mpsc::channel();
        let server =
            std::thread::spawn(move || run_store(db, cfg, move |a| tx.send(a.port()).unwrap()));
        let port = rx.recv().unwrap();
        let acked: Acked = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..6)
            .map(|t| {
                let (acked, stop) = (acked.clone(), stop.clone());
                std::thread::spawn(move || writer(port, t, acked, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300 + 100 * round));
        // The cut: what was acknowledged so far, then the disk as it is this instant.
        let before = acked.lock().unwrap().clone();
        let disks: Vec<(PowerLoss, SimStorage)> =
            [PowerLoss::DropUnsynced, PowerLoss::KeepRandomPrefix, PowerLoss::TornWrite]
                .into_iter()
                .map(|m| (m, sim.fork()))
                .collect();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        let mut c = Raw::connect(port);
        c.send(&Raw::frame(&[b"SHUTDOWN"]));
        server.join().unwrap().unwrap();
        assert!(before.len() > 50, "the writers got going: {}", before.len());
        for (mode, disk) in disks {
            disk.power_loss(mode);
            let db = ShardedBitcask::open_with_storage(
                Arc::new(disk),
                "/db",
                Options::default(),
                None,
                false,
            )
            .unwrap();
            for (k, v) in &before {
                assert_eq!(
                    db.shard_for(k).unwrap().get(k).unwrap().as_ref(),
                    Some(v),
                    "{mode:?}: acknowledged {:?} lost",
                    String::from_utf8_lossy(k)
                );
            }
            checked += before.len();
        }
    }
    eprintln!("{checked} acknowledged writes checked after power cuts");
}
