//! `bitcask bench`: a load generator over the real engine, printing throughput and latency
//! percentiles.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bitcask_core::{Bitcask, Options, SyncPolicy, WriteBatch};

use crate::failure::{CmdResult, Failure, EXIT_OTHER};
use crate::flags::{BenchArgs, Global, Workload};
use crate::out::{size, Out};
use crate::store::options;
use crate::zipf::{mix, unit, Zipf};

/// What a YCSB operation does besides reading.
#[derive(Clone, Copy)]
enum Mix {
    /// This fraction of operations are updates, the rest reads.
    Update(f64),
    /// Half reads, half read-modify-writes of one key.
    ReadModifyWrite,
}

/// Key number `i`: a scrambled 8-byte prefix (so keys are spread like random ones), padded.
fn key(i: u64, len: usize) -> Vec<u8> {
    let mut x = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    let mut k = x.to_le_bytes().to_vec();
    k.resize(len.max(8), b'k');
    k
}

struct Result_ {
    name: &'static str,
    ops: u64,
    bytes_per_op: u64,
    secs: f64,
    lat_ns: Vec<u64>,
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

fn print(out: &mut Out, r: &mut Result_) -> std::io::Result<()> {
    r.lat_ns.sort_unstable();
    let ops_s = r.ops as f64 / r.secs;
    out.text(&format!(
        "{:<8} {:>9} ops {:>7.2} s {:>11.0} ops/s {:>9.1} MB/s   p50 {:>8.2} µs  p99 {:>8.2} µs  p999 {:>9.2} µs",
        r.name,
        r.ops,
        r.secs,
        ops_s,
        ops_s * r.bytes_per_op as f64 / 1e6,
        pct(&r.lat_ns, 0.50),
        pct(&r.lat_ns, 0.99),
        pct(&r.lat_ns, 0.999),
    ))
}

/// Runs `f(thread, i)` for i in 0..ops split over `threads`, timing each call.
fn timed(
    threads: usize,
    ops: u64,
    f: impl Fn(usize, u64) -> Result<(), String> + Sync,
) -> Result<(f64, Vec<u64>), String> {
    let done = AtomicU64::new(0);
    let pb = crate::out::ops_bar(ops, "bench");
    let start = Instant::now();
    let results: Vec<Result<Vec<u64>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (f, done, pb) = (&f, &done, &pb);
                s.spawn(move || {
                    let mut lat = Vec::with_capacity((ops / threads as u64 + 1) as usize);
                    let mut i = t as u64;
                    while i < ops {
                        let t0 = Instant::now();
                        f(t, i)?;
                        lat.push(t0.elapsed().as_nanos() as u64);
                        i += threads as u64;
                        if lat.len().is_multiple_of(4096) {
                            pb.set_position(done.fetch_add(4096, Ordering::Relaxed) + 4096);
                        }
                    }
                    Ok(lat)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("benchmark thread panicked".into())))
            .collect()
    });
    let secs = start.elapsed().as_secs_f64();
    pb.finish_and_clear();
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    Ok((secs, all))
}

fn fail(e: impl ToString) -> Failure {
    Failure { code: EXIT_OTHER, msg: e.to_string() }
}

/// `bench`: each workload the arguments select, on a temporary store unless `--dir` is
/// given.
pub fn run(g: &Global, a: &BenchArgs) -> CmdResult {
    if a.threads == 0 || a.keys == 0 || a.batch_size == 0 {
        return Err(crate::failure::usage("--threads, --keys and --batch-size must be positive"));
    }
    let tmp = tempfile::tempdir().map_err(fail)?;
    let dir = a.store.clone().unwrap_or_else(|| tmp.path().join("bench"));
    let opts = Options { max_file_size: 256 << 20, ..options(g) };
    let db =
        Bitcask::open(&dir, opts).map_err(|e| fail(format!("opening {}: {e}", dir.display())))?;
    let mut b = Bench {
        db,
        a,
        value: vec![0x5au8; a.value_size],
        per_op: (a.key_size.max(8) + a.value_size) as u64,
        out: Out::new(),
    };
    let sync = match g.sync {
        SyncPolicy::Never => "never".to_string(),
        SyncPolicy::Always => "always".to_string(),
        SyncPolicy::EveryMillis(n) => format!("every {n} ms"),
    };
    b.out.text(&format!(
        "bench: {} keys of {} B, values of {} B, {} thread(s), sync {sync}, store {}",
        a.keys,
        a.key_size.max(8),
        a.value_size,
        a.threads,
        dir.display()
    ))?;
    b.out.flush()?;
    let wants = |w: Workload| a.workload == w || a.workload == Workload::All;
    if wants(Workload::Put) {
        b.puts()?;
    }
    if wants(Workload::Batch) || !wants(Workload::Put) {
        // Gets and mixed need the keys loaded.
        b.batches(wants(Workload::Batch))?;
    }
    if wants(Workload::Get) {
        b.gets()?;
    }
    if wants(Workload::Mixed) {
        b.mixed()?;
    }
    if wants(Workload::Multiget) {
        b.multigets()?;
    }
    let ycsb = [
        (Workload::YcsbA, "ycsb-a", Mix::Update(0.5)),
        (Workload::YcsbB, "ycsb-b", Mix::Update(0.05)),
        (Workload::YcsbC, "ycsb-c", Mix::Update(0.0)),
        (Workload::YcsbF, "ycsb-f", Mix::ReadModifyWrite),
    ];
    let zipf = ycsb.iter().any(|w| wants(w.0)).then(|| Zipf::new(a.keys));
    for (w, name, mix) in ycsb {
        if let (true, Some(z)) = (wants(w), &zipf) {
            b.ycsb(name, mix, z)?;
        }
    }
    let s = b.db.stats();
    b.out.text(&format!(
        "store: {} keys, {} files, {} on disk",
        s.keys,
        s.files.len(),
        size(s.disk_bytes)
    ))?;
    b.out.flush()?;
    Ok(0)
}

/// One benchmark run over one store.
struct Bench<'a> {
    db: Bitcask,
    a: &'a BenchArgs,
    value: Vec<u8>,
    per_op: u64,
    out: Out,
}

impl Bench<'_> {
    fn report(&mut self, name: &'static str, secs: f64, lat_ns: Vec<u64>) -> CmdResult {
        let mut r = Result_ { name, ops: self.a.keys, bytes_per_op: self.per_op, secs, lat_ns };
        print(&mut self.out, &mut r)?;
        self.out.flush()?;
        Ok(0)
    }

    fn puts(&mut self) -> CmdResult {
        let (db, a, value) = (&self.db, self.a, &self.value);
        let (secs, lat) = timed(a.threads, a.keys, |_, i| {
            db.put(&key(i, a.key_size), value).map_err(|e| e.to_string())
        })
        .map_err(fail)?;
        self.report("put", secs, lat)
    }

    /// Loads every key in batches; prints the figures when `show`.
    fn batches(&mut self, show: bool) -> CmdResult {
        let (db, a, value) = (&self.db, self.a, &self.value);
        let size = a.batch_size as u64;
        let (secs, lat) = timed(a.threads, a.keys.div_ceil(size), |_, b| {
            let mut batch = WriteBatch::new();
            for i in b * size..((b + 1) * size).min(a.keys) {
                batch.put(&key(i, a.key_size), value);
            }
            db.write(batch).map_err(|e| e.to_string())
        })
        .map_err(fail)?;
        if !show {
            return Ok(0);
        }
        self.out.text(&format!("        (latencies below are per batch of {})", a.batch_size))?;
        self.report("batch", secs, lat)
    }

    fn gets(&mut self) -> CmdResult {
        let (db, a) = (&self.db, self.a);
        let (secs, lat) = timed(a.threads, a.keys, |_, i| {
            let k = key(i.wrapping_mul(0x2545_f491_4f6c_dd1d) % a.keys, a.key_size);
            match db.get_with(&k, |v| v.len()) {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err(format!("key {i} missing")),
                Err(e) => Err(e.to_string()),
            }
        })
        .map_err(fail)?;
        self.report("get", secs, lat)
    }

    /// 80% gets, 20% puts.
    fn mixed(&mut self) -> CmdResult {
        let (db, a, value) = (&self.db, self.a, &self.value);
        let (secs, lat) = timed(a.threads, a.keys, |_, i| {
            let k = key(i.wrapping_mul(0x2545_f491_4f6c_dd1d) % a.keys, a.key_size);
            if i % 5 == 0 {
                db.put(&k, value).map_err(|e| e.to_string())
            } else {
                db.get(&k).map(|_| ()).map_err(|e| e.to_string())
            }
        })
        .map_err(fail)?;
        self.report("mixed", secs, lat)
    }

    /// Gets of `--batch-size` keys per call (at most 1000); latencies are per call.
    fn multigets(&mut self) -> CmdResult {
        let (db, a) = (&self.db, self.a);
        let per = (a.batch_size as u64).min(1000);
        let calls = a.keys.div_ceil(per);
        let (secs, lat) = timed(a.threads, calls, |_, c| {
            let keys: Vec<Vec<u8>> =
                (0..per).map(|j| key(mix(c * per + j) % a.keys, a.key_size)).collect();
            let mut missing = 0;
            db.get_many_with(&keys, |_, v| missing += usize::from(v.is_none()))
                .map_err(|e| e.to_string())?;
            if missing > 0 {
                return Err(format!("{missing} keys missing"));
            }
            Ok(())
        })
        .map_err(fail)?;
        self.out.text(&format!("        (latencies below are per call of {per} keys)"))?;
        let mut r = Result_ {
            name: "multiget",
            ops: calls * per,
            bytes_per_op: self.per_op,
            secs,
            lat_ns: lat,
        };
        print(&mut self.out, &mut r)?;
        self.out.flush()?;
        Ok(0)
    }

    /// A YCSB core workload over the loaded keys, zipfian.
    fn ycsb(&mut self, name: &'static str, m: Mix, zipf: &Zipf) -> CmdResult {
        let (db, a, value) = (&self.db, self.a, &self.value);
        let (secs, lat) = timed(a.threads, a.keys, |_, i| {
            let r = mix(i ^ 0x5bd1_e995);
            let k = key(zipf.sample(r), a.key_size);
            let coin = unit(mix(r));
            let read = |k: &[u8]| match db.get(k) {
                Ok(Some(v)) => Ok(v),
                Ok(None) => Err("a loaded key is missing".to_string()),
                Err(e) => Err(e.to_string()),
            };
            match m {
                Mix::Update(p) if coin < p => db.put(&k, value).map_err(|e| e.to_string()),
                Mix::ReadModifyWrite if coin < 0.5 => {
                    let mut v = read(&k)?;
                    if let Some(b) = v.first_mut() {
                        *b = b.wrapping_add(1);
                    }
                    db.put(&k, &v).map_err(|e| e.to_string())
                }
                _ => read(&k).map(|_| ()),
            }
        })
        .map_err(fail)?;
        self.report(name, secs, lat)
    }
}
