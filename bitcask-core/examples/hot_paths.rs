//! Times the hot paths in one process (for profiling with `perf record`):
//! `cargo run --release -p bitcask-core --example hot_paths -- [put|batch|get|many|open|all] [N]`.

use std::time::Instant;

use bitcask_core::{Bitcask, Options, WriteBatch};

fn key(i: u64) -> [u8; 16] {
    let mut x = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&x.to_le_bytes());
    k[8..].copy_from_slice(&i.to_le_bytes());
    k
}

fn rate(what: &str, n: u64, start: Instant) {
    let s = start.elapsed().as_secs_f64();
    println!("{what:8} {n} ops in {s:.3} s: {:.3} M/s", n as f64 / s / 1e6);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map(String::as_str).unwrap_or("all");
    let n: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    // BITCASK_PWRITE=1: append with one pwrite per write instead of through the map.
    let mmap_writes = std::env::var_os("BITCASK_PWRITE").is_none();
    let opts = Options { max_file_size: 1 << 30, mmap_writes, ..Options::default() };
    let db = Bitcask::open(dir.path(), opts).expect("open");
    let value = [7u8; 100];
    if which == "put" || which == "all" || which == "get" || which == "many" {
        let t = Instant::now();
        for i in 0..n {
            db.put(&key(i), &value).expect("put");
        }
        rate("put", n, t);
    }
    if which == "batch" || which == "all" {
        let t = Instant::now();
        for chunk in 0..n / 1000 {
            let mut b = WriteBatch::new();
            for i in chunk * 1000..chunk * 1000 + 1000 {
                b.put(&key(i + n), &value);
            }
            db.write(b).expect("batch");
        }
        rate("batch", n, t);
    }
    if which == "many" || which == "all" {
        let t = Instant::now();
        let mut x = 1u64;
        let mut sum = 0usize;
        let mut keys = Vec::with_capacity(100);
        for _ in 0..n / 100 {
            keys.clear();
            for _ in 0..100 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                keys.push(key((x >> 16) % n));
            }
            db.get_many_with(&keys, |_, v| sum += v.map_or(0, <[u8]>::len)).expect("get_many");
        }
        rate("many", n, t);
        assert_eq!(sum, n as usize * 100);
    }
    if which == "open" {
        let path = dir.path().to_path_buf();
        let value = [7u8; 100];
        for chunk in 0..n / 1000 {
            let mut b = WriteBatch::new();
            for i in chunk * 1000..chunk * 1000 + 1000 {
                b.put(&key(i), &value);
            }
            db.write(b).expect("batch");
        }
        db.close().expect("close");
        for _ in 0..3 {
            let t = Instant::now();
            let ro = Bitcask::open_read_only(&path, Options::default()).expect("reopen");
            rate("open", n, t);
            assert_eq!(ro.len(), n as usize);
        }
        return;
    }
    if which == "get" || which == "all" {
        let t = Instant::now();
        let mut x = 1u64;
        let mut sum = 0usize;
        for _ in 0..n {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            sum += db.get_with(&key((x >> 16) % n), |v| v.len()).expect("get").unwrap_or(0);
        }
        rate("get", n, t);
        assert_eq!(sum, n as usize * 100);
    }
}
