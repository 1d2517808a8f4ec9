//! Moving data in and out: export and import as JSON lines.

use std::io::{self, BufRead, Write};
use std::path::Path;
use std::time::{Instant, SystemTime};

use bitcask_core::WriteBatch;

use crate::failure::{context, usage, CmdResult, Failure, EXIT_OTHER};
use crate::flags::Global;
use crate::jsonl;
use crate::out::{count, Out};
use crate::store::{open_to_read, open_to_write};

/// `export [FILE]`.
pub fn export(g: &Global, file: Option<&Path>) -> CmdResult {
    let db = open_to_read(g)?;
    let mut w: Box<dyn io::Write> = match file {
        Some(p) => Box::new(io::BufWriter::new(std::fs::File::create(p).map_err(|e| Failure {
            code: EXIT_OTHER,
            msg: format!("creating {}: {e}", p.display()),
        })?)),
        None => Box::new(Out::new_writer()),
    };
    let mut n = 0u64;
    for e in db.iter()?.entries() {
        let e = e.map_err(context("reading a value".into()))?;
        writeln!(w, "{}", jsonl::to_line(g.codec(), &e.key, &e.value, e.expires_at))?;
        n += 1;
    }
    w.flush()?;
    note!("exported {}", count(n, "key"));
    Ok(0)
}

/// `import [FILE]`.
pub fn import(g: &Global, file: Option<&Path>) -> CmdResult {
    let db = open_to_write(g)?;
    let reader: Box<dyn BufRead> = match file {
        Some(p) => Box::new(io::BufReader::new(std::fs::File::open(p).map_err(|e| Failure {
            code: EXIT_OTHER,
            msg: format!("opening {}: {e}", p.display()),
        })?)),
        None => Box::new(io::stdin().lock()),
    };
    let now = SystemTime::now();
    let mut batch = WriteBatch::new();
    let (mut n, mut expired) = (0u64, 0u64);
    let started = Instant::now();
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let (k, val, expires_at) =
            jsonl::from_line(&line).map_err(|m| usage(format!("line {}: {m}", i + 1)))?;
        match expires_at {
            Some(at) if at <= now => {
                expired += 1;
                continue;
            }
            Some(at) => batch.put_expiring_at(&k, &val, at),
            None => batch.put(&k, &val),
        };
        n += 1;
        if batch.len() >= 1000 {
            db.write(std::mem::take(&mut batch))
                .map_err(context(format!("importing near line {}", i + 1)))?;
        }
    }
    db.write(batch).map_err(context("importing".into()))?;
    db.close()?;
    note!(
        "imported {} in {:.2?} ({expired} already expired, skipped)",
        count(n, "key"),
        started.elapsed()
    );
    Ok(0)
}

/// `backup DEST`: a consistent copy of the store, taken read-only (beside a writer it copies
/// the store as of the moment it opens).
pub fn backup(g: &Global, dest: &Path) -> CmdResult {
    let db = open_to_read(g)?;
    let r = db.backup_to(dest).map_err(context(format!("backing up to {}", dest.display())))?;
    note!(
        "backed up to {}: {} linked, {} copied ({})",
        dest.display(),
        count(r.files_linked as u64, "file"),
        count(r.files_copied as u64, "file"),
        crate::out::size(r.bytes_copied)
    );
    Ok(0)
}
