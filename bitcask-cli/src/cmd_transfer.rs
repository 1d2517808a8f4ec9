//! Moving data in and out: export and import as JSON lines.

use std::io::{self, BufRead, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use bitcask_core::WriteBatch;

use crate::codec::{b64, unb64};
use crate::failure::{context, usage, CmdResult, Failure, EXIT_OTHER};
use crate::flags::Global;
use crate::out::Out;
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
        let mut obj = serde_json::json!({ "key": b64(&e.key), "value": b64(&e.value) });
        if let Some(t) = e.expires_at {
            let ms = t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
            obj["expires_at_ms"] = serde_json::json!(ms);
        }
        writeln!(w, "{obj}")?;
        n += 1;
    }
    w.flush()?;
    note!("exported {n} keys");
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
        let bad = |m: String| usage(format!("line {}: {m}", i + 1));
        let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        let field = |name: &str| -> Result<Vec<u8>, Failure> {
            let s = v
                .get(name)
                .and_then(|x| x.as_str())
                .ok_or_else(|| bad(format!("missing \"{name}\"")))?;
            unb64(s).map_err(|e| bad(format!("{name}: {e}")))
        };
        let (k, val) = (field("key")?, field("value")?);
        match v.get("expires_at_ms").and_then(|x| x.as_u64()) {
            Some(ms) => {
                let at = SystemTime::UNIX_EPOCH + Duration::from_millis(ms);
                match at.duration_since(now) {
                    Ok(ttl) if !ttl.is_zero() => {
                        batch.put_with_ttl(&k, &val, ttl);
                    }
                    _ => {
                        expired += 1;
                        continue;
                    }
                }
            }
            None => {
                batch.put(&k, &val);
            }
        }
        n += 1;
        if batch.len() >= 1000 {
            db.write(std::mem::take(&mut batch))
                .map_err(context(format!("importing near line {}", i + 1)))?;
        }
    }
    db.write(batch).map_err(context("importing".into()))?;
    db.close()?;
    note!("imported {n} keys in {:.2?} ({expired} already expired, skipped)", started.elapsed());
    Ok(0)
}
