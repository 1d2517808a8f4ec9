//! Random workloads and the prefix check used by the crash tests.

use std::collections::BTreeMap;

use bitcask_core::{Bitcask, Result, WriteBatch};

use super::key;

/// One step of a workload.
#[derive(Debug, Clone)]
pub enum Step {
    Put(usize, u8),
    Del(usize),
    Batch(Vec<(usize, Option<u8>)>),
    Sync,
    Merge,
}

pub type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn val(k: usize, v: u8) -> Vec<u8> {
    vec![v; 1 + (k * 7 + usize::from(v)) % 23]
}

/// A deterministic workload of `n` steps over 12 keys; merges only if `merges`.
pub fn workload(seed: u64, n: usize, merges: bool) -> Vec<Step> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut r = move |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    (0..n)
        .map(|_| match r(20) {
            0..=9 => Step::Put(r(12) as usize, r(255) as u8),
            10..=13 => Step::Del(r(12) as usize),
            14..=16 => Step::Batch(
                (0..1 + r(4)).map(|_| (r(12) as usize, (r(3) > 0).then(|| r(255) as u8))).collect(),
            ),
            17 | 18 => Step::Sync,
            _ if merges => Step::Merge,
            _ => Step::Sync,
        })
        .collect()
}

pub fn apply(m: &mut Model, s: &Step) {
    match s {
        Step::Put(k, v) => {
            m.insert(key(*k), val(*k, *v));
        }
        Step::Del(k) => {
            m.remove(&key(*k));
        }
        Step::Batch(ops) => {
            for (k, v) in ops {
                match v {
                    Some(v) => m.insert(key(*k), val(*k, *v)),
                    None => m.remove(&key(*k)),
                };
            }
        }
        Step::Sync | Step::Merge => {}
    }
}

pub fn run_step(db: &Bitcask, s: &Step) -> Result<()> {
    match s {
        Step::Put(k, v) => db.put(&key(*k), &val(*k, *v)),
        Step::Del(k) => db.delete(&key(*k)).map(|_| ()),
        Step::Batch(ops) => {
            let mut b = WriteBatch::new();
            for (k, v) in ops {
                match v {
                    Some(v) => b.put(&key(*k), &val(*k, *v)),
                    None => b.delete(&key(*k)),
                };
            }
            db.write(b)
        }
        Step::Sync => db.sync(),
        Step::Merge => db.merge().map(|_| ()),
    }
}

/// What a run acknowledged.
#[derive(Debug, Default)]
pub struct Run {
    /// The state after each acknowledged step (states[0] is the empty start).
    pub states: Vec<Model>,
    /// Every state from this index on contains all synced acknowledgements.
    pub durable: usize,
    /// The state if the failed step (whose outcome is unknown) took effect.
    pub uncertain: Option<Model>,
    /// Steps that failed.
    pub errors: usize,
    /// The first step that failed.
    pub first_failure: Option<Step>,
}

/// Runs `steps`; with `stop_at_error` the process "dies" at the first error. `synced` says
/// whether every acknowledged write is synced (`SyncPolicy::Always`).
pub fn run(db: &Bitcask, steps: &[Step], synced: bool, stop_at_error: bool) -> Run {
    let mut r = Run { states: vec![Model::new()], ..Run::default() };
    for s in steps {
        let mut next = r.states.last().cloned().unwrap_or_default();
        apply(&mut next, s);
        match run_step(db, s) {
            Ok(()) => {
                let changed = Some(&next) != r.states.last();
                r.states.push(next);
                if matches!(s, Step::Sync) || (synced && changed) {
                    r.durable = r.states.len() - 1;
                }
            }
            Err(_) => {
                r.errors += 1;
                r.first_failure.get_or_insert_with(|| s.clone());
                if r.uncertain.is_none() && !matches!(s, Step::Sync | Step::Merge) {
                    r.uncertain = Some(next);
                }
                if stop_at_error {
                    break;
                }
            }
        }
    }
    r
}

/// Checks that `got` is an acceptable recovered state: one of the acknowledged states from
/// the last durable one on (a prefix with no holes), or the failed step's state.
pub fn check_prefix(got: &Model, r: &Run) -> std::result::Result<(), String> {
    if r.uncertain.as_ref() == Some(got) {
        return Ok(());
    }
    match r.states.iter().rposition(|s| s == got) {
        Some(i) if i >= r.durable => Ok(()),
        Some(i) => Err(format!("recovered state {i}, but state {} was synced", r.durable)),
        None => Err(format!("recovered state is no prefix of the history: {got:?}")),
    }
}

/// Every (key, value) of the store.
pub fn model_of(db: &Bitcask) -> Model {
    db.iter().expect("iter").map(|r| r.expect("value")).collect()
}

/// How many times to repeat or how finely to sweep: `BITCASK_CRASH_SCALE` (default 1).
pub fn scale() -> usize {
    std::env::var("BITCASK_CRASH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1).max(1)
}
