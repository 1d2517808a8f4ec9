//! `bitcask bench`: a load generator over the real engine, printing throughput and latency
//! percentiles.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bitcask_core::{Bitcask, Options, SyncPolicy, WriteBatch};

use crate::failure::{CmdResult, Failure, EXIT_OTHER};
use crate::flags::{BenchArgs, Global, Workload};
use crate::out::{size, Out};
use crate::store::options;

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
        "{:<7} {:>9} ops {:>7.2} s {:>11.0} ops/s {:>9.1} MB/s   p50 {:>8.2} µs  p99 {:>8.2} µs  p999 {:>9.2} µs",
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
    let pb = crate::out::bar(ops, "ops");
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

pub fn run(g: &Global, a: &BenchArgs) -> CmdResult {
    if a.threads == 0 || a.keys == 0 || a.batch_size == 0 {
        return Err(crate::failure::usage("--threads, --keys and --batch-size must be positive"));
    }
    let tmp = tempfile::tempdir().map_err(fail)?;
    let dir = g.dir.clone().unwrap_or_else(|| tmp.path().join("bench"));
    let opts = Options { max_file_size: 256 << 20, ..options(g) };
    let db = Arc::new(
        Bitcask::open(&dir, opts).map_err(|e| fail(format!("opening {}: {e}", dir.display())))?,
    );
    let value = vec![0x5au8; a.value_size];
    let per_op = (a.key_size.max(8) + a.value_size) as u64;
    let mut out = Out::new();
    let sync = match g.sync {
        SyncPolicy::Never => "never".to_string(),
        SyncPolicy::Always => "always".to_string(),
        SyncPolicy::EveryMillis(n) => format!("every {n} ms"),
    };
    out.text(&format!(
        "bench: {} keys of {} B, values of {} B, {} thread(s), sync {sync}, store {}",
        a.keys,
        a.key_size.max(8),
        a.value_size,
        a.threads,
        dir.display()
    ))?;
    out.flush()?;
    let wants = |w: Workload| a.workload == w || a.workload == Workload::All;
    let mut loaded = false;
    if wants(Workload::Put) {
        let (secs, lat) = timed(a.threads, a.keys, |_, i| {
            db.put(&key(i, a.key_size), &value).map_err(|e| e.to_string())
        })
        .map_err(fail)?;
        print(
            &mut out,
            &mut Result_ { name: "put", ops: a.keys, bytes_per_op: per_op, secs, lat_ns: lat },
        )?;
        out.flush()?;
        loaded = true;
    }
    if wants(Workload::Batch) || !loaded {
        let batches = a.keys.div_ceil(a.batch_size as u64);
        let (secs, lat) = timed(a.threads, batches, |_, b| {
            let mut batch = WriteBatch::new();
            for i in b * a.batch_size as u64..((b + 1) * a.batch_size as u64).min(a.keys) {
                batch.put(&key(i, a.key_size), &value);
            }
            db.write(batch).map_err(|e| e.to_string())
        })
        .map_err(fail)?;
        if wants(Workload::Batch) {
            let mut r =
                Result_ { name: "batch", ops: a.keys, bytes_per_op: per_op, secs, lat_ns: lat };
            out.text(&format!("        (latencies below are per batch of {})", a.batch_size))?;
            print(&mut out, &mut r)?;
            out.flush()?;
        }
    }
    if wants(Workload::Get) {
        let (secs, lat) = timed(a.threads, a.keys, |_, i| {
            let k = key(i.wrapping_mul(0x2545_f491_4f6c_dd1d) % a.keys, a.key_size);
            match db.get(&k) {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err(format!("key {i} missing")),
                Err(e) => Err(e.to_string()),
            }
        })
        .map_err(fail)?;
        print(
            &mut out,
            &mut Result_ { name: "get", ops: a.keys, bytes_per_op: per_op, secs, lat_ns: lat },
        )?;
        out.flush()?;
    }
    if wants(Workload::Mixed) {
        let (secs, lat) = timed(a.threads, a.keys, |_, i| {
            let k = key(i.wrapping_mul(0x2545_f491_4f6c_dd1d) % a.keys, a.key_size);
            if i % 5 == 0 {
                db.put(&k, &value).map_err(|e| e.to_string())
            } else {
                db.get(&k).map(|_| ()).map_err(|e| e.to_string())
            }
        })
        .map_err(fail)?;
        print(
            &mut out,
            &mut Result_ { name: "mixed", ops: a.keys, bytes_per_op: per_op, secs, lat_ns: lat },
        )?;
    }
    let s = db.stats();
    out.text(&format!(
        "store: {} keys, {} files, {} on disk",
        s.keys,
        s.files.len(),
        size(s.disk_bytes)
    ))?;
    out.flush()?;
    drop(db);
    Ok(0)
}
