//! Checks run by the fuzz targets (`fuzz/`) and, on committed inputs, by ordinary tests.
//! Each takes arbitrary bytes and fails an assertion when the engine misbehaves.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::{Fault, FaultPlan, PowerLoss, SimStorage};
use bitcask_core::{Bitcask, Error, FileId, Options, RecoveryMode, SyncPolicy, WriteBatch};

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
        // A generation (high 40 bits) and a merge sequence (low 24 bits).
        let id = FileId(((u64::from(b.byte() % 4) + 1) << 24) | u64::from(b.byte() % 3));
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
        // A hinted file's records are not read at open, so a damaged one shows when read:
        // as Corruption naming a file, from iter and get alike, never as another error.
        let items: Vec<_> = db.iter().expect("iter").collect();
        assert_eq!(items.len(), keys.len());
        for (item, key) in items.iter().zip(&keys) {
            match (item, db.get(key)) {
                (Ok((k, v)), Ok(got)) => {
                    assert_eq!(k, key);
                    assert_eq!(got.as_ref(), Some(v), "get and iter disagree");
                }
                (Err(Error::Corruption { .. }), Err(Error::Corruption { .. })) => {}
                (a, b) => panic!("iter gave {a:?}, get gave {b:?} for {key:?}"),
            }
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
    use crate::oracle::{check, steps_from, Config};
    let mut b = Bytes(data);
    let flags = b.byte();
    let cfg = Config {
        sync: if flags & 1 == 0 { SyncPolicy::Never } else { SyncPolicy::Always },
        max_file_size: 96 + u64::from(b.byte()) * 2,
        background_merge: flags & 2 != 0,
        mmap_reads: flags & 4 == 0,
        shards: if flags & 8 == 0 { 0 } else { 4 },
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
    let mut m = FaultModel::new(sim, opts);
    let trace = std::env::var_os("BITCASK_FUZZ_TRACE").is_some();
    let mut steps = 0;
    while !b.done() && steps < 200 {
        steps += 1;
        let op = b.byte() % 12;
        let k = vec![b'k', b.byte() % 16];
        if trace {
            eprintln!("step {steps}: op {op} key {k:?} files {:?}", m.sim.files(&dir()));
        }
        if !m.step(op, k, &mut b) {
            continue;
        }
        if m.uncertain.is_none() {
            assert_eq!(contents(&m.db), m.model, "after step {steps} (op {op})");
        }
    }
    m.sim.set_faults(None);
    m.reopen();
}

/// The store, its model, and the state a failed write would leave if it landed.
struct FaultModel {
    sim: SimStorage,
    opts: Options,
    db: Bitcask,
    model: Model,
    /// A write that failed may or may not have reached the file: after the next reopen the
    /// store must hold one of these states.
    uncertain: Option<Model>,
}

impl FaultModel {
    fn new(sim: SimStorage, opts: Options) -> FaultModel {
        let db = Self::open(&sim, &opts);
        FaultModel { sim, opts, db, model: Model::new(), uncertain: None }
    }

    fn open(sim: &SimStorage, opts: &Options) -> Bitcask {
        Bitcask::open_with_storage(Arc::new(sim.clone()), dir(), opts.clone(), false).expect("open")
    }

    /// Runs operation `op` on key `k`; false when the step installed a fault plan (nothing
    /// to check yet).
    fn step(&mut self, op: u8, k: Vec<u8>, b: &mut Bytes<'_>) -> bool {
        match op {
            0 | 1 => {
                let n = usize::from(b.byte() % 40);
                let v = b.take(n).to_vec();
                let r = self.db.put(&k, &v);
                self.write_done(r, |m| {
                    m.insert(k, v);
                });
            }
            2 => self.delete(k),
            3 => self.batch(b),
            4 => self.get(&k),
            5..=7 => self.crash(op, b),
            8 => self.merge(),
            9 => {
                let sealed: Vec<FileId> =
                    self.db.stats().files.iter().filter(|f| !f.active).map(|f| f.file_id).collect();
                if let Some(id) = sealed.get(usize::from(b.byte()) % sealed.len().max(1)) {
                    let _ = self.db.merge_files(&[*id]);
                }
            }
            10 => {
                let r = self.db.put_with_ttl(&k, b"brief", Duration::ZERO);
                self.write_done(r, |m| {
                    m.remove(&k);
                });
            }
            _ => {
                // Fail one of the next few operations; the write that meets it reports an
                // error, and the store refuses writes until reopened.
                let fault = if b.byte().is_multiple_of(2) { Fault::Eio } else { Fault::Enospc };
                let at_op = u64::from(b.byte() % 4);
                self.sim.set_faults(Some(FaultPlan {
                    at_op,
                    fault,
                    persistent: false,
                    reads: false,
                }));
                return false;
            }
        }
        true
    }

    /// Applies `change` to the model if the write succeeded; else notes the state it would
    /// leave if it landed.
    fn write_done(&mut self, r: bitcask_core::Result<()>, change: impl FnOnce(&mut Model)) {
        match r {
            Ok(()) => change(&mut self.model),
            Err(e) => {
                let mut alt = self.model.clone();
                change(&mut alt);
                failed(e, alt, &mut self.uncertain);
            }
        }
    }

    fn delete(&mut self, k: Vec<u8>) {
        match self.db.delete(&k) {
            Ok(existed) => assert_eq!(existed, self.model.remove(&k).is_some()),
            Err(e) => {
                let mut alt = self.model.clone();
                alt.remove(&k);
                failed(e, alt, &mut self.uncertain);
            }
        }
    }

    fn batch(&mut self, b: &mut Bytes<'_>) {
        let mut batch = WriteBatch::new();
        let mut after = self.model.clone();
        for _ in 0..(b.byte() % 5 + 1) {
            let k = vec![b'k', b.byte() % 16];
            if b.byte().is_multiple_of(3) {
                batch.delete(&k);
                after.remove(&k);
            } else {
                let v = vec![b.byte(); usize::from(b.byte() % 20)];
                batch.put(&k, &v);
                after.insert(k, v);
            }
        }
        match self.db.write(batch) {
            Ok(()) => self.model = after,
            Err(e) => failed(e, after, &mut self.uncertain),
        }
    }

    fn get(&self, k: &[u8]) {
        let got = self.db.get(k).expect("get");
        // A failed write's outcome is unknown until reopen: it may be visible.
        let alt = self.uncertain.as_ref().map(|m| m.get(k).cloned());
        assert!(got == self.model.get(k).cloned() || Some(got) == alt, "get {k:?}");
    }

    /// Op 5: reopen; 6: kill; 7: sync, then a power loss (a kill if the sync failed: a
    /// failed sync promises nothing about unsynced writes).
    fn crash(&mut self, op: u8, b: &mut Bytes<'_>) {
        self.sim.set_faults(None);
        match op {
            5 => {}
            6 => self.sim.kill_process(),
            _ if self.db.sync().is_err() => self.sim.kill_process(),
            _ => {
                let modes =
                    [PowerLoss::DropUnsynced, PowerLoss::KeepRandomPrefix, PowerLoss::TornWrite];
                self.sim.power_loss(modes[usize::from(b.byte() % 3)]);
            }
        }
        self.reopen();
    }

    fn merge(&mut self) {
        if self.db.merge().is_err() {
            // A merge that failed after its commit point poisons the store; reopen
            // finishes it.
            self.sim.set_faults(None);
            self.reopen();
        }
    }

    /// Reopens and settles an uncertain write by what the store holds.
    fn reopen(&mut self) {
        // Release the lock first, as dropping the handle would (errors are expected here).
        let _ = self.db.close();
        self.db = Self::open(&self.sim, &self.opts);
        let got = contents(&self.db);
        if let Some(alt) = self.uncertain.take() {
            if got == alt {
                self.model = alt;
            }
        }
        assert_eq!(got, self.model, "after reopening");
    }
}
