//! Rot sweep: damage at rest. After everything was synced (a clean close, or a kill right
//! after a sync), one bit is flipped or a run of bytes overwritten at offsets across every
//! file kind — the newest datafile with and without a preallocated tail, sealed datafiles
//! with and without hints, hint files — and the store is opened, strict and skipping.
//!
//! Either open refuses (and changes no byte of the damaged file), or every key whose
//! current record the damage did not touch reads exactly as synced, and a touched key reads
//! a value it once had, nothing, or an error — never bytes it never held. Every byte open
//! cuts or skips is in a quarantine file first. `BITCASK_CRASH_SCALE=n` damages n times as
//! many offsets.

mod common;
use common::workload::scale;
use common::*;

use std::collections::{HashMap, HashSet};

use bitcask_core::{Error, Options, RecoveryMode, SyncPolicy, WriteBatch};
use bitcask_format::{decode_entry, Entry, FILE_HEADER_LEN};
use bitcask_testkit::SimStorage;

/// Every value each key ever held (`None`: deleted), and what it holds now.
#[derive(Default, Clone)]
struct History {
    ever: HashMap<Vec<u8>, HashSet<Option<Vec<u8>>>>,
    now: HashMap<Vec<u8>, Option<Vec<u8>>>,
}

impl History {
    fn set(&mut self, k: &[u8], v: Option<Vec<u8>>) {
        self.ever.entry(k.to_vec()).or_insert_with(|| HashSet::from([None])).insert(v.clone());
        self.now.insert(k.to_vec(), v);
    }
}

#[derive(Debug, Clone, Copy)]
enum End {
    CleanClose,
    KillAfterSync,
}

/// A store of several sealed files (one merged, one without its hint) and a newest file,
/// with overwrites, deletes and batches, everything synced.
fn build(mmap_writes: bool, end: End) -> (SimStorage, History) {
    let sim = SimStorage::new(7);
    let opts = Options { mmap_writes, sync: SyncPolicy::Never, ..small(6 << 10) };
    let db = open(&sim, opts);
    let mut h = History::default();
    let val = |i: usize, round: usize| vec![(i * 7 + round) as u8; 20 + (i * 13 + round) % 90];
    for round in 0..3 {
        for i in 0..60 {
            let k = key(i);
            if (i + round) % 11 == 0 {
                db.delete(&k).unwrap();
                h.set(&k, None);
            } else if i % 9 == 4 {
                let mut b = WriteBatch::new();
                b.put(&k, &val(i, round));
                b.put(&key(i + 100), &val(i + 100, round));
                db.write(b).unwrap();
                h.set(&k, Some(val(i, round)));
                h.set(&key(i + 100), Some(val(i + 100, round)));
            } else {
                db.put(&k, &val(i, round)).unwrap();
                h.set(&k, Some(val(i, round)));
            }
        }
        if round == 0 {
            db.merge().unwrap();
        }
    }
    match end {
        End::CleanClose => db.close().unwrap(),
        End::KillAfterSync => {
            db.sync().unwrap();
            sim.kill_process();
            drop(db);
        }
    }
    // One sealed file loses its hint: it is scanned.
    let hints: Vec<String> =
        sim.files(&dir()).into_iter().filter(|n| n.ends_with(".hint")).collect();
    let newest = data_files(&sim).pop().unwrap();
    let sealed_hint = hints.iter().find(|n| n[..16] != newest[..16]).unwrap();
    sim.delete_file(&path(sealed_hint));
    (sim, h)
}

/// Where each key's current record (or its batch frame) lies: (file, start, end).
fn current_records(sim: &SimStorage) -> HashMap<Vec<u8>, (String, usize, usize)> {
    let mut out = HashMap::new();
    for file in data_files(sim) {
        let bytes = sim.read_file(&path(&file)).unwrap();
        let mut pos = FILE_HEADER_LEN;
        while pos < bytes.len() {
            let Ok((entry, len)) = decode_entry(&bytes[pos..]) else { break };
            let span = (file.clone(), pos, pos + len);
            match entry {
                Entry::Record(r) => {
                    out.insert(r.key.to_vec(), span);
                }
                Entry::Batch(b) => {
                    for (_, _, r) in b.records() {
                        out.insert(r.key.to_vec(), span.clone());
                    }
                }
                Entry::SyncPoint { .. } => {}
            }
            pos += len;
        }
    }
    out
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    Flip(usize),
    Overwrite(usize, usize, u8),
}

impl Damage {
    fn span(self) -> (usize, usize) {
        match self {
            Damage::Flip(at) => (at, at + 1),
            Damage::Overwrite(at, n, _) => (at, at + n),
        }
    }

    fn apply(self, bytes: &mut [u8]) {
        match self {
            Damage::Flip(at) => bytes[at] ^= 1 << (at % 8),
            Damage::Overwrite(at, n, fill) => {
                let end = (at + n).min(bytes.len());
                for (i, b) in bytes[at..end].iter_mut().enumerate() {
                    *b = if fill == 0x5a { (i as u8).wrapping_mul(151) ^ 0x5a } else { fill };
                }
            }
        }
    }
}

#[derive(Default, Debug)]
struct Tally {
    cases: usize,
    refused: usize,
    touched_keys: usize,
    quarantined: usize,
}

/// One damaged file.
struct Case<'a> {
    file: &'a str,
    damage: Damage,
    damaged: &'a [u8],
}

/// Opens the damaged store in `mode` and checks the rules.
fn check(
    sim: &SimStorage,
    h: &History,
    records: &HashMap<Vec<u8>, (String, usize, usize)>,
    case: &Case<'_>,
    mode: RecoveryMode,
    t: &mut Tally,
) {
    let Case { file, damage, damaged } = *case;
    let what = format!("{file} {damage:?} {mode:?}");
    t.cases += 1;
    let db = match try_open(sim, Options { recovery: mode, ..Options::default() }) {
        Ok(db) => db,
        Err(Error::Corruption { path: p, .. } | Error::UnsupportedVersion { path: p, .. }) => {
            let version_byte = damage.span().0 < 6 && damage.span().1 > 4;
            assert!(mode == RecoveryMode::Strict || version_byte, "{what}: skip mode refused");
            assert_eq!(p, path(file), "{what}: refusal names another file");
            assert_eq!(sim.read_file(&p).unwrap(), damaged, "{what}: a refused open changed it");
            t.refused += 1;
            return;
        }
        Err(e) => panic!("{what}: {e}"),
    };
    let (from, to) = damage.span();
    for (k, now) in &h.now {
        let (in_file, start, end) = &records[k];
        let touched = in_file == file && from < *end && to > *start;
        let got = db.get(k);
        if !touched {
            assert_eq!(got.as_ref().ok(), Some(now), "{what}: untouched key {k:?} changed");
            continue;
        }
        t.touched_keys += 1;
        match got {
            Ok(v) => assert!(h.ever[k].contains(&v), "{what}: {k:?} reads a value it never held"),
            Err(Error::Corruption { .. }) => {}
            Err(e) => panic!("{what}: {k:?}: {e}"),
        }
    }
    for region in db.recovery_report().damaged() {
        let q = region.quarantine.as_ref().unwrap_or_else(|| panic!("{what}: not set aside"));
        let kept = sim.read_file(q).unwrap_or_else(|| panic!("{what}: {q:?} missing"));
        let name = format!("{}.data", region.file);
        let original = if name == file { damaged.to_vec() } else { Vec::new() };
        let at = region.offset as usize;
        assert!(!kept.is_empty() && at + kept.len() <= original.len(), "{what}: {region:?}");
        assert_eq!(kept, original[at..at + kept.len()], "{what}: quarantine differs");
        assert!(original[at + kept.len()..at + region.len as usize].iter().all(|&b| b == 0));
        t.quarantined += 1;
    }
}

fn damages(len: usize, step: usize, seed: usize) -> Vec<Damage> {
    let mut out = Vec::new();
    let mut at = seed % step;
    let mut i = seed;
    while at < len {
        let n = 1 + i % 24;
        out.push(match i % 4 {
            0 | 1 => Damage::Flip(at),
            2 => Damage::Overwrite(at, n.min(len - at), [0x00, 0xff, 0x5a][i / 4 % 3]),
            _ => Damage::Overwrite(at, n.min(len - at), 0x5a),
        });
        at += step;
        i += 1;
    }
    out
}

fn sweep(mmap_writes: bool, end: End) -> Tally {
    let (sim, h) = build(mmap_writes, end);
    let records = current_records(&sim);
    let step = (61 / scale()).max(1);
    let mut t = Tally::default();
    for (n, file) in sim.files(&dir()).into_iter().enumerate() {
        if !(file.ends_with(".data") || file.ends_with(".hint")) {
            continue;
        }
        let bytes = sim.read_file(&path(&file)).unwrap();
        for damage in damages(bytes.len(), step, n * 7) {
            let mut damaged = bytes.clone();
            damage.apply(&mut damaged);
            for mode in [RecoveryMode::Strict, RecoveryMode::SkipCorrupt] {
                let sim = sim.fork();
                sim.write_file(&path(&file), &damaged);
                let case = Case { file: &file, damage, damaged: &damaged };
                check(&sim, &h, &records, &case, mode, &mut t);
            }
        }
    }
    eprintln!("rot sweep mmap_writes={mmap_writes} {end:?}: {t:?}");
    assert!(t.cases > 400 && t.touched_keys > 0, "{t:?}");
    t
}

#[test]
fn rot_after_a_clean_close_costs_only_the_damaged_records() {
    sweep(true, End::CleanClose);
}

#[test]
fn rot_after_a_kill_right_after_a_sync_costs_only_the_damaged_records() {
    sweep(true, End::KillAfterSync);
}

#[test]
fn rot_in_a_newest_file_without_a_preallocated_tail_costs_only_the_damaged_records() {
    sweep(false, End::KillAfterSync);
}
