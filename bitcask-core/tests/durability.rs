//! The durability contract of docs/durability.md, line by line, on the simulated disk.

mod common;
use common::*;

use std::sync::Arc;
use std::time::Duration;

use bitcask_core::{Error, Options, SyncPolicy, WriteBatch};
use bitcask_testkit::{Fault, FaultPlan, Op, PowerLoss, SimStorage};

fn with_sync(sync: SyncPolicy, max_file_size: u64) -> Options {
    Options { sync, max_file_size, ..Options::default() }
}

#[test]
fn contract_1_acknowledged_writes_survive_a_process_kill() {
    let sim = SimStorage::new(1);
    let db = open(&sim, with_sync(SyncPolicy::Never, 300));
    for i in 0..50 {
        db.put(&key(i), b"value").unwrap();
    }
    db.delete(&key(7)).unwrap();
    sim.kill_process();
    drop(db); // its close fails: the process is dead
    let db = open(&sim, Options::default());
    assert_eq!(db.len(), 49);
    assert_eq!(db.get(&key(7)).unwrap(), None);
    assert_eq!(db.get(&key(49)).unwrap(), Some(b"value".to_vec()));
}

#[test]
fn contract_2_always_means_synced_before_ok() {
    // Files made by rotation survive because their directory entry is
    // synced before a record in them is acknowledged.
    let sim = SimStorage::new(2);
    let db = open(&sim, with_sync(SyncPolicy::Always, 200));
    for i in 0..40 {
        db.put(&key(i), b"0123456789").unwrap();
    }
    let mut b = WriteBatch::new();
    b.put(b"batch-a", b"1").delete(&key(0));
    db.write(b).unwrap();
    assert!(data_files(&sim).len() > 3, "rotation happened");
    sim.power_loss(PowerLoss::DropUnsynced);
    drop(db);
    let db = open(&sim, Options::default());
    assert_eq!(db.len(), 40);
    assert_eq!(db.get(&key(0)).unwrap(), None);
    assert_eq!(db.get(b"batch-a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(db.get(&key(39)).unwrap(), Some(b"0123456789".to_vec()));
}

#[test]
fn contract_2_concurrent_synced_writers_share_fsyncs() {
    let sim = SimStorage::new(3);
    sim.set_sync_delay(Duration::from_millis(2));
    let db = Arc::new(open(&sim, with_sync(SyncPolicy::Always, 1 << 30)));
    sim.clear_log();
    let threads = 8;
    let per = 40;
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..per {
                    db.put(format!("{t}-{i}").as_bytes(), b"v").unwrap();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let syncs = sim.log().iter().filter(|op| matches!(op, Op::Sync(_))).count();
    let puts = threads * per;
    assert!(syncs * 3 <= puts, "{syncs} syncs for {puts} synced puts: not shared");
    assert!(syncs > 0);
}

#[test]
fn contract_3_every_millis_syncs_in_the_background() {
    let sim = SimStorage::new(4);
    let db = open(&sim, with_sync(SyncPolicy::EveryMillis(10), 1 << 20));
    db.put(b"k", b"v").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    sim.power_loss(PowerLoss::DropUnsynced);
    drop(db);
    assert_eq!(open(&sim, Options::default()).get(b"k").unwrap(), Some(b"v".to_vec()));
}

#[test]
fn control_never_loses_unsynced_writes_on_power_loss() {
    // Shows the power-loss tests above can fail: without a sync the write is gone.
    let sim = SimStorage::new(5);
    let db = open(&sim, with_sync(SyncPolicy::Never, 1 << 20));
    db.put(b"k", b"v").unwrap();
    sim.power_loss(PowerLoss::DropUnsynced);
    drop(db);
    assert_eq!(open(&sim, Options::default()).get(b"k").unwrap(), None);
}

#[test]
fn sync_is_not_a_no_op() {
    let sim = SimStorage::new(6);
    let db = open(&sim, with_sync(SyncPolicy::Never, 1 << 20));
    db.put(b"k", b"v").unwrap();
    sim.clear_log();
    db.sync().unwrap();
    assert!(sim
        .log()
        .iter()
        .any(|op| matches!(op, Op::Sync(p) if p.extension().is_some_and(|e| e == "data"))));
    sim.power_loss(PowerLoss::DropUnsynced);
    drop(db);
    assert_eq!(open(&sim, Options::default()).get(b"k").unwrap(), Some(b"v".to_vec()));
}

#[test]
fn a_sync_with_nothing_new_is_skipped_but_the_first_after_an_open_is_not() {
    // The server's group commit calls sync() for every shard; a shard with nothing unsynced
    // must cost no fsync. But the first sync after an open must fsync: a killed process may
    // have left writes in the page cache.
    let synced_data = |sim: &SimStorage| {
        sim.log()
            .iter()
            .any(|op| matches!(op, Op::Sync(p) if p.extension().is_some_and(|e| e == "data")))
    };
    let sim = SimStorage::new(8);
    let db = open(&sim, with_sync(SyncPolicy::Never, 1 << 20));
    db.put(b"k", b"v").unwrap();
    db.sync().unwrap();
    sim.clear_log();
    db.sync().unwrap();
    assert!(!synced_data(&sim), "nothing new: no fsync");
    db.put(b"k2", b"v").unwrap();
    db.sync().unwrap();
    assert!(synced_data(&sim));
    sim.kill_process();
    drop(db);
    let db = open(&sim, with_sync(SyncPolicy::Never, 1 << 20));
    sim.clear_log();
    db.sync().unwrap();
    assert!(synced_data(&sim), "the first sync after an open fsyncs");
}

#[test]
fn close_makes_everything_durable() {
    let sim = SimStorage::new(7);
    let db = open(&sim, with_sync(SyncPolicy::Never, 1 << 20));
    for i in 0..10 {
        db.put(&key(i), b"v").unwrap();
    }
    db.close().unwrap();
    sim.power_loss(PowerLoss::DropUnsynced);
    assert_eq!(open(&sim, Options::default()).len(), 10);
}

#[test]
fn close_on_a_poisoned_store_is_an_error() {
    // Issue 12, hole 2: close() said Ok without syncing after a failed write.
    let sim = SimStorage::new(17);
    let db = open(&sim, with_sync(SyncPolicy::Never, 1 << 20));
    db.put(b"acked", b"1").unwrap();
    sim.set_faults(Some(FaultPlan {
        at_op: 0,
        fault: Fault::Eio,
        persistent: false,
        reads: false,
    }));
    assert!(db.put(b"failed", b"2").is_err());
    let closed = db.close();
    assert!(matches!(closed, Err(Error::Poisoned { .. })), "{closed:?}");
}

#[test]
fn close_says_ok_only_when_everything_acknowledged_is_durable() {
    // A fault at every operation of a workload, then close, then a power loss that drops
    // every unsynced write: whenever close said Ok, every acknowledged write is there.
    use common::workload::{model_of, run, workload};
    let steps = workload(5, 60, true);
    let (mut oks, mut errs) = (0, 0);
    for at_op in 0..400u64 {
        for fault in [Fault::Eio, Fault::Enospc] {
            let sim = SimStorage::new(at_op);
            let db = open(&sim, with_sync(SyncPolicy::Never, 256));
            sim.set_faults(Some(FaultPlan { at_op, fault, persistent: false, reads: false }));
            let r = run(&db, &steps, false, true);
            let acked = r.states.last().cloned().unwrap_or_default();
            let closed = db.close();
            sim.power_loss(PowerLoss::DropUnsynced);
            let got = model_of(&open(&sim, Options::default()));
            match closed {
                Ok(()) => {
                    oks += 1;
                    assert_eq!(got, acked, "close said Ok at op {at_op} ({fault:?})");
                }
                Err(_) => errs += 1,
            }
        }
    }
    assert!(oks > 0 && errs > 0, "both outcomes covered: {oks} Ok, {errs} errors");
}

#[test]
fn contract_4_directory_synced_before_a_record_in_a_new_file_is_acked() {
    let sim = SimStorage::new(8);
    let db = open(&sim, with_sync(SyncPolicy::Always, 150));
    for i in 0..30 {
        db.put(&key(i), b"0123456789").unwrap();
    }
    drop(db);
    let log = sim.log();
    let mut checked = 0;
    for (i, op) in log.iter().enumerate() {
        let Op::Create(p) = op else { continue };
        if p.extension().is_none_or(|e| e != "data") {
            continue;
        }
        let first_record =
            log[i..].iter().position(|o| matches!(o, Op::Write(q, off, _) if q == p && *off > 0));
        let dir_sync = log[i..].iter().position(|o| matches!(o, Op::SyncDir(_)));
        if let Some(w) = first_record {
            assert!(
                dir_sync.is_some_and(|d| d < w),
                "{p:?}: record written before its directory entry was synced"
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} new files checked");
}

#[test]
fn contract_5_a_failed_write_poisons_until_reopen() {
    // Op 0 is the record's `pwrite`, or its copy into the map (already preallocated by
    // the first put; a fault there models a process killed mid-copy: half of it lands).
    // A failed preallocation is `t7_a_full_disk_mid_put_and_mid_merge`.
    for fault in [Fault::Eio, Fault::Enospc] {
        for mmap_writes in [false, true] {
            let case = format!("{fault:?}, mmap_writes {mmap_writes}");
            let sim = SimStorage::new(9);
            let opts = Options { mmap_writes, ..with_sync(SyncPolicy::Never, 1 << 20) };
            let db = open(&sim, opts.clone());
            db.put(b"before", b"1").unwrap();
            sim.set_faults(Some(FaultPlan { at_op: 0, fault, persistent: false, reads: false }));
            let err = db.put(b"failed", &[7u8; 100]).unwrap_err();
            assert!(matches!(err, Error::Io { .. }), "{case}: {err}");
            // The fault was one-off, but the store does not retry or go on.
            assert!(matches!(db.put(b"after", b"2"), Err(Error::Poisoned { .. })), "{case}");
            assert!(matches!(db.delete(b"before"), Err(Error::Poisoned { .. })));
            assert!(matches!(db.write(WriteBatch::new()), Err(Error::Poisoned { .. })));
            // Reads go on.
            assert_eq!(db.get(b"before").unwrap(), Some(b"1".to_vec()));
            drop(db);
            // Reopen: acknowledged data is there, a half-written record is cut off, and
            // writes resume (the space came back).
            let db = open(&sim, opts);
            assert_eq!(db.get(b"before").unwrap(), Some(b"1".to_vec()));
            assert_eq!(db.get(b"failed").unwrap(), None);
            let cut = db.recovery_report().bytes_truncated;
            assert!(cut > 0, "{case}: the torn record was cut: {:?}", db.recovery_report());
            db.put(b"after", b"2").unwrap();
            assert_eq!(db.get(b"after").unwrap(), Some(b"2".to_vec()));
        }
    }
}

#[test]
fn contract_5_a_failed_fsync_is_never_retried_and_acknowledged() {
    let sim = SimStorage::new(10);
    let db = open(&sim, with_sync(SyncPolicy::Always, 1 << 20));
    db.put(b"a", b"1").unwrap();
    // A synced put is a write (op 0) and a sync (op 1): fail the sync.
    sim.set_faults(Some(FaultPlan {
        at_op: 1,
        fault: Fault::Eio,
        persistent: false,
        reads: false,
    }));
    sim.clear_log();
    let err = db.put(b"b", b"2").unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(sim.fault_fired());
    assert!(matches!(db.put(b"c", b"3"), Err(Error::Poisoned { .. })));
    assert!(matches!(db.sync(), Err(Error::Poisoned { .. })));
    assert!(!sim.log().iter().any(|op| matches!(op, Op::Sync(_))), "the failed sync was retried");
    sim.power_loss(PowerLoss::DropUnsynced);
    drop(db);
    let db = open(&sim, Options::default());
    assert_eq!(db.get(b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(db.get(b"c").unwrap(), None);
}

#[test]
fn contract_6_a_crash_leaves_a_prefix_of_the_acknowledged_history() {
    use common::workload::{check_prefix, model_of, run, workload};
    let mut cases = 0;
    for seed in 1..=40u64 {
        for mode in [PowerLoss::DropUnsynced, PowerLoss::KeepRandomPrefix, PowerLoss::TornWrite] {
            for sync in [SyncPolicy::Never, SyncPolicy::Always] {
                let sim = SimStorage::new(seed * 7 + mode as u64);
                let db = open(&sim, with_sync(sync, 256));
                let r = run(&db, &workload(seed, 60, false), sync == SyncPolicy::Always, true);
                assert_eq!(r.errors, 0);
                sim.power_loss(mode);
                drop(db);
                let db = open(&sim, with_sync(sync, 256));
                if let Err(e) = check_prefix(&model_of(&db), &r) {
                    panic!("seed {seed} {mode:?} {sync:?}: {e}");
                }
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 240);
}

#[test]
fn sync_after_a_crash_covers_the_dead_process_writes() {
    // Found by the model test: the new process had written nothing, so sync() skipped the
    // fsync and the dead process's writes stayed volatile.
    let sim = SimStorage::new(11);
    let db = open(&sim, with_sync(SyncPolicy::Never, 1 << 20));
    db.put(b"k", b"v").unwrap();
    sim.kill_process();
    drop(db);
    let db = open(&sim, with_sync(SyncPolicy::Never, 1 << 20));
    db.sync().unwrap();
    sim.power_loss(PowerLoss::DropUnsynced);
    drop(db);
    assert_eq!(open(&sim, Options::default()).get(b"k").unwrap(), Some(b"v".to_vec()));
}

#[test]
fn a_file_left_by_a_failed_rotation_is_made_durable_before_reuse() {
    // Found by the ops_model fuzzer: the rotation created the next file but
    // failed to sync the directory; reopen reused that file, and synced puts into it were
    // acknowledged while its directory entry could still vanish.
    let sim = SimStorage::new(12);
    let db = open(&sim, with_sync(SyncPolicy::Always, 100));
    db.put(b"first", &[1u8; 60]).unwrap();
    // The next put rotates: sync old (0), create (1), header (2), sync new (3), sync dir (4).
    sim.set_faults(Some(FaultPlan {
        at_op: 4,
        fault: Fault::Eio,
        persistent: false,
        reads: false,
    }));
    assert!(db.put(b"second", &[2u8; 60]).is_err());
    sim.kill_process();
    drop(db);
    let db = open(&sim, with_sync(SyncPolicy::Always, 100));
    db.put(b"third", b"acknowledged and synced").unwrap();
    sim.power_loss(PowerLoss::DropUnsynced);
    drop(db);
    let db = open(&sim, Options::default());
    assert_eq!(db.get(b"third").unwrap(), Some(b"acknowledged and synced".to_vec()));
    assert_eq!(db.get(b"first").unwrap(), Some(vec![1u8; 60]));
}

#[test]
fn a_write_waiting_for_a_sync_that_fails_is_not_durable_not_refused() {
    // Found by the ops_model fuzzer (background merges): a write whose bytes were in the
    // file was reported as Poisoned (which promises nothing was written) because another
    // thread's failure poisoned the store while it waited for its fsync. It is NotDurable:
    // its outcome is unknown, as for any failed write.
    let sim = SimStorage::new(21);
    // The operations counted below are those of `pwrite` appends (mapped appends add a
    // preallocation before the first write).
    let opts = Options { mmap_writes: false, ..with_sync(SyncPolicy::Always, 1 << 20) };
    let db = Arc::new(open(&sim, opts));
    // Long enough that the two other puts surely write while it runs, even on a busy machine.
    sim.set_sync_delay(Duration::from_millis(1000));
    // op 0: the first put's write, op 1: its sync (slow, succeeds), ops 2 and 3: two more
    // puts' writes while it runs, op 4: the sync point after that sync, op 5: the next
    // sync, which fails.
    sim.set_faults(Some(FaultPlan {
        at_op: 5,
        fault: Fault::Eio,
        persistent: false,
        reads: false,
    }));
    let first = {
        let db = db.clone();
        std::thread::spawn(move || db.put(b"first", b"1"))
    };
    std::thread::sleep(Duration::from_millis(30));
    let others: Vec<_> = [&b"second"[..], b"third"]
        .into_iter()
        .map(|k| {
            let db = db.clone();
            std::thread::spawn(move || db.put(k, b"2"))
        })
        .collect();
    assert!(first.join().unwrap().is_ok());
    let results: Vec<_> = others.into_iter().map(|t| t.join().unwrap()).collect();
    let io = results.iter().filter(|r| matches!(r, Err(Error::Io { .. }))).count();
    let not_durable = results.iter().filter(|r| matches!(r, Err(Error::NotDurable { .. }))).count();
    assert_eq!((io, not_durable), (1, 1), "{results:?}");
    // A write after the failure is refused.
    assert!(matches!(db.put(b"fourth", b"3"), Err(Error::Poisoned { .. })));
}
