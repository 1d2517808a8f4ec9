//! Writes seed corpora for the fuzz targets: valid records, batches, hint files and whole
//! stores made by the engine itself, so no binary blobs live in git.
//!
//!     cargo run -p bitcask-core --example fuzz_seeds -- fuzz/corpus

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bitcask_core::{Bitcask, Options, WriteBatch};
use bitcask_format::{encode_batch, Record};
use bitcask_testkit::SimStorage;

fn write(dir: &Path, target: &str, name: &str, data: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).expect("create corpus dir");
    std::fs::write(d.join(name), data).expect("write seed");
}

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "fuzz/corpus".into()));
    // A store with rotation, deletes, batches and TTLs, closed so every file has a hint.
    let sim = SimStorage::new(1);
    let dir = PathBuf::from("/db");
    let db = Bitcask::open_with_storage(
        Arc::new(sim.clone()),
        &dir,
        Options { max_file_size: 300, ..Options::default() },
        false,
    )
    .expect("open");
    for i in 0..20u8 {
        db.put(&[b'k', i % 7], &vec![i; usize::from(i)]).expect("put");
        if i % 5 == 0 {
            db.delete(&[b'k', i % 3]).expect("delete");
        }
    }
    let mut b = WriteBatch::new();
    b.put(b"ba", b"1").delete(b"k1").put_with_ttl(b"bt", b"2", std::time::Duration::from_secs(9));
    db.write(b).expect("batch");
    db.close().expect("close");
    let files = sim.files(&dir);
    let mut layout = Vec::new();
    for (i, name) in files.iter().enumerate() {
        let bytes = sim.read_file(&dir.join(name)).unwrap_or_default();
        let target = if name.ends_with(".hint") { "hint_decode" } else { "file_scan" };
        let mut seed = Vec::new();
        if target == "hint_decode" {
            seed.extend_from_slice(&u64::MAX.to_le_bytes());
        } else {
            seed.push(i as u8 * 13);
        }
        seed.extend_from_slice(&bytes);
        write(&out, target, &format!("store-{name}"), &seed);
        // open_dir layout: kind, generation, sequence, length (u16), bytes.
        let kind = if name.ends_with(".hint") { 2 } else { 0 };
        layout.extend_from_slice(&[kind, i as u8 / 2, 0]);
        let len = bytes.len().min(4095) as u16;
        layout.extend_from_slice(&len.to_le_bytes());
        layout.extend_from_slice(&bytes[..usize::from(len)]);
    }
    write(&out, "open_dir", "store", &layout);

    let mut buf = Vec::new();
    Record::put(b"key", b"value").encode(&mut buf).expect("encode");
    write(&out, "record_decode", "record", &buf);
    buf.clear();
    Record::put_expiring(b"key", b"value", 1 << 40).encode(&mut buf).expect("encode");
    write(&out, "record_decode", "expiring", &buf);
    buf.clear();
    Record::tombstone(b"key").encode(&mut buf).expect("encode");
    write(&out, "record_decode", "tombstone", &buf);
    buf.clear();
    encode_batch(&[Record::put(b"a", b"1"), Record::tombstone(b"b")], &mut buf).expect("batch");
    write(&out, "record_decode", "batch", &buf);

    // ops_model: a few mixed programs (the first bytes choose sync policy, file size, seed).
    for seed in 0..8u8 {
        let prog: Vec<u8> =
            (0..400u32).map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed * 11)).collect();
        write(&out, "ops_model", &format!("prog-{seed}"), &prog);
    }
    write(&out, "roundtrip", "empty", &[]);
    println!("seeds written to {}", out.display());
}
