//! Moving data in and out: export and import as JSON lines.

use std::io::{self, BufRead, Write};
use std::path::Path;
use std::time::{Instant, SystemTime};

use bitcask_core::{Store, WriteBatch};

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
    let started = Instant::now();
    let mut load = Load::default();
    let stopped = match load.run(&db, reader) {
        Ok(stopped) => stopped,
        Err((line, e)) => return Err(context(format!("importing near line {line}"))(e)),
    };
    // Exactly the lines before a bad one are imported: what is pending is written first.
    for batch in std::mem::take(&mut load.batches).into_values() {
        db.write(batch).map_err(context("importing".into()))?;
    }
    db.close()?;
    if let Some((line, msg)) = stopped {
        let before = format!("{} before it imported", count(line - 1, "line"));
        return Err(usage(format!("line {line}: {msg}; the {before} ({})", count(load.n, "key"))));
    }
    note!(
        "imported {} in {:.2?} ({} already expired, skipped)",
        count(load.n, "key"),
        started.elapsed(),
        load.expired
    );
    Ok(0)
}

/// An import in progress: keys read so far, expired lines skipped, and a pending batch per
/// shard (a batch stays in one shard of a sharded store).
#[derive(Default)]
struct Load {
    batches: std::collections::BTreeMap<usize, WriteBatch>,
    n: u64,
    expired: u64,
}

impl Load {
    /// Reads lines into batches of 1,000 written as they fill; stops at the first line it
    /// cannot read, returning its number and what is wrong (the pending batch, all lines
    /// before it, is left for the caller to write). A failed write is an error.
    fn run(
        &mut self,
        db: &Store,
        reader: Box<dyn BufRead>,
    ) -> Result<Option<(u64, String)>, (u64, bitcask_core::Error)> {
        let now = SystemTime::now();
        for (i, line) in reader.lines().enumerate() {
            let at = i as u64 + 1;
            let line = match line {
                Ok(l) => l,
                Err(e) => return Ok(Some((at, format!("unreadable: {e}")))),
            };
            if line.trim().is_empty() {
                continue;
            }
            let (k, val, expires_at) = match jsonl::from_line(&line) {
                Ok(p) => p,
                Err(m) => return Ok(Some((at, m))),
            };
            if expires_at.is_some_and(|t| t <= now) {
                self.expired += 1;
                continue;
            }
            let batch = self.batches.entry(db.shard_of(&k)).or_default();
            match expires_at {
                Some(t) => batch.put_expiring_at(&k, &val, t),
                None => batch.put(&k, &val),
            };
            self.n += 1;
            if batch.len() >= 1000 {
                db.write(std::mem::take(batch)).map_err(|e| (at, e))?;
            }
        }
        Ok(None)
    }
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
