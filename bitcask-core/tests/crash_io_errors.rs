//! Crash-safety suite, tests 6 and 7: an I/O error at every operation of several workloads,
//! once and persistent; a full disk in the middle of a put and of a merge.
//! `BITCASK_CRASH_SCALE=n` runs n times as many seeds.

mod common;
use common::workload::{check_prefix, model_of, run, scale, workload, Run, Step};
use common::*;

use bitcask_core::{Bitcask, Error, Options, SyncPolicy};
use bitcask_testkit::{Fault, FaultPlan, SimStorage};

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
                        let case = format!("seed {seed} {sync:?} merges={merges} {fault:?} persistent={persistent} op {n}");
                        check_after_failure(&db, &r, &case);
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

/// After a failed write or sync the store refuses writes (poisoned) until reopened; after
/// a failed merge it is either poisoned (the merge had committed) or goes on. Either way
/// every read gives the acknowledged value (or, for the key of a failed write, the value
/// it would have written).
fn check_after_failure(db: &Bitcask, r: &Run, case: &str) {
    let Some(first) = &r.first_failure else { return };
    let after = db.put(b"after the failure", b"x");
    match first {
        // An aborted merge leaves the store writable: on a disk that keeps failing, the
        // next write then fails itself (and poisons the store).
        Step::Merge => assert!(
            matches!(after, Ok(()) | Err(Error::Poisoned { .. } | Error::Io { .. })),
            "{case}: after a failed merge: {after:?}"
        ),
        _ => assert!(
            matches!(after, Err(Error::Poisoned { .. })),
            "{case}: after a failed {first:?} the store is not poisoned: {after:?}"
        ),
    }
    let last = r.states.last().unwrap();
    let keys: std::collections::BTreeSet<&Vec<u8>> =
        last.keys().chain(r.uncertain.iter().flat_map(|m| m.keys())).collect();
    for k in keys {
        let got = db.get(k).unwrap_or_else(|e| panic!("{case}: reads go on, but get failed: {e}"));
        let ok = got.as_ref() == last.get(k)
            || r.uncertain.as_ref().is_some_and(|u| got.as_ref() == u.get(k));
        assert!(ok, "{case}: get({k:?}) = {got:?}, acknowledged {:?}", last.get(k));
    }
    if after.is_ok() {
        // Not poisoned: drop the probe again so the prefix check below sees the history.
        db.delete(b"after the failure").unwrap();
    }
}

/// Puts until the disk is full; returns the reopened store and how many puts were acked.
/// With mapped appends the disk fills at a preallocation, which fails whole: nothing is
/// written. With `pwrite` a record lands in part and recovery cuts it.
fn fill_the_disk(sim: &SimStorage, mmap_writes: bool) -> (Bitcask, usize) {
    let opts = Options { mmap_writes, ..small(4096) };
    let db = open(sim, opts.clone());
    let mut acked = 0;
    sim.set_capacity(Some(sim.disk_usage(&dir()) + 10_000));
    let err = loop {
        match db.put(&key(acked), &[7u8; 100]) {
            Ok(()) => acked += 1,
            Err(e) => break e,
        }
    };
    assert!(err.to_string().contains("No space left"), "{err}");
    assert!(acked > 10, "{acked} puts before the disk filled");
    assert!(matches!(db.put(b"x", b"y"), Err(Error::Poisoned { .. })));
    drop(db);
    sim.set_capacity(None); // space comes back
    let db = open(sim, opts);
    let cut = db.recovery_report().bytes_truncated;
    if mmap_writes {
        assert_eq!(cut, 0, "a failed preallocation writes nothing");
    } else {
        assert!(cut > 0, "the partial record was cut");
    }
    assert_eq!(db.len(), acked);
    for i in 0..acked {
        assert_eq!(db.get(&key(i)).unwrap(), Some(vec![7u8; 100]));
    }
    (db, acked)
}

#[test]
fn t7_a_full_disk_mid_put_and_mid_merge() {
    // A put that meets a full disk, on both write paths.
    fill_the_disk(&SimStorage::new(2), false);
    let sim = SimStorage::new(1);
    let (db, _) = fill_the_disk(&sim, true);
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
