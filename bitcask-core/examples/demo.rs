//! Writes, reads, deletes, merges and reopens a store in a temporary directory, printing
//! what happens.

use std::time::Instant;

use bitcask_core::{Bitcask, Options, WriteBatch};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("demo");
    let opts = Options { max_file_size: 4 << 20, ..Options::default() };
    let db = Bitcask::open(&dir, opts.clone())?;
    println!("opened {}", dir.display());

    let n = 200_000u32;
    let start = Instant::now();
    for i in 0..n {
        db.put(
            format!("user:{i:08}").as_bytes(),
            format!(
                "value number {i} .............................................................."
            )
            .as_bytes(),
        )?;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("put {n} keys in {:.2}s ({:.0} puts/s)", secs, f64::from(n) / secs);

    let start = Instant::now();
    for i in (0..n).step_by(7) {
        assert!(db.get(format!("user:{i:08}").as_bytes())?.is_some());
    }
    println!("read {} keys in {:.3}s", n / 7 + 1, start.elapsed().as_secs_f64());

    for i in 0..n / 2 {
        db.put(format!("user:{i:08}").as_bytes(), b"updated")?;
    }
    let mut batch = WriteBatch::new();
    for i in 0..1000 {
        batch.delete(format!("user:{:08}", n - 1 - i).as_bytes());
    }
    db.write(batch)?;
    let s = db.stats();
    println!(
        "{} keys, {} files, {:.1} MiB on disk, {:.0}% dead",
        s.keys,
        s.files.len(),
        s.disk_bytes as f64 / (1 << 20) as f64,
        s.fragmentation() * 100.0
    );

    let r = db.merge()?;
    println!(
        "merged {} files into {} in {:.2}s, reclaimed {:.1} MiB",
        r.files_in,
        r.files_out,
        r.duration.as_secs_f64(),
        r.bytes_reclaimed as f64 / (1 << 20) as f64
    );
    let s = db.stats();
    println!(
        "after merge: {} keys, {:.1} MiB on disk",
        s.keys,
        s.disk_bytes as f64 / (1 << 20) as f64
    );
    db.close()?;

    let start = Instant::now();
    let db = Bitcask::open(&dir, opts)?;
    let rep = db.recovery_report();
    println!(
        "reopened in {:.1} ms: {} keys, {} hint files used, {} files scanned",
        start.elapsed().as_secs_f64() * 1000.0,
        db.len(),
        rep.hints_used,
        rep.files_scanned
    );
    assert_eq!(db.get(b"user:00000001")?, Some(b"updated".to_vec()));
    assert_eq!(db.get(format!("user:{:08}", n - 1).as_bytes())?, None);
    println!("ok");
    Ok(())
}
