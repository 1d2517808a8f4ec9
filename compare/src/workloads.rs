//! The workloads: random 16-byte keys, 100-byte values; uniform or YCSB zipfian key choice;
//! each phase runs until its operations are done or its time cap passes, on 1 or 2 threads.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::engines::Engine;

pub const VALUE_LEN: usize = 100;

/// Key number `i`: 16 bytes, a scrambled counter (so insertion order is random).
pub fn key(i: u64) -> Vec<u8> {
    let mut k = zipf::mix(i).to_le_bytes().to_vec();
    k.extend_from_slice(&i.to_le_bytes());
    k
}

pub fn value(i: u64) -> Vec<u8> {
    vec![(i % 251) as u8; VALUE_LEN]
}

/// xorshift64*.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The CLI bench's zipfian generator, compiled in here too (one copy of the code).
#[path = "../../bitcask-cli/src/zipf.rs"]
#[allow(dead_code)]
mod zipf;
pub use zipf::Zipf;

/// One operation of a mixed workload.
#[derive(Clone, Copy)]
pub enum Mix {
    /// This fraction of reads, the rest updates.
    ReadUpdate(f64),
    /// Half reads, half read-modify-writes.
    ReadModifyWrite,
}

/// Limits of every phase.
#[derive(Clone, Copy)]
pub struct Limits {
    pub records: u64,
    pub ops: u64,
    pub cap: Duration,
}

/// Runs `op(thread, rng)` on `threads` threads until `limits.ops` operations in all or the
/// time cap; returns operations per second. `op` returns how many operations it did.
pub fn timed(threads: u64, limits: Limits, op: &(dyn Fn(u64, &mut Rng) -> u64 + Sync)) -> f64 {
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (done, stop) = (&done, &stop);
            s.spawn(move || {
                let mut rng = Rng::new(t + 1);
                let mut mine = 0u64;
                while !stop.load(Relaxed) {
                    for _ in 0..64 {
                        mine += op(t, &mut rng);
                    }
                    let all = done.fetch_add(mine, Relaxed) + mine;
                    mine = 0;
                    if all >= limits.ops || start.elapsed() >= limits.cap {
                        stop.store(true, Relaxed);
                    }
                }
            });
        }
    });
    done.load(Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// Loads `limits.records` keys, one put per call, timing up to the cap; the rest goes in
/// untimed batches. Returns puts per second.
pub fn load(db: &dyn Engine, limits: Limits) -> f64 {
    let start = Instant::now();
    let mut i = 0;
    while i < limits.records && (i % 1024 != 0 || start.elapsed() < limits.cap) {
        db.put(&key(i), &value(i));
        i += 1;
    }
    let rate = i as f64 / start.elapsed().as_secs_f64();
    while i < limits.records {
        let end = (i + 1000).min(limits.records);
        let pairs: Vec<_> = (i..end).map(|j| (key(j), value(j))).collect();
        db.put_batch(&pairs);
        i = end;
    }
    rate
}

/// Updates of existing keys, one per call.
pub fn updates(db: &dyn Engine, threads: u64, limits: Limits) -> f64 {
    let n = limits.records;
    timed(threads, limits, &|_, rng| {
        let i = rng.next() % n;
        db.put(&key(i), &value(i + 1));
        1
    })
}

/// Updates in batches of `size`.
pub fn batches(db: &dyn Engine, size: u64, limits: Limits) -> f64 {
    let n = limits.records;
    let limits = Limits { ops: limits.ops.max(size * 64), ..limits };
    timed(1, limits, &|_, rng| {
        let pairs: Vec<_> = (0..size).map(|_| rng.next() % n).map(|i| (key(i), value(i))).collect();
        db.put_batch(&pairs);
        size
    })
}

/// Gets of existing keys, one per call; every one must hit.
pub fn gets(db: &dyn Engine, threads: u64, limits: Limits) -> f64 {
    let n = limits.records;
    timed(threads, limits, &|_, rng| {
        let mut len = 0;
        assert!(db.get(&key(rng.next() % n), &mut |v| len = v.len()), "a loaded key is missing");
        assert_eq!(len, VALUE_LEN);
        1
    })
}

/// Gets of `per` keys per call.
pub fn multi_gets(db: &dyn Engine, per: u64, limits: Limits) -> f64 {
    let n = limits.records;
    let limits = Limits { ops: limits.ops.max(per * 64), ..limits };
    timed(1, limits, &|_, rng| {
        let keys: Vec<_> = (0..per).map(|_| key(rng.next() % n)).collect();
        let mut bytes = 0;
        let hits = db.get_many(&keys, &mut |v| bytes += v.len());
        assert_eq!(hits as u64, per, "a loaded key is missing");
        per
    })
}

/// A YCSB core workload on `threads` threads.
pub fn ycsb(db: &dyn Engine, mix: Mix, threads: u64, limits: Limits, zipf: &Zipf) -> f64 {
    timed(threads, limits, &|_, rng| {
        let i = zipf.sample(rng.next());
        let read = match mix {
            Mix::ReadUpdate(r) => rng.unit() < r,
            Mix::ReadModifyWrite => rng.unit() < 0.5,
        };
        let k = key(i);
        if read {
            assert!(db.get(&k, &mut |_| {}), "a loaded key is missing");
        } else if let Mix::ReadModifyWrite = mix {
            let mut v = Vec::new();
            assert!(db.get(&k, &mut |old| v = old.to_vec()), "a loaded key is missing");
            v[0] = v[0].wrapping_add(1);
            db.put(&k, &v);
        } else {
            db.put(&k, &value(i + 2));
        }
        1
    })
}
