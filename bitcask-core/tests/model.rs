//! A state machine: random puts, deletes, batches, gets, expiring puts, reopens, crashes and
//! merges on a tiny `max_file_size`, checked after every step against a `BTreeMap` model.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::time::Duration;

use bitcask_core::{Bitcask, FileId, Options, SyncPolicy, WriteBatch};
use bitcask_testkit::{PowerLoss, SimStorage};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    Put(u8, Vec<u8>),
    PutExpired(u8),
    PutLongTtl(u8, Vec<u8>),
    Delete(u8),
    Batch(Vec<(u8, Option<Vec<u8>>)>),
    Get(u8),
    Reopen,
    Kill,
    SyncThenPowerLoss,
    Merge,
    MergeOne(usize),
}

fn step() -> impl Strategy<Value = Step> {
    let k = 0u8..16;
    let v = proptest::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        6 => (k.clone(), v.clone()).prop_map(|(k, v)| Step::Put(k, v)),
        1 => k.clone().prop_map(Step::PutExpired),
        1 => (k.clone(), v.clone()).prop_map(|(k, v)| Step::PutLongTtl(k, v)),
        3 => k.clone().prop_map(Step::Delete),
        2 => proptest::collection::vec((k.clone(), proptest::option::of(v)), 1..6).prop_map(Step::Batch),
        2 => k.prop_map(Step::Get),
        1 => Just(Step::Reopen),
        1 => Just(Step::Kill),
        1 => Just(Step::SyncThenPowerLoss),
        1 => Just(Step::Merge),
        1 => (0usize..8).prop_map(Step::MergeOne),
    ]
}

fn k(i: u8) -> Vec<u8> {
    vec![b'k', i]
}

fn opts() -> Options {
    Options { max_file_size: 160, sync: SyncPolicy::Never, ..Options::default() }
}

fn check(db: &Bitcask, model: &BTreeMap<Vec<u8>, Vec<u8>>) -> Result<(), TestCaseError> {
    let got: BTreeMap<Vec<u8>, Vec<u8>> = contents(db).into_iter().collect();
    prop_assert_eq!(&got, model);
    prop_assert_eq!(db.len(), model.len());
    let live: u64 = db.stats().files.iter().map(|f| f.live_keys).sum();
    prop_assert_eq!(live as usize, model.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn engine_matches_a_btreemap(steps in proptest::collection::vec(step(), 1..80), seed in any::<u64>()) {
        let sim = SimStorage::new(seed);
        let mut db = open(&sim, opts());
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for s in steps {
            match s {
                Step::Put(i, v) => { db.put(&k(i), &v).unwrap(); model.insert(k(i), v); }
                Step::PutExpired(i) => {
                    db.put_with_ttl(&k(i), b"brief", Duration::ZERO).unwrap();
                    model.remove(&k(i));
                }
                Step::PutLongTtl(i, v) => {
                    db.put_with_ttl(&k(i), &v, Duration::from_secs(86_400)).unwrap();
                    model.insert(k(i), v);
                }
                Step::Delete(i) => {
                    let existed = db.delete(&k(i)).unwrap();
                    prop_assert_eq!(existed, model.remove(&k(i)).is_some());
                }
                Step::Batch(ops) => {
                    let mut b = WriteBatch::new();
                    for (i, v) in &ops {
                        match v {
                            Some(v) => { b.put(&k(*i), v); model.insert(k(*i), v.clone()); }
                            None => { b.delete(&k(*i)); model.remove(&k(*i)); }
                        }
                    }
                    db.write(b).unwrap();
                }
                Step::Get(i) => prop_assert_eq!(db.get(&k(i)).unwrap(), model.get(&k(i)).cloned()),
                Step::Reopen => { drop(db); db = open(&sim, opts()); }
                Step::Kill => { sim.kill_process(); drop(db); db = open(&sim, opts()); }
                Step::SyncThenPowerLoss => {
                    db.sync().unwrap();
                    sim.power_loss(PowerLoss::TornWrite);
                    drop(db);
                    db = open(&sim, opts());
                }
                Step::Merge => { db.merge().unwrap(); }
                Step::MergeOne(n) => {
                    let sealed: Vec<FileId> = db.stats().files.iter().filter(|f| !f.active).map(|f| f.file_id).collect();
                    if !sealed.is_empty() {
                        db.merge_files(&[sealed[n % sealed.len()]]).unwrap();
                    }
                }
            }
            check(&db, &model)?;
        }
        drop(db);
        let db = open(&sim, opts());
        check(&db, &model)?;
    }
}

/// The crash oracle on proptest-generated histories (shrunk to a minimal one on failure):
/// random configuration, random steps, and the power cut at a random I/O operation.
mod oracle_histories {
    use bitcask_core::SyncPolicy;
    use bitcask_testkit::oracle::{check, steps_from, Config};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn a_power_cut_anywhere_recovers_a_prefix_with_everything_synced(
            bytes in proptest::collection::vec(any::<u8>(), 4..400),
            always in any::<bool>(),
            mmap_reads in any::<bool>(),
            size in 96u64..400,
            cut in proptest::option::of(0u64..400),
            seed in any::<u64>(),
        ) {
            let sync = if always { SyncPolicy::Always } else { SyncPolicy::Never };
            let cfg = Config { sync, max_file_size: size, background_merge: false, mmap_reads, shards: 0 };
            let mut it = bytes.iter().copied();
            let steps = steps_from(&mut || it.next().unwrap_or(0), bytes.len() / 4);
            if let Err(v) = check(&cfg, &steps, cut, seed) {
                return Err(TestCaseError::fail(format!("{v}\nsteps: {steps:?}")));
            }
        }
    }
}
