//! Checks run by the fuzz targets (`fuzz/`) and, on committed inputs, by ordinary tests.
//! Each takes arbitrary bytes and fails an assertion when the engine misbehaves.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::{
    Bitcask, Error, Fault, FaultPlan, FileId, Options, PowerLoss, RecoveryMode, SimStorage,
    SyncPolicy, WriteBatch,
};

/// Reads bytes as a stream of small numbers; zeros once exhausted.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }
    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

fn dir() -> PathBuf {
    PathBuf::from("/db")
}

/// Arbitrary bytes laid out as datafiles, hint files, temporary files and a merge manifest;
/// the store must open (or fail with a typed error), iterate and get consistently, and, when
/// open for writing, keep working.
pub fn open_dir(data: &[u8]) {
    let mut b = Bytes(data);
    let sim = SimStorage::new(1);
    // Create the directory through a first open.
    drop(Bitcask::open_with_storage(Arc::new(sim.clone()), dir(), Options::default(), false).ok());
    sim.delete_file(&dir().join("0000000001000000.data"));
    while !b.done() {
        let kind = b.byte() % 5;
        let id = FileId::new(u64::from(b.byte() % 4) + 1, u64::from(b.byte() % 3));
        let len = usize::from(u16::from_le_bytes([b.byte(), b.byte()])) % 4096;
        let bytes = b.take(len).to_vec();
        let name = match kind {
            0 | 1 => format!("{id}.data"),
            2 => format!("{id}.hint"),
            3 => format!("{id}.data.tmp"),
            _ => "MERGE".to_owned(),
        };
        sim.write_file(&dir().join(name), &bytes);
    }
    for (recovery, read_only) in [
        (RecoveryMode::Strict, true),
        (RecoveryMode::SkipCorrupt, true),
        (RecoveryMode::SkipCorrupt, false),
    ] {
        let opts = Options { recovery, max_file_size: 1024, ..Options::default() };
        let db =
            match Bitcask::open_with_storage(Arc::new(sim.clone()), dir(), opts.clone(), read_only)
            {
                Ok(db) => db,
                // Damage is a typed error naming what is wrong, never another kind of failure.
                Err(Error::Corruption { .. } | Error::UnsupportedVersion { .. }) => continue,
                Err(e) => panic!("open ({recovery:?}, read_only {read_only}) failed untyped: {e}"),
            };
        let keys: Vec<Vec<u8>> = db.keys().expect("keys").collect();
        assert_eq!(keys.len(), db.len());
        let items: Vec<(Vec<u8>, Vec<u8>)> = db
            .iter()
            .expect("iter")
            .map(|item| item.expect("open validated every record the keydir points at"))
            .collect();
        assert_eq!(items.len(), keys.len());
        for ((k, v), key) in items.iter().zip(&keys) {
            assert_eq!(k, key);
            let got = db.get(k).expect("get of a key iter read");
            assert_eq!(got.as_ref(), Some(v), "get and iter disagree");
        }
        if !read_only {
            db.put(b"fuzz-probe", b"value").expect("a recovered store accepts writes");
            assert_eq!(db.get(b"fuzz-probe").ok().flatten().as_deref(), Some(&b"value"[..]));
            drop(db);
            let db = Bitcask::open_with_storage(Arc::new(sim.clone()), dir(), opts, false)
                .expect("reopen");
            assert_eq!(db.get(b"fuzz-probe").ok().flatten().as_deref(), Some(&b"value"[..]));
        }
    }
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// A write failed: if it failed before touching the disk (the store was already poisoned),
/// nothing changed; otherwise it may or may not have landed, and `alt` is the state if it
/// did.
fn failed(e: Error, alt: Model, uncertain: &mut Option<Model>) {
    if !matches!(e, Error::Poisoned { .. }) && uncertain.is_none() {
        *uncertain = Some(alt);
    }
}

fn contents(db: &Bitcask) -> Model {
    db.iter().expect("iter").map(|r| r.expect("every value reads back")).collect()
}

/// The crash oracle on arbitrary histories: a configuration (sync policy, file size,
/// background merges, mapped reads), a history of puts, TTL puts, deletes, batches, gets,
/// syncs, every kind of merge, reopens and kills, and the operation the power is cut at;
/// every power-loss mode must recover a prefix of the acknowledged history holding
/// everything synced (see [`oracle`](super::oracle)).
pub fn ops_model(data: &[u8]) {
    use super::oracle::{check, steps_from, Config};
    let mut b = Bytes(data);
    let flags = b.byte();
    let cfg = Config {
        sync: if flags & 1 == 0 { SyncPolicy::Never } else { SyncPolicy::Always },
        max_file_size: 96 + u64::from(b.byte()) * 2,
        background_merge: flags & 2 != 0,
        mmap_reads: flags & 4 == 0,
    };
    let cut = u16::from_le_bytes([b.byte(), b.byte()]);
    let cut_at = (cut != u16::MAX).then_some(u64::from(cut));
    let seed = u64::from(b.byte());
    let n = usize::from(b.byte() % 64) + 1;
    let steps = steps_from(&mut || b.byte(), n);
    if let Err(v) = check(&cfg, &steps, cut_at, seed) {
        panic!("{v}\nsteps: {steps:?}");
    }
}

/// Arbitrary sequences of puts, deletes, batches, gets, reopens, kills, power losses,
/// merges and injected one-off I/O errors on a tiny `max_file_size`, checked after every
/// step against a `BTreeMap`: after a failed write the store refuses writes, reads go on,
/// and reopen recovers every acknowledged write.
pub fn fault_model(data: &[u8]) {
    let mut b = Bytes(data);
    let sync = match b.byte() % 3 {
        0 => SyncPolicy::Never,
        1 => SyncPolicy::Always,
        _ => SyncPolicy::EveryMillis(1),
    };
    let opts = Options { sync, max_file_size: 96 + u64::from(b.byte()), ..Options::default() };
    let sim = SimStorage::new(u64::from(b.byte()));
    let open = |sim: &SimStorage| {
        Bitcask::open_with_storage(Arc::new(sim.clone()), dir(), opts.clone(), false).expect("open")
    };
    let mut db = open(&sim);
    let mut model = Model::new();
    // A write that failed may or may not have reached the file: after the next reopen the
    // store must hold one of these states.
    let mut uncertain: Option<Model> = None;
    let mut steps = 0;
    let trace = std::env::var_os("BITCASK_FUZZ_TRACE").is_some();
    if trace {
        eprintln!("ops_model: {opts:?}");
    }
    while !b.done() && steps < 200 {
        steps += 1;
        let op = b.byte() % 12;
        let k = vec![b'k', b.byte() % 16];
        if trace {
            eprintln!("step {steps}: op {op} key {k:?} files {:?}", sim.files(&dir()));
        }
        match op {
            0 | 1 => {
                let n = usize::from(b.byte() % 40);
                let v = b.take(n).to_vec();
                match db.put(&k, &v) {
                    Ok(()) => {
                        model.insert(k, v);
                    }
                    Err(e) => {
                        let mut alt = model.clone();
                        alt.insert(k, v);
                        failed(e, alt, &mut uncertain);
                    }
                }
            }
            2 => match db.delete(&k) {
                Ok(existed) => assert_eq!(existed, model.remove(&k).is_some()),
                Err(e) => {
                    let mut alt = model.clone();
                    alt.remove(&k);
                    failed(e, alt, &mut uncertain);
                }
            },
            3 => {
                let mut batch = WriteBatch::new();
                let mut after = model.clone();
                for _ in 0..(b.byte() % 5 + 1) {
                    let k = vec![b'k', b.byte() % 16];
                    if b.byte() % 3 == 0 {
                        batch.delete(&k);
                        after.remove(&k);
                    } else {
                        let v = vec![b.byte(); usize::from(b.byte() % 20)];
                        batch.put(&k, &v);
                        after.insert(k, v);
                    }
                }
                match db.write(batch) {
                    Ok(()) => model = after,
                    Err(e) => failed(e, after, &mut uncertain),
                }
            }
            4 => {
                let got = db.get(&k).expect("get");
                // A failed write's outcome is unknown until reopen: it may be visible.
                let alt = uncertain.as_ref().map(|m| m.get(&k).cloned());
                assert!(got == model.get(&k).cloned() || Some(got) == alt, "get {k:?}");
            }
            5..=7 => {
                sim.set_faults(None);
                match op {
                    5 => {}
                    6 => sim.kill_process(),
                    _ => {
                        if db.sync().is_err() {
                            // A failed sync promises nothing about unsynced writes; a power
                            // loss now could drop them, so skip it.
                            sim.kill_process();
                        } else {
                            let mode = [
                                PowerLoss::DropUnsynced,
                                PowerLoss::KeepRandomPrefix,
                                PowerLoss::TornWrite,
                            ];
                            sim.power_loss(mode[usize::from(b.byte() % 3)]);
                        }
                    }
                }
                drop(db);
                db = open(&sim);
                let got = contents(&db);
                if let Some(alt) = uncertain.take() {
                    if got == alt {
                        model = alt;
                    }
                }
            }
            8 => {
                if db.merge().is_err() {
                    // A merge that failed after its commit point poisons the store; reopen
                    // finishes it.
                    sim.set_faults(None);
                    drop(db);
                    db = open(&sim);
                    if let Some(alt) = uncertain.take() {
                        if contents(&db) == alt {
                            model = alt;
                        }
                    }
                }
            }
            9 => {
                let sealed: Vec<FileId> =
                    db.stats().files.iter().filter(|f| !f.active).map(|f| f.file_id).collect();
                if let Some(id) = sealed.get(usize::from(b.byte()) % sealed.len().max(1)) {
                    let _ = db.merge_files(&[*id]);
                }
            }
            10 => match db.put_with_ttl(&k, b"brief", Duration::ZERO) {
                Ok(()) => {
                    model.remove(&k);
                }
                Err(e) => {
                    let mut alt = model.clone();
                    alt.remove(&k);
                    failed(e, alt, &mut uncertain);
                }
            },
            _ => {
                // Fail one of the next few operations; the write that meets it reports an
                // error, and the store refuses writes until reopened.
                let fault = if b.byte() % 2 == 0 { Fault::Eio } else { Fault::Enospc };
                sim.set_faults(Some(FaultPlan {
                    at_op: u64::from(b.byte() % 4),
                    fault,
                    persistent: false,
                    reads: false,
                }));
                continue;
            }
        }
        if uncertain.is_none() {
            assert_eq!(contents(&db), model, "after step {steps} (op {op})");
        }
    }
    sim.set_faults(None);
    drop(db);
    let db = open(&sim);
    let got = contents(&db);
    if let Some(alt) = uncertain {
        if got == alt {
            model = alt;
        }
    }
    assert_eq!(got, model, "after the final reopen");
}
