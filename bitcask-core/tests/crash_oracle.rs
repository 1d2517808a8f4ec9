//! The crash oracle: random histories of puts, TTL puts, deletes, batches, gets,
//! syncs, every kind of merge (`merge`, `merge_files` of random subsets, `merge_if_needed`,
//! the background merge thread), reopens and kills, under `Never` and `Always`, with the
//! power cut at every I/O operation of the run (or at evenly spread ones) and each of the
//! three power-loss modes. The reopened store must equal the model after a prefix of the
//! acknowledged history that holds everything acknowledged before the last successful sync.
//!
//! `BITCASK_CRASH_SCALE=n` multiplies the histories and the cut density.

mod common;

use bitcask_core::SyncPolicy;
use bitcask_testkit::oracle::{random_steps, sweep, Config};

fn scale() -> u64 {
    common::workload::scale() as u64
}

/// Runs `histories` histories of `len` steps per configuration and returns the crash
/// states checked.
fn run(configs: &[Config], histories: u64, len: usize, cuts: u64) -> u64 {
    // BITCASK_ORACLE_COUNT=1 counts violating histories instead of stopping at the first
    // (to measure a bug; the test still fails if any is found).
    let count = std::env::var_os("BITCASK_ORACLE_COUNT").is_some();
    let (mut states, mut mapped, mut violations) = (0, 0, 0);
    for cfg in configs {
        for seed in 0..histories {
            let steps = random_steps(seed * 31 + cfg.max_file_size, len);
            match sweep(cfg, &steps, cuts, seed) {
                Ok(o) => {
                    states += o.states;
                    mapped += o.mapped_reads;
                }
                Err(v) if count => {
                    violations += 1;
                    eprintln!("violation: {v}");
                }
                Err(v) => panic!("history {seed} {steps:?}\n{v}"),
            }
        }
    }
    eprintln!("{states} crash states checked, {violations} histories violated the contract");
    assert_eq!(violations, 0);
    assert!(mapped > 0, "the crash states read through maps");
    states
}

fn configs(background_merge: bool) -> Vec<Config> {
    sharded_configs(background_merge, 0)
}

fn sharded_configs(background_merge: bool, shards: u32) -> Vec<Config> {
    let mut v = Vec::new();
    for sync in [SyncPolicy::Never, SyncPolicy::Always] {
        for (max_file_size, mmap_reads) in [(128, true), (300, false)] {
            v.push(Config { sync, max_file_size, background_merge, mmap_reads, shards });
        }
    }
    v
}

#[test]
fn power_cut_at_any_operation_leaves_a_prefix_with_everything_synced() {
    let states = run(&configs(false), 24 * scale(), 40, 80 * scale());
    assert!(states > 15_000, "{states}");
}

#[test]
fn power_cut_with_the_background_merge_thread_running() {
    let states = run(&configs(true), 8 * scale(), 40, 40 * scale());
    assert!(states > 2_000, "{states}");
}

/// The same histories on a store of 4 shards (batches cut to one shard's keys): each
/// shard must recover a prefix of its own history holding everything synced.
#[test]
fn power_cut_in_a_sharded_store_leaves_a_prefix_in_every_shard() {
    let states = run(&sharded_configs(false, 4), 12 * scale(), 40, 60 * scale());
    assert!(states > 5_000, "{states}");
}

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Eight writers under `Always` (syncs take 200 µs, so they share them), a merge loop
/// beside them, and the power cut mid-run: every write acknowledged before the cut is
/// there after each power-loss mode.
#[test]
fn eight_synced_writers_keep_every_acknowledged_write_when_the_power_is_cut() {
    use bitcask_core::Options;
    use bitcask_testkit::{PowerLoss, SimStorage};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    let mut checked = 0;
    for round in 0..3 * scale() {
        let sim = SimStorage::new(round);
        sim.set_sync_delay(Duration::from_micros(200));
        let opts = Options { sync: SyncPolicy::Always, max_file_size: 2048, ..Options::default() };
        let db = Arc::new(common::open(&sim, opts.clone()));
        let acked: Arc<Mutex<Pairs>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for t in 0..8u8 {
            let (db, acked, stop) = (db.clone(), acked.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                let mut i = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let k = format!("t{t}-{i}").into_bytes();
                    let v = vec![t; 1 + (i % 40) as usize];
                    if db.put(&k, &v).is_err() {
                        break;
                    }
                    acked.lock().unwrap().push((k, v));
                    i += 1;
                }
            }));
        }
        let merger = {
            let (db, stop) = (db.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let _ = db.merge_if_needed();
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        std::thread::sleep(Duration::from_millis(30 + 10 * round));
        // On a busy machine the writers may need longer to get going.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while acked.lock().unwrap().len() <= 50 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        // The cut: the disk as it is now. Holding the list keeps later acks out of it.
        let (disk, before) = {
            let list = acked.lock().unwrap();
            (sim.fork(), list.clone())
        };
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        merger.join().unwrap();
        assert!(before.len() > 50, "round {round}: only {} acks before the cut", before.len());
        for mode in [PowerLoss::DropUnsynced, PowerLoss::KeepRandomPrefix, PowerLoss::TornWrite] {
            let d = disk.fork();
            d.power_loss(mode);
            let db = common::try_open(&d, opts.clone()).unwrap_or_else(|e| {
                panic!("round {round} {mode:?}: reopen after the cut failed: {e:?}")
            });
            for (k, v) in &before {
                let got = db.get(k).unwrap();
                assert_eq!(got.as_ref(), Some(v), "round {round} {mode:?}: lost {k:?}");
            }
            checked += before.len();
        }
    }
    eprintln!("{checked} acknowledged writes checked after power cuts");
}
