//! Criterion benchmarks of the engine, with the floors they are held against measured in the
//! same run: a loop of plain `pwrite`s of the same bytes, a loop of `pread`s, `fdatasync`.
//!
//!     cargo bench -p bitcask-core --bench engine
//!     BITCASK_BENCH_BIG=1 cargo bench -p bitcask-core --bench engine -- open   # 10M keys too
//!
//! Keys are 16 bytes (a scrambled counter), values 100 bytes unless the name says otherwise.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcask_core::{Bitcask, Options, SyncPolicy, WriteBatch};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn key(i: u64) -> [u8; 16] {
    let mut x = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    let mut k = [b'k'; 16];
    k[..8].copy_from_slice(&x.to_le_bytes());
    k[8..16].copy_from_slice(&i.to_le_bytes());
    k
}

fn opts(sync: SyncPolicy) -> Options {
    Options { sync, max_file_size: 1 << 30, ..Options::default() }
}

/// Runs `n` operations split over `threads` threads; returns the wall time.
fn threaded(threads: u64, n: u64, f: impl Fn(u64) + Sync) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let f = &f;
            s.spawn(move || {
                let mut i = t;
                while i < n {
                    f(i);
                    i += threads;
                }
            });
        }
    });
    start.elapsed()
}

fn floors(c: &mut Criterion) {
    let mut g = c.benchmark_group("floor");
    let dir = tempfile::tempdir().unwrap();
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.path().join("f"))
        .unwrap();
    let rec = [0x5au8; 123]; // the size of a put of a 16-byte key and a 100-byte value
    g.throughput(Throughput::Elements(1));
    let mut off = 0u64;
    g.bench_function("pwrite 123 B append", |b| {
        b.iter(|| {
            f.write_all_at(&rec, off).unwrap();
            off += 123;
            if off > 512 << 20 {
                off = 0;
            }
        })
    });
    let len = off.max(1 << 20);
    let mut buf = [0u8; 123];
    let mut x = 1u64;
    g.bench_function("pread 123 B random", |b| {
        b.iter(|| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            f.read_exact_at(&mut buf, (x >> 20) % (len - 123)).unwrap();
        })
    });
    g.sample_size(20);
    g.bench_function("pwrite + fdatasync", |b| {
        b.iter(|| {
            f.write_all_at(&rec, off).unwrap();
            off += 123;
            f.sync_data().unwrap();
        })
    });
    g.finish();
}

fn put(c: &mut Criterion) {
    let mut g = c.benchmark_group("put");
    g.throughput(Throughput::Elements(1));
    for size in [16usize, 100, 1024, 65536] {
        let dir = tempfile::tempdir().unwrap();
        let db = Bitcask::open(dir.path(), opts(SyncPolicy::Never)).unwrap();
        let v = vec![0x5au8; size];
        let mut i = 0u64;
        g.bench_function(BenchmarkId::new("never", format!("{size} B")), |b| {
            b.iter(|| {
                db.put(&key(i), &v).unwrap();
                i += 1;
            })
        });
    }
    for threads in [2u64, 4, 8] {
        let dir = tempfile::tempdir().unwrap();
        let db = Bitcask::open(dir.path(), opts(SyncPolicy::Never)).unwrap();
        let v = [0x5au8; 100];
        g.bench_function(BenchmarkId::new("never, threads", threads), |b| {
            b.iter_custom(|n| threaded(threads, n, |i| db.put(&key(i), &v).unwrap()))
        });
    }
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    for threads in [1u64, 8] {
        let dir = tempfile::tempdir().unwrap();
        let db = Bitcask::open(dir.path(), opts(SyncPolicy::Always)).unwrap();
        let v = [0x5au8; 100];
        g.bench_function(BenchmarkId::new("always, threads", threads), |b| {
            b.iter_custom(|n| threaded(threads, n, |i| db.put(&key(i), &v).unwrap()))
        });
    }
    g.finish();
}

fn batch(c: &mut Criterion) {
    let mut g = c.benchmark_group("batch");
    g.throughput(Throughput::Elements(1000));
    let dir = tempfile::tempdir().unwrap();
    let db = Bitcask::open(dir.path(), opts(SyncPolicy::Never)).unwrap();
    let v = [0x5au8; 100];
    let mut i = 0u64;
    g.bench_function("1000 puts per batch", |b| {
        b.iter(|| {
            let mut batch = WriteBatch::new();
            for _ in 0..1000 {
                batch.put(&key(i), &v);
                i += 1;
            }
            db.write(batch).unwrap();
        })
    });
    g.finish();
}

fn loaded(dir: &Path, n: u64, max_file_size: u64) -> Bitcask {
    let db = Bitcask::open(dir, Options { max_file_size, ..Options::default() }).unwrap();
    let v = [0x5au8; 100];
    let mut b = WriteBatch::new();
    for i in 0..n {
        b.put(&key(i), &v);
        if b.len() == 1000 {
            db.write(std::mem::take(&mut b)).unwrap();
        }
    }
    db.write(b).unwrap();
    db
}

fn get(c: &mut Criterion) {
    let mut g = c.benchmark_group("get");
    g.throughput(Throughput::Elements(1));
    let n = 1_000_000u64;
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(loaded(dir.path(), n, 64 << 20));
    let mut x = 7u64;
    g.bench_function("hit, 1M keys", |b| {
        b.iter(|| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            db.get(&key((x >> 16) % n)).unwrap().unwrap()
        })
    });
    g.bench_function("hit, 1M keys, zero-copy get_with", |b| {
        b.iter(|| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            db.get_with(&key((x >> 16) % n), |v| v.len()).unwrap()
        })
    });
    g.throughput(Throughput::Elements(100));
    g.bench_function("get_many_with, 100 keys per call, 1M keys", |b| {
        let mut keys = Vec::with_capacity(100);
        b.iter(|| {
            keys.clear();
            for _ in 0..100 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                keys.push(key((x >> 16) % n));
            }
            let mut bytes = 0;
            db.get_many_with(&keys, |_, v| bytes += v.map_or(0, <[u8]>::len)).unwrap();
            bytes
        })
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("miss", |b| {
        b.iter(|| {
            x += 1;
            db.get(&key(n + x)).unwrap()
        })
    });
    g.bench_function("hit, 1M keys, 2 threads", |b| {
        b.iter_custom(|iters| {
            threaded(2, iters, |i| {
                db.get(&key(i.wrapping_mul(0x2545_f491_4f6c_dd1d) % n)).unwrap().unwrap();
            })
        })
    });
    g.finish();
}

fn iterate(c: &mut Criterion) {
    let mut g = c.benchmark_group("iterate");
    let n = 1_000_000u64;
    let dir = tempfile::tempdir().unwrap();
    let db = loaded(dir.path(), n, 64 << 20);
    g.throughput(Throughput::Elements(n));
    g.sample_size(10);
    g.bench_function("all pairs, 1M keys", |b| {
        b.iter(|| db.iter().unwrap().map(|r| r.unwrap().1.len()).sum::<usize>())
    });
    g.finish();
}

fn open(c: &mut Criterion) {
    let mut g = c.benchmark_group("open");
    g.sample_size(10);
    let sizes: &[u64] = if std::env::var_os("BITCASK_BENCH_BIG").is_some() {
        &[1_000_000, 10_000_000]
    } else {
        &[1_000_000]
    };
    for &n in sizes {
        let dir = tempfile::tempdir().unwrap();
        loaded(dir.path(), n, 64 << 20).close().unwrap();
        g.bench_function(BenchmarkId::new("with hints", n), |b| {
            b.iter(|| Bitcask::open_read_only(dir.path(), Options::default()).unwrap().len())
        });
        for e in std::fs::read_dir(dir.path()).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "hint") {
                std::fs::remove_file(p).unwrap();
            }
        }
        g.bench_function(BenchmarkId::new("without hints", n), |b| {
            b.iter(|| Bitcask::open_read_only(dir.path(), Options::default()).unwrap().len())
        });
    }
    g.finish();
}

fn merge(c: &mut Criterion) {
    let mut g = c.benchmark_group("merge");
    g.sample_size(10);
    let n = 1_000_000u64;
    // Two versions of every key: half of the bytes are garbage.
    let input_bytes = 2 * n * 123;
    g.throughput(Throughput::Bytes(input_bytes));
    g.bench_function("50% garbage, 246 MB of input", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let db = loaded(dir.path(), n, 64 << 20);
                let v = [0x33u8; 100];
                let mut batch = WriteBatch::new();
                for i in 0..n {
                    batch.put(&key(i), &v);
                    if batch.len() == 1000 {
                        db.write(std::mem::take(&mut batch)).unwrap();
                    }
                }
                let start = Instant::now();
                db.merge().unwrap();
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = floors, put, batch, get, iterate, open, merge
}
criterion_main!(benches);
