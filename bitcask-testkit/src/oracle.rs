//! The crash oracle: a history of operations runs against a store on [`SimStorage`], the
//! power is cut at any I/O operation (or at the end), and the reopened store must hold the
//! model after *some* prefix of the acknowledged history — a prefix that includes every
//! operation acknowledged before the last successful `sync()` (under
//! [`SyncPolicy::Always`], every acknowledged one), after every power-loss mode.
//!
//! A cut at operation `n` is a persistent fault from the `n`th mutating operation on: what
//! the engine did before it reached the simulated kernel, nothing after it does (the write
//! that meets the cut may land in part, as a torn write). The process then dies and the
//! power goes; each of the three [`PowerLoss`] modes is applied to its own copy of the disk.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::{Fault, FaultPlan, PowerLoss, SimStorage};
use bitcask_core::sharded::{routing_slot, SLOTS};
use bitcask_core::{
    Bitcask, Error, FileId, MergeOptions, Options, Result, ShardedBitcask, SyncPolicy, WriteBatch,
};

/// The key space: a few keys, so that overwrites and deletes meet older versions in sealed
/// files.
pub const KEYS: u8 = 12;

/// One operation of a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `put(k, v)`.
    Put(u8, Vec<u8>),
    /// `put_with_ttl(k, v, one day)`: present for the whole test.
    PutTtl(u8, Vec<u8>),
    /// `put_with_ttl(k, _, 0)`: expired at once, so it deletes `k`.
    PutExpired(u8),
    /// `delete(k)`.
    Delete(u8),
    /// An atomic batch of puts (`Some`) and deletes (`None`).
    Batch(Vec<(u8, Option<Vec<u8>>)>),
    /// `get(k)`, checked against the model.
    Get(u8),
    /// `sync()`.
    Sync,
    /// `merge()`.
    Merge,
    /// `merge_files` of the sealed files picked by the bits of the mask.
    MergeFiles(u64),
    /// `merge_if_needed()`.
    MergeIfNeeded,
    /// `close()` and open again.
    Reopen,
    /// The process is killed (`kill -9`) and the store reopened.
    Kill,
}

/// The store's configuration for a history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The sync policy.
    pub sync: SyncPolicy,
    /// A tiny file size makes rotations and sealed files constant.
    pub max_file_size: u64,
    /// Run the background merge thread with eager triggers.
    pub background_merge: bool,
    /// Read through (simulated) maps and append through writable ones (off: `pread` and
    /// `pwrite`), so both write paths face the power cuts.
    pub mmap_reads: bool,
    /// 0: a plain [`Bitcask`]; else a [`ShardedBitcask`] of this many shards, whose
    /// recovered state must be a prefix of the history *in each shard* (shards recover
    /// independently), and whose batches are cut down to the keys of one shard.
    pub shards: u32,
}

impl Config {
    /// The options the store is opened with.
    pub fn options(&self) -> Options {
        let merge = if self.background_merge {
            MergeOptions {
                background: true,
                check_interval: Duration::from_millis(1),
                min_interval: Duration::ZERO,
                small_file: 1 << 20,
                ..MergeOptions::default()
            }
        } else {
            MergeOptions { small_file: 1 << 20, ..MergeOptions::default() }
        };
        Options {
            sync: self.sync,
            max_file_size: self.max_file_size,
            mmap_reads: self.mmap_reads,
            mmap_writes: self.mmap_reads,
            merge,
            ..Options::default()
        }
    }
}

/// A state of the key space.
pub type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// The key for number `k`.
pub fn key(k: u8) -> Vec<u8> {
    vec![b'k', k % KEYS]
}

/// What a history acknowledged, step by step.
#[derive(Debug, Clone)]
struct History {
    /// The state after each acknowledged change; `states[0]` is the start.
    states: Vec<Model>,
    /// Every acceptable recovered state is `states[i]` with `i >= durable`...
    durable: usize,
    /// ...or this one: the state had the step that met the cut (or failed) taken effect.
    in_flight: Option<Model>,
}

impl History {
    fn current(&self) -> &Model {
        self.states.last().unwrap_or_else(|| unreachable!("states[0] always exists"))
    }

    fn ack(&mut self, next: Model, synced: bool) {
        if &next != self.current() {
            self.states.push(next);
        }
        if synced {
            self.all_durable();
        }
    }

    fn all_durable(&mut self) {
        self.durable = self.states.len() - 1;
    }

    /// Accepts `got` as the recovered state, or says why not: in each of `parts` parts of
    /// the key space (the shards, which recover independently) on its own.
    fn check(&self, got: &Model, parts: u32) -> std::result::Result<(), String> {
        if parts <= 1 {
            return self.check_part(got);
        }
        for p in 0..parts {
            let part = |m: &Model| -> Model {
                m.iter()
                    .filter(|(k, _)| part_of(k, parts) == p)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            };
            let h = History {
                states: self.states.iter().map(part).collect(),
                durable: self.durable,
                in_flight: self.in_flight.as_ref().map(part),
            };
            h.check_part(&part(got)).map_err(|e| format!("shard {p}: {e}"))?;
        }
        Ok(())
    }

    fn check_part(&self, got: &Model) -> std::result::Result<(), String> {
        if self.in_flight.as_ref() == Some(got) {
            return Ok(());
        }
        match self.states.iter().rposition(|s| s == got) {
            Some(i) if i >= self.durable => Ok(()),
            Some(i) => Err(format!(
                "recovered state {i} of {}, but state {} was durable",
                self.states.len() - 1,
                self.durable
            )),
            None => Err(format!(
                "the recovered state is no prefix of the history ({} states, durable from {}, in flight {:?}; the last: {:?}): {got:?}",
                self.states.len(),
                self.durable,
                self.in_flight,
                self.states.last()
            )),
        }
    }

    /// After a reopen recovered `got` (checked already): it is the new, durable start.
    fn restart_from(&mut self, got: Model) {
        self.states = vec![got];
        self.in_flight = None;
        self.all_durable();
    }
}

/// A violation of the contract, with what is needed to reproduce it.
#[derive(Debug, Clone)]
pub struct Violation {
    /// The configuration.
    pub config: Config,
    /// The operation index the power was cut at (`None`: at the end).
    pub cut_at: Option<u64>,
    /// The power-loss mode.
    pub mode: Option<PowerLoss>,
    /// What was wrong.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}, power cut at op {:?}, {:?}: {}",
            self.config, self.cut_at, self.mode, self.detail
        )
    }
}

/// What one history run told.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Mutating I/O operations the run made after the first open (for choosing cuts).
    pub ops: u64,
    /// Crash states checked (one per power-loss mode).
    pub states: u64,
    /// Reads served through maps.
    pub mapped_reads: u64,
}

fn dir() -> PathBuf {
    PathBuf::from("/db")
}

/// The shard of `key` in a store of `parts` shards.
fn part_of(key: &[u8], parts: u32) -> u32 {
    (u32::from(routing_slot(key)) * parts.max(1)) / u32::from(SLOTS)
}

/// The store under test: a plain one or a sharded one.
enum Db {
    One(Bitcask),
    Sharded(ShardedBitcask),
}

impl Db {
    fn each(&self) -> Vec<&Bitcask> {
        match self {
            Db::One(db) => vec![db],
            Db::Sharded(s) => s.shards(),
        }
    }

    fn with<R>(&self, key: &[u8], f: impl FnOnce(&Bitcask) -> R) -> R {
        match self {
            Db::One(db) => f(db),
            Db::Sharded(s) => f(s.shards()[s.shard_of(key)]),
        }
    }

    fn write(&self, b: WriteBatch) -> Result<()> {
        match self {
            Db::One(db) => db.write(b),
            Db::Sharded(s) => s.write(b),
        }
    }

    fn sync(&self) -> Result<()> {
        match self {
            Db::One(db) => db.sync(),
            Db::Sharded(s) => s.sync(),
        }
    }

    fn close(&self) -> Result<()> {
        match self {
            Db::One(db) => db.close(),
            Db::Sharded(s) => s.close(),
        }
    }

    fn len(&self) -> usize {
        self.each().into_iter().map(Bitcask::len).sum()
    }

    fn report(&self) -> String {
        let r: Vec<_> =
            self.each().into_iter().map(|d| format!("{:?}", d.recovery_report())).collect();
        r.join("; ")
    }
}

fn open(sim: &SimStorage, cfg: &Config) -> Result<Db> {
    let storage = Arc::new(sim.clone());
    if cfg.shards == 0 {
        return Bitcask::open_with_storage(storage, dir(), cfg.options(), false).map(Db::One);
    }
    ShardedBitcask::open_with_storage(storage, dir(), cfg.options(), Some(cfg.shards), false)
        .map(Db::Sharded)
}

/// Every pair of the store, each value read back, and `get` and `len` agreeing with them.
fn contents(db: &Db) -> std::result::Result<Model, String> {
    let mut m = Model::new();
    let parts = db.each().len() as u32;
    for (i, d) in db.each().into_iter().enumerate() {
        let part = contents_of(d)?;
        if let Some(k) = part.keys().find(|k| parts > 1 && part_of(k, parts) != i as u32) {
            return Err(format!("shard {i} holds {k:?}, a key of another shard"));
        }
        m.extend(part);
    }
    if db.len() != m.len() {
        return Err(format!("len() = {} but iter gave {} pairs", db.len(), m.len()));
    }
    Ok(m)
}

fn contents_of(db: &Bitcask) -> std::result::Result<Model, String> {
    let mut m = Model::new();
    for item in db.iter().map_err(|e| format!("iter: {e}"))? {
        let (k, v) = item.map_err(|e| format!("a value does not read back: {e}"))?;
        m.insert(k, v);
    }
    for (k, v) in &m {
        let got = db.get(k).map_err(|e| format!("get: {e}"))?;
        if got.as_ref() != Some(v) {
            return Err(format!("get({k:?}) = {got:?} but iter gave {v:?}"));
        }
    }
    if db.len() != m.len() {
        return Err(format!("len() = {} but iter gave {} pairs", db.len(), m.len()));
    }
    Ok(m)
}

/// The state after `step` if it took effect.
fn apply(m: &Model, step: &Step) -> Model {
    let mut m = m.clone();
    match step {
        Step::Put(k, v) | Step::PutTtl(k, v) => {
            m.insert(key(*k), v.clone());
        }
        Step::PutExpired(k) | Step::Delete(k) => {
            m.remove(&key(*k));
        }
        Step::Batch(ops) => {
            for (k, v) in ops {
                match v {
                    Some(v) => m.insert(key(*k), v.clone()),
                    None => m.remove(&key(*k)),
                };
            }
        }
        _ => {}
    }
    m
}

/// A batch cut down to the keys in the shard of its first key (other steps as they are),
/// so that a sharded store takes it.
fn in_one_shard(step: &Step, parts: u32) -> Step {
    match step {
        Step::Batch(ops) if parts > 0 => {
            let first = ops.first().map(|(k, _)| part_of(&key(*k), parts));
            Step::Batch(
                ops.iter()
                    .filter(|(k, _)| Some(part_of(&key(*k), parts)) == first)
                    .cloned()
                    .collect(),
            )
        }
        s => s.clone(),
    }
}

/// Runs one step of the kinds that are plain calls on the store.
fn run_step(db: &Db, step: &Step, model: &Model) -> Result<()> {
    match step {
        Step::Put(k, v) => db.with(&key(*k), |d| d.put(&key(*k), v)),
        Step::PutTtl(k, v) => {
            db.with(&key(*k), |d| d.put_with_ttl(&key(*k), v, Duration::from_secs(86_400)))
        }
        Step::PutExpired(k) => {
            db.with(&key(*k), |d| d.put_with_ttl(&key(*k), b"brief", Duration::ZERO))
        }
        Step::Delete(k) => {
            let existed = db.with(&key(*k), |d| d.delete(&key(*k)))?;
            assert_eq!(existed, model.contains_key(&key(*k)), "delete({k}) reported wrongly");
            Ok(())
        }
        Step::Batch(ops) => {
            let mut b = WriteBatch::new();
            for (k, v) in ops {
                match v {
                    Some(v) => b.put(&key(*k), v),
                    None => b.delete(&key(*k)),
                };
            }
            db.write(b)
        }
        Step::Get(_) | Step::Reopen | Step::Kill => Ok(()),
        Step::Sync => db.sync(),
        Step::Merge => db.each().iter().try_for_each(|d| d.merge().map(|_| ())),
        Step::MergeFiles(mask) => db.each().iter().try_for_each(|d| merge_some(d, *mask)),
        Step::MergeIfNeeded => db.each().iter().try_for_each(|d| d.merge_if_needed().map(|_| ())),
    }
}

/// `merge_files` of the sealed files of `db` that the bits of `mask` pick.
fn merge_some(db: &Bitcask, mask: u64) -> Result<()> {
    let sealed: Vec<FileId> =
        db.stats().files.iter().filter(|f| !f.active).map(|f| f.file_id).collect();
    let pick: Vec<FileId> = sealed
        .iter()
        .enumerate()
        .filter(|(i, _)| mask >> (i % 64) & 1 == 1)
        .map(|(_, id)| *id)
        .collect();
    db.merge_files(&pick).map(|_| ())
}

/// Runs `steps` with the power cut at mutating operation `cut_at` (or after the last
/// step), and checks every power-loss mode. The sim's random choices follow `seed`.
pub fn check(
    cfg: &Config,
    steps: &[Step],
    cut_at: Option<u64>,
    seed: u64,
) -> std::result::Result<Outcome, Violation> {
    let mut run = Run::start(cfg, cut_at, seed)?;
    for step in steps {
        if !run.step(step)? {
            break;
        }
    }
    let ops = run.base + run.sim.op_count();
    let (states, mapped_reads) = run.cut_power()?;
    Ok(Outcome { ops, states, mapped_reads })
}

/// One history being run.
struct Run<'a> {
    cfg: &'a Config,
    cut_at: Option<u64>,
    sim: SimStorage,
    db: Option<Db>,
    h: History,
    /// Steps run so far and the last of them (for reports).
    steps_run: usize,
    last_step: Option<Step>,
    /// Operations counted before the last kill (a kill drops the fault plan, so it is set
    /// again for what remains).
    base: u64,
}

impl<'a> Run<'a> {
    fn start(
        cfg: &'a Config,
        cut_at: Option<u64>,
        seed: u64,
    ) -> std::result::Result<Run<'a>, Violation> {
        let sim = SimStorage::new(seed);
        let h = History { states: vec![Model::new()], durable: 0, in_flight: None };
        let mut run = Run { cfg, cut_at, sim, db: None, h, steps_run: 0, last_step: None, base: 0 };
        let db = open(&run.sim, cfg).map_err(|e| run.fail(None, format!("first open: {e}")))?;
        run.db = Some(db);
        run.arm(0);
        Ok(run)
    }

    fn fail(&self, mode: Option<PowerLoss>, detail: String) -> Violation {
        let detail =
            format!("after {} steps (the last {:?}): {detail}", self.steps_run, self.last_step);
        Violation { config: *self.cfg, cut_at: self.cut_at, mode, detail }
    }

    /// Installs the cut, `done` operations having been made already. A plan that never
    /// fires still counts operations.
    fn arm(&self, done: u64) {
        let at_op = self.cut_at.unwrap_or(u64::MAX).saturating_sub(done);
        let plan = FaultPlan { at_op, fault: Fault::Eio, persistent: true, reads: false };
        self.sim.set_faults(Some(plan));
    }

    /// Runs one step; false once the process met the cut (it is as good as dead).
    fn step(&mut self, step: &Step) -> std::result::Result<bool, Violation> {
        let Some(d) = self.db.as_ref().filter(|_| self.h.in_flight.is_none()) else {
            return Ok(false);
        };
        let step = &in_one_shard(step, self.cfg.shards);
        self.steps_run += 1;
        self.last_step = Some(step.clone());
        let next = apply(self.h.current(), step);
        let result = match step {
            Step::Get(k) => match d.with(&key(*k), |d| d.get(&key(*k))) {
                Ok(got) if got.as_ref() == self.h.current().get(&key(*k)) => Ok(()),
                Ok(got) => {
                    let want = self.h.current().get(&key(*k));
                    return Err(self.fail(None, format!("get({k}) = {got:?}, model {want:?}")));
                }
                Err(e) => Err(e),
            },
            Step::Reopen | Step::Kill => return self.reopen(step),
            _ => run_step(d, step, self.h.current()),
        };
        match result {
            Ok(()) => {
                let durable = matches!(step, Step::Sync) || self.cfg.sync == SyncPolicy::Always;
                self.h.ack(next, durable);
            }
            Err(Error::Poisoned { .. }) if self.sim.fault_fired() => {
                self.h.in_flight = Some(self.h.current().clone());
            }
            // The step met the cut: it may or may not have landed.
            Err(_) if self.sim.fault_fired() => self.h.in_flight = Some(next),
            Err(e) => return Err(self.fail(None, format!("{step:?} failed without a fault: {e}"))),
        }
        Ok(true)
    }

    /// `Reopen` (close, open) or `Kill` (kill -9, open): the reopened store is a prefix of
    /// the history (after a kill, all of it) and becomes the new durable start.
    fn reopen(&mut self, step: &Step) -> std::result::Result<bool, Violation> {
        let closed = match (step, self.db.take()) {
            (Step::Kill, _) => {
                self.base += self.sim.op_count();
                self.sim.kill_process();
                self.arm(self.base);
                Ok(())
            }
            (_, Some(d)) => d.close(),
            (_, None) => Ok(()),
        };
        let Ok(d) = closed.and_then(|()| open(&self.sim, self.cfg)) else {
            // The cut came during close or recovery: reopen after the power loss.
            self.h.in_flight = Some(self.h.current().clone());
            return Ok(false);
        };
        let got = contents(&d).map_err(|e| self.fail(None, e))?;
        self.db = Some(d);
        self.h
            .check(&got, self.cfg.shards)
            .map_err(|e| self.fail(None, format!("after {step:?}: {e}")))?;
        if *step == Step::Kill && got != *self.h.current() {
            return Err(self.fail(None, "a kill lost an acknowledged write".into()));
        }
        self.h.restart_from(got);
        Ok(true)
    }

    /// The process dies with the power: each power-loss mode is applied to its own copy of
    /// the disk, reopened twice (recovery is idempotent) and checked. Returns the crash
    /// states checked and the reads served through maps.
    fn cut_power(mut self) -> std::result::Result<(u64, u64), Violation> {
        let modes = [PowerLoss::DropUnsynced, PowerLoss::KeepRandomPrefix, PowerLoss::TornWrite];
        let disks: Vec<(PowerLoss, SimStorage)> =
            modes.into_iter().map(|mode| (mode, self.sim.fork())).collect();
        let forked_reads = self.sim.mapped_reads();
        let dir_ops: Vec<String> = self
            .sim
            .log()
            .iter()
            .filter(|op| !matches!(op, crate::Op::Write(..) | crate::Op::Sync(_)))
            .map(|op| format!("{op:?}").replace("\"/db/", "\""))
            .collect();
        self.sim.kill_process();
        drop(self.db.take());
        let mut mapped_reads = self.sim.mapped_reads();
        let mut states = 0;
        for (mode, disk) in disks {
            disk.power_loss(mode);
            let before = disk.files(&dir());
            let manifest = disk.read_file(&dir().join("MERGE")).map(|m| m.len());
            let fail = |e: String| self.fail(Some(mode), e);
            let db = open(&disk, self.cfg).map_err(|e| fail(format!("reopen: {e}")))?;
            let got = contents(&db).map_err(fail)?;
            self.h.check(&got, self.cfg.shards).map_err(|e| {
                let files = disk.files(&dir());
                fail(format!(
                    "{e}\nfiles after the power loss: {before:?}\nmanifest: {manifest:?}\nafter recovery: {files:?}\nrecovery: {:?}\ndirectory operations: {dir_ops:?}",
                    db.report()
                ))
            })?;
            drop(db);
            let db = open(&disk, self.cfg).map_err(|e| fail(format!("second reopen: {e}")))?;
            if contents(&db).map_err(fail)? != got {
                return Err(fail("a second open recovered a different state".into()));
            }
            mapped_reads += disk.mapped_reads() - forked_reads;
            states += 1;
        }
        Ok((states, mapped_reads))
    }
}

/// Checks `steps` with the power cut at every operation in `cuts` of the run's operations
/// (all of them when `cuts` is at least their number, else evenly spread ones), and at the
/// end. Returns the crash states checked and the mapped reads seen.
pub fn sweep(
    cfg: &Config,
    steps: &[Step],
    cuts: u64,
    seed: u64,
) -> std::result::Result<Outcome, Violation> {
    let dry = check(cfg, steps, None, seed)?;
    let mut total = dry.clone();
    let n = dry.ops.max(1);
    let stride = n.div_ceil(cuts.max(1)).max(1);
    let mut at = seed % stride;
    while at < n {
        let o = check(cfg, steps, Some(at), seed.wrapping_add(at))?;
        total.states += o.states;
        total.mapped_reads += o.mapped_reads;
        at += stride;
    }
    Ok(total)
}

/// Decodes a history from arbitrary bytes (for the fuzz target): one step per few bytes,
/// zeros once they run out.
pub fn steps_from(bytes: &mut impl FnMut() -> u8, n: usize) -> Vec<Step> {
    (0..n)
        .map(|_| {
            let k = bytes() % KEYS;
            let value = |b: &mut dyn FnMut() -> u8| {
                let len = usize::from(b() % 24);
                let fill = b();
                vec![fill; len]
            };
            match bytes() % 32 {
                0..=9 => Step::Put(k, value(bytes)),
                10..=11 => Step::PutTtl(k, value(bytes)),
                12 => Step::PutExpired(k),
                13..=16 => Step::Delete(k),
                17..=19 => {
                    let len = 1 + bytes() % 4;
                    Step::Batch(
                        (0..len)
                            .map(|_| {
                                let k = bytes() % KEYS;
                                (k, (!bytes().is_multiple_of(3)).then(|| value(bytes)))
                            })
                            .collect(),
                    )
                }
                20..=21 => Step::Get(k),
                22..=23 => Step::Sync,
                24 => Step::Merge,
                25..=26 => Step::MergeFiles(u64::from(bytes()) | u64::from(bytes()) << 8),
                27 => Step::MergeIfNeeded,
                28 => Step::Reopen,
                29 => Step::Kill,
                _ => Step::Put(k, value(bytes)),
            }
        })
        .collect()
}

/// A deterministic random history of `n` steps.
pub fn random_steps(seed: u64, n: usize) -> Vec<Step> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 24) as u8
    };
    steps_from(&mut next, n)
}
