//! Memory of the keydir per key: loads N keys (16-byte keys, 100-byte values; default 10M,
//! `BITCASK_KEYS` to change) and reports the keydir's heap (allocated capacity, keys included)
//! and the growth of the process's anonymous resident memory, both per key; then the disk
//! use (datafiles and hint files) against the raw key and value bytes, and the reopen time.
//!
//!     cargo bench -p bitcask-core --bench keydir_memory

use std::time::Instant;

use bitcask_core::{Bitcask, Options, WriteBatch};

/// Anonymous resident memory (Linux `RssAnon`): the heap, not the page cache of the mapped
/// datafiles, which the whole resident set would count.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status.lines().find_map(|l| l.strip_prefix("RssAnon:")).unwrap_or("0 kB");
    kb.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap_or(0) * 1024
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` asks harness=false benches to list; nothing to list
    }
    let n: u64 =
        std::env::var("BITCASK_KEYS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000_000);
    let dir = tempfile::tempdir().unwrap();
    let db = Bitcask::open(dir.path(), Options { max_file_size: 1 << 30, ..Options::default() })
        .unwrap();
    let before = rss_bytes();
    let start = Instant::now();
    let v = [0x5au8; 100];
    let mut b = WriteBatch::new();
    for i in 0..n {
        let mut k = [b'k'; 16];
        k[..8].copy_from_slice(&(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_le_bytes());
        k[8..].copy_from_slice(&i.to_le_bytes());
        b.put(&k, &v);
        if b.len() == 1000 {
            db.write(std::mem::take(&mut b)).unwrap();
        }
    }
    db.write(b).unwrap();
    let load = start.elapsed();
    let s = db.stats();
    let rss = rss_bytes().saturating_sub(before);
    println!(
        "{n} keys loaded in {:.1} s; keydir heap {:.1} bytes/key; anonymous resident memory grew {:.1} bytes/key",
        load.as_secs_f64(),
        s.keydir_bytes as f64 / n as f64,
        rss as f64 / n as f64
    );
    db.close().unwrap();
    // Disk use before any merge, hint files included, against the raw key and value bytes.
    let on_disk: u64 =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    let raw = n * (16 + 100);
    println!(
        "disk use {:.1} MB for {:.1} MB of keys and values: {:.3}x",
        on_disk as f64 / 1e6,
        raw as f64 / 1e6,
        on_disk as f64 / raw as f64
    );
    drop(db);
    let start = Instant::now();
    let db = Bitcask::open(dir.path(), Options::default()).unwrap();
    println!(
        "reopened {} keys with hint files in {:.0} ms",
        db.len(),
        start.elapsed().as_secs_f64() * 1000.0
    );
}
