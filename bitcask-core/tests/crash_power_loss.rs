//! Crash-safety suite, tests 4 and 5: power loss after every I/O operation of several
//! workloads, in every drop mode; and a second crash during the recovery of each state.
//! `BITCASK_CRASH_SCALE=n` runs n seeds per workload instead of one.

mod common;
use common::workload::{check_prefix, model_of, run, scale, workload, Run, Step};
use common::*;

use bitcask_core::{Bitcask, Options, SyncPolicy};
use bitcask_testkit::{Fault, FaultPlan, PowerLoss, SimStorage};

const MODES: [PowerLoss; 3] =
    [PowerLoss::DropUnsynced, PowerLoss::KeepRandomPrefix, PowerLoss::TornWrite];

struct Workload {
    name: &'static str,
    opts: Options,
    steps: Vec<Step>,
}

fn workloads(seed: u64) -> Vec<Workload> {
    let o = |sync, max_file_size| Options { sync, max_file_size, ..Options::default() };
    vec![
        Workload {
            name: "puts, sync never",
            opts: o(SyncPolicy::Never, 1 << 20),
            steps: workload(seed, 40, false),
        },
        Workload {
            name: "puts, sync always",
            opts: o(SyncPolicy::Always, 1 << 20),
            steps: workload(seed, 40, false),
        },
        Workload {
            name: "puts, sync every 1 ms",
            opts: o(SyncPolicy::EveryMillis(1), 1 << 20),
            steps: workload(seed, 40, false),
        },
        Workload {
            name: "rotation and batches",
            opts: o(SyncPolicy::Never, 160),
            steps: workload(seed + 1, 50, false),
        },
        Workload {
            name: "merges",
            opts: o(SyncPolicy::Always, 160),
            steps: workload(seed + 2, 50, true),
        },
    ]
}

/// Runs `w` with the disk failing from operation `n` on (the process dies there), then
/// loses power. Returns the acknowledged history, or `None` once `n` is past the workload.
fn crash_at(w: &Workload, n: u64, mode: PowerLoss, seed: u64) -> Option<(SimStorage, Run)> {
    let sim = SimStorage::new(seed ^ (n << 8) ^ mode as u64);
    let db = open(&sim, w.opts.clone());
    sim.set_faults(Some(FaultPlan { at_op: n, fault: Fault::Eio, persistent: true, reads: false }));
    let r = run(&db, &w.steps, w.opts.sync == SyncPolicy::Always, true);
    let fired = sim.fault_fired();
    sim.power_loss(mode);
    drop(db);
    fired.then_some((sim, r))
}

fn reopen(sim: &SimStorage, w: &Workload) -> Bitcask {
    Bitcask::open_with_storage(std::sync::Arc::new(sim.clone()), dir(), w.opts.clone(), false)
        .unwrap_or_else(|e| panic!("{}: reopen failed: {e}", w.name))
}

#[test]
fn t4_power_loss_after_every_operation() {
    let mut states = 0;
    for seed in 0..3 * scale() as u64 {
        for w in workloads(seed) {
            for mode in MODES {
                let mut n = 0;
                while let Some((sim, r)) = crash_at(&w, n, mode, seed) {
                    let db = reopen(&sim, &w);
                    if let Err(e) = check_prefix(&model_of(&db), &r) {
                        panic!("{} / {mode:?} / crash at op {n}: {e}", w.name);
                    }
                    n += 1;
                    states += 1;
                }
                assert!(n > 20, "{}: only {n} operations", w.name);
            }
        }
    }
    eprintln!("t4: {states} crash states checked");
    assert!(states > 2000 * scale(), "{states}");
}

#[test]
fn t5_a_crash_during_recovery_recovers_the_same() {
    let mut cases = 0;
    for seed in 0..3 * scale() as u64 {
        for w in workloads(seed) {
            for mode in [PowerLoss::DropUnsynced, PowerLoss::TornWrite] {
                // Every 4th crash state of test 4.
                let mut n = 0;
                while let Some((sim, _)) = crash_at(&w, n, mode, seed) {
                    let expected = model_of(&reopen(&sim.fork(), &w));
                    // Crash the recovery itself at each of its operations.
                    let mut m = 0;
                    loop {
                        let second = sim.fork();
                        second.set_faults(Some(FaultPlan {
                            at_op: m,
                            fault: Fault::Eio,
                            persistent: true,
                            reads: false,
                        }));
                        let attempt = Bitcask::open_with_storage(
                            std::sync::Arc::new(second.clone()),
                            dir(),
                            w.opts.clone(),
                            false,
                        );
                        let fired = second.fault_fired();
                        drop(attempt);
                        second.power_loss(mode);
                        let got = model_of(&reopen(&second, &w));
                        assert_eq!(
                            got, expected,
                            "{} / {mode:?} / crash at op {n}, recovery crashed at op {m}",
                            w.name
                        );
                        cases += 1;
                        if !fired {
                            break;
                        }
                        m += 1;
                    }
                    n += 4;
                }
            }
        }
    }
    eprintln!("t5: {cases} double-crash cases checked");
    assert!(cases > 500 * scale(), "{cases}");
}
