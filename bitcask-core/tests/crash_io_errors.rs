//! Crash-safety suite, tests 6 and 7: an I/O error at every operation of several workloads,
//! once and persistent; a full disk in the middle of a put and of a merge.
//! `BITCASK_CRASH_SCALE=n` runs n times as many seeds.

mod common;
use common::workload::{check_prefix, model_of, run, scale, workload};
use common::*;

use bitcask_core::{Error, Fault, FaultPlan, Options, SimStorage, SyncPolicy};

#[test]
fn t6_io_error_at_every_operation() {
    let mut cases = 0;
    for seed in 0..2 * scale() as u64 {
        for (sync, max, merges) in [
            (SyncPolicy::Never, 1 << 20, false),
            (SyncPolicy::Always, 160, false),
            (SyncPolicy::Always, 160, true),
        ] {
            let opts = Options { sync, max_file_size: max, ..Options::default() };
            let steps = workload(seed + 10, 40, merges);
            for persistent in [false, true] {
                for fault in [Fault::Eio, Fault::Enospc] {
                    let mut n = 0;
                    loop {
                        let sim = SimStorage::new(seed + n);
                        let db = open(&sim, opts.clone());
                        sim.set_faults(Some(FaultPlan {
                            at_op: n,
                            fault,
                            persistent,
                            reads: false,
                        }));
                        // Keep going after errors: every later write must be refused.
                        let r = run(&db, &steps, sync == SyncPolicy::Always, false);
                        let fired = sim.fault_fired();
                        if r.uncertain.is_some() {
                            let e = db.put(b"after the failure", b"x").unwrap_err();
                            assert!(matches!(e, Error::Poisoned { .. } | Error::Io { .. }), "{e}");
                            assert!(db.get(&key(0)).is_ok(), "reads go on");
                        }
                        sim.kill_process();
                        drop(db);
                        let db = open(&sim, opts.clone());
                        if let Err(e) = check_prefix(&model_of(&db), &r) {
                            panic!("seed {seed} {sync:?} merges={merges} {fault:?} persistent={persistent} op {n}: {e}");
                        }
                        // Nothing acknowledged was lost: the state is the last acknowledged
                        // one (or includes the failed write).
                        let last = r.states.last().unwrap();
                        assert!(
                            &model_of(&db) == last || Some(&model_of(&db)) == r.uncertain.as_ref()
                        );
                        db.put(b"resumed", b"1").unwrap();
                        cases += 1;
                        if !fired {
                            break;
                        }
                        n += 1;
                    }
                    assert!(n > 20);
                }
            }
        }
    }
    eprintln!("t6: {cases} fault cases checked");
    assert!(cases > 1000 * scale(), "{cases}");
}

#[test]
fn t7_a_full_disk_mid_put_and_mid_merge() {
    // A put that meets a full disk.
    let sim = SimStorage::new(1);
    let db = open(&sim, small(4096));
    let mut acked = 0;
    sim.set_capacity(Some(sim.disk_usage(&dir()) + 3000));
    let err = loop {
        match db.put(&key(acked), &[7u8; 100]) {
            Ok(()) => acked += 1,
            Err(e) => break e,
        }
    };
    assert!(err.to_string().contains("No space left"), "{err}");
    assert!(matches!(db.put(b"x", b"y"), Err(Error::Poisoned { .. })));
    drop(db);
    sim.set_capacity(None); // space comes back
    let db = open(&sim, small(4096));
    assert!(db.recovery_report().bytes_truncated > 0, "the partial record was cut");
    assert_eq!(db.len(), acked);
    for i in 0..acked {
        assert_eq!(db.get(&key(i)).unwrap(), Some(vec![7u8; 100]));
    }
    db.put(b"resumed", b"1").unwrap();

    // A merge that meets a full disk: it aborts, leaves nothing behind, and the store goes on.
    for i in 0..200 {
        db.put(&key(i % 40), &[i as u8; 100]).unwrap();
    }
    let before = model_of(&db);
    let files_before = sim.files(&dir());
    sim.set_capacity(Some(sim.disk_usage(&dir()) + 2000));
    let err = db.merge().unwrap_err();
    assert!(err.to_string().contains("No space left"), "{err}");
    assert!(sim.files(&dir()).iter().all(|f| !f.ends_with(".tmp")), "partial outputs left behind");
    assert_eq!(model_of(&db), before);
    sim.set_capacity(None);
    db.put(b"after merge failure", b"ok").unwrap();
    let report = db.merge().unwrap();
    assert!(report.bytes_reclaimed > 0);
    drop(db);
    let db = open(&sim, small(4096));
    let mut expected = before;
    expected.insert(b"after merge failure".to_vec(), b"ok".to_vec());
    assert_eq!(model_of(&db), expected);
    assert!(sim.files(&dir()).len() < files_before.len() + 2);
}
