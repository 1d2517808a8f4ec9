//! `when_synced`: waiting for durability without blocking. A callback is told Ok only once
//! an fsync covered every write made before it was left; callers waiting together share
//! fsyncs; a failed fsync is told to every waiter it concerned; closing serves or refuses
//! what is queued, never leaves it waiting.

mod common;
use common::*;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use bitcask_core::{Error, Options, Result, ShardedBitcask, SyncPolicy};
use bitcask_testkit::{Fault, FaultPlan, Op, PowerLoss, SimStorage};

fn never() -> Options {
    Options { sync: SyncPolicy::Never, ..Options::default() }
}

/// Leaves a callback and returns where its result will arrive.
fn wait(db: &bitcask_core::Bitcask) -> mpsc::Receiver<Result<()>> {
    let (tx, rx) = mpsc::channel();
    db.when_synced(move |r| tx.send(r).unwrap());
    rx
}

fn told(rx: &mpsc::Receiver<Result<()>>) -> Result<()> {
    rx.recv_timeout(Duration::from_secs(30)).expect("the callback was called")
}

#[test]
fn ok_means_every_earlier_write_survives_a_power_cut() {
    let sim = SimStorage::new(1);
    let db = open(&sim, never());
    for i in 0..100 {
        db.put(&key(i), b"v").unwrap();
    }
    told(&wait(&db)).unwrap();
    db.put(b"after", b"unsynced").unwrap();
    sim.power_loss(PowerLoss::DropUnsynced);
    drop(db);
    let db = open(&sim, Options::default());
    assert_eq!(db.len(), 100, "every write before the callback, none after");
    assert_eq!(db.get(b"after").unwrap(), None);
}

#[test]
fn callers_waiting_together_share_fsyncs_and_nothing_new_costs_none() {
    let sim = SimStorage::new(2);
    sim.set_sync_delay(Duration::from_millis(5));
    let db = Arc::new(open(&sim, never()));
    told(&wait(&db)).unwrap(); // the first after an open always syncs
    sim.clear_log();
    let waits: Vec<_> = (0..64)
        .map(|i| {
            db.put(&key(i), b"v").unwrap();
            wait(&db)
        })
        .collect();
    waits.iter().for_each(|rx| told(rx).unwrap());
    let syncs = sim.log().iter().filter(|op| matches!(op, Op::Sync(_))).count();
    assert!(syncs > 0 && syncs * 4 <= 64, "{syncs} fsyncs for 64 waiters: not shared");
    sim.clear_log();
    told(&wait(&db)).unwrap();
    assert!(!sim.log().iter().any(|op| matches!(op, Op::Sync(_))), "a sync with nothing new");
}

#[test]
fn a_failed_fsync_is_told_to_its_waiters_and_the_store_refuses_writes() {
    let sim = SimStorage::new(3);
    let db = open(&sim, never());
    told(&wait(&db)).unwrap();
    db.put(b"a", b"1").unwrap();
    sim.set_faults(Some(FaultPlan {
        at_op: 0,
        fault: Fault::Eio,
        persistent: false,
        reads: false,
    }));
    let err = told(&wait(&db)).unwrap_err();
    assert!(matches!(err, Error::NotDurable { .. }), "{err}");
    assert!(sim.fault_fired());
    assert!(matches!(db.put(b"b", b"2"), Err(Error::Poisoned { .. })));
    // The write it waited for never becomes durable: later waiters are told so too.
    assert!(matches!(told(&wait(&db)), Err(Error::NotDurable { .. })));
}

#[test]
fn close_serves_what_is_queued_and_a_closed_store_refuses() {
    let sim = SimStorage::new(4);
    sim.set_sync_delay(Duration::from_millis(20));
    let db = open(&sim, never());
    let waits: Vec<_> = (0..8)
        .map(|i| {
            db.put(&key(i), b"v").unwrap();
            wait(&db)
        })
        .collect();
    db.close().unwrap();
    for rx in &waits {
        match told(rx) {
            Ok(()) | Err(Error::Closed) => {}
            Err(e) => panic!("{e}"),
        }
    }
    sim.power_loss(PowerLoss::DropUnsynced);
    let db2 = open(&sim, Options::default());
    assert_eq!(db2.len(), 8, "close made everything durable");
    drop(db2);
    // Nothing written since: the closed handle has nothing to wait for.
    assert!(told(&wait(&db)).is_ok());
}

#[test]
fn a_sharded_store_calls_back_once_every_shard_is_durable() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let sim = SimStorage::new(5);
    sim.set_sync_delay(Duration::from_millis(2));
    let storage = Arc::new(sim.clone());
    let db = Arc::new(
        ShardedBitcask::open_with_storage(storage, "/s", never(), Some(4), false).unwrap(),
    );
    for i in 0..200 {
        db.shard_for(&key(i)).unwrap().put(&key(i), b"v").unwrap();
    }
    let (tx, rx) = mpsc::channel();
    let calls = Arc::new(AtomicUsize::new(0));
    let (c, weak) = (calls.clone(), Arc::downgrade(&db));
    db.when_synced(move |r| {
        c.fetch_add(1, SeqCst);
        // Told when the last shard is durable, not the first.
        let all = weak.upgrade().is_some_and(|db| db.shards().iter().all(|s| !s.has_unsynced()));
        tx.send(r.map(|()| all)).unwrap()
    });
    let all = rx.recv_timeout(Duration::from_secs(30)).unwrap().unwrap();
    assert!(all, "a shard still had unsynced writes when the callback ran");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(calls.load(SeqCst), 1, "called once, by the last shard");
    sim.power_loss(PowerLoss::DropUnsynced);
    drop(db);
    let db =
        ShardedBitcask::open_with_storage(Arc::new(sim), "/s", Options::default(), None, false)
            .unwrap();
    assert_eq!(db.len(), 200);
}
