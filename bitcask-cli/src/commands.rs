//! The commands: each parses its input, calls the core, and prints.

use std::io::{self, BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use bitcask_core::{Bitcask, Error, Options, WriteBatch};

use crate::codec::{b64, escape, unb64, Codec};
use crate::out::{bar, size, Out};
use crate::{Cli, Command, Global};

pub const EXIT_NOT_FOUND: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_CORRUPTION: u8 = 3;
pub const EXIT_LOCKED: u8 = 4;
pub const EXIT_OTHER: u8 = 5;

/// A failure: the message to print (with context) and the exit code.
pub struct Failure {
    pub code: u8,
    pub msg: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let code = match e {
            Error::Corruption { .. } | Error::UnsupportedVersion { .. } => EXIT_CORRUPTION,
            Error::Locked { .. } => EXIT_LOCKED,
            _ => EXIT_OTHER,
        };
        Failure { code, msg: e.to_string() }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure { code: EXIT_OTHER, msg: e.to_string() }
    }
}

pub fn usage(msg: impl Into<String>) -> Failure {
    Failure { code: EXIT_USAGE, msg: msg.into() }
}

fn context(what: String) -> impl FnOnce(Error) -> Failure {
    move |e| {
        let mut f = Failure::from(e);
        f.msg = format!("{what}: {}", f.msg);
        f
    }
}

pub type CmdResult = Result<u8, Failure>;

pub fn run(cli: Cli) -> ExitCode {
    let result = dispatch(&cli);
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            if f.msg.contains("Broken pipe") || f.msg.contains("os error 32") {
                return ExitCode::SUCCESS;
            }
            eprintln!("bitcask: {}", f.msg);
            ExitCode::from(f.code)
        }
    }
}

pub fn options(g: &Global) -> Options {
    Options { sync: g.sync, ..Options::default() }
}

fn dir(g: &Global) -> Result<&Path, Failure> {
    g.dir.as_deref().ok_or_else(|| usage("no store directory: pass --dir PATH or set BITCASK_DIR"))
}

pub fn open(g: &Global) -> Result<Bitcask, Failure> {
    let d = dir(g)?;
    let r = if g.read_only {
        Bitcask::open_read_only(d, options(g))
    } else {
        Bitcask::open(d, options(g))
    };
    r.map_err(context(format!("opening {}", d.display())))
}

fn decode(g: &Global, what: &str, s: &str) -> Result<Vec<u8>, Failure> {
    g.codec().decode(s).map_err(|e| usage(format!("{what}: {e}")))
}

fn dispatch(cli: &Cli) -> CmdResult {
    let g = &cli.global;
    match &cli.command {
        Command::Put { key, value, ttl } => {
            let k = decode(g, "key", key)?;
            let v = match value.as_deref() {
                Some("-") | None => {
                    let mut buf = Vec::new();
                    io::stdin().read_to_end(&mut buf)?;
                    g.codec().decode_bytes(buf).map_err(|e| usage(format!("value: {e}")))?
                }
                Some(s) => decode(g, "value", s)?,
            };
            let db = open(g)?;
            let r = match ttl {
                Some(t) => db.put_with_ttl(&k, &v, *t),
                None => db.put(&k, &v),
            };
            r.map_err(context(format!("put {}", escape(&k))))?;
            db.close()?;
            Ok(0)
        }
        Command::Get { key } => {
            let k = decode(g, "key", key)?;
            let db = open(g)?;
            match db.get(&k).map_err(context(format!("get {}", escape(&k))))? {
                Some(v) => {
                    let mut out = Out::new();
                    let enc = g.codec();
                    if enc == Codec::Raw {
                        out.bytes(&v)?;
                    } else {
                        out.line(&enc.encode(&v))?;
                    }
                    out.flush()?;
                    Ok(0)
                }
                None => {
                    eprintln!("bitcask: key {} not found", escape(&k));
                    Ok(EXIT_NOT_FOUND)
                }
            }
        }
        Command::Delete { key } => {
            let k = decode(g, "key", key)?;
            let db = open(g)?;
            let existed = db.delete(&k).map_err(context(format!("delete {}", escape(&k))))?;
            db.close()?;
            if existed {
                Ok(0)
            } else {
                eprintln!("bitcask: key {} not found", escape(&k));
                Ok(EXIT_NOT_FOUND)
            }
        }
        Command::Keys { prefix, limit } => {
            let p =
                prefix.as_deref().map(|s| decode(g, "prefix", s)).transpose()?.unwrap_or_default();
            let db = open(g)?;
            let mut out = Out::new();
            let enc = g.codec();
            for k in db.keys()?.filter(|k| k.starts_with(&p)).take(limit.unwrap_or(usize::MAX)) {
                out.line(&enc.encode(&k))?;
            }
            out.flush()?;
            Ok(0)
        }
        Command::Scan { prefix, limit, json } => {
            let p =
                prefix.as_deref().map(|s| decode(g, "prefix", s)).transpose()?.unwrap_or_default();
            let db = open(g)?;
            let mut out = Out::new();
            let enc = g.codec();
            let mut n = 0;
            for item in db.iter()? {
                if n >= limit.unwrap_or(usize::MAX) {
                    break;
                }
                let (k, v) = item.map_err(context("reading a value".into()))?;
                if !k.starts_with(&p) {
                    continue;
                }
                n += 1;
                if *json {
                    out.text(&json_pair(enc, &k, &v).to_string())?;
                } else {
                    let mut line = enc.encode(&k);
                    line.push(b'\t');
                    line.extend(enc.encode(&v));
                    out.line(&line)?;
                }
            }
            out.flush()?;
            Ok(0)
        }
        Command::Stats { json } => stats(g, *json),
        Command::Merge => {
            let db = open(g)?;
            let pb = bar(0, "merge");
            let r = db
                .merge_with_progress(|p| {
                    pb.set_length(p.bytes_total);
                    pb.set_position(p.bytes_done);
                })
                .map_err(context("merge".into()))?;
            pb.finish_and_clear();
            eprintln!(
                "merged {} files into {} in {:.2?}: read {}, wrote {}, reclaimed {}",
                r.files_in,
                r.files_out,
                r.duration,
                size(r.bytes_read),
                size(r.bytes_written),
                size(r.bytes_reclaimed)
            );
            db.close()?;
            Ok(0)
        }
        Command::Check => check(g),
        Command::Repair { yes, backup } => repair(g, *yes, backup.clone()),
        Command::Export { file } => export(g, file.as_deref()),
        Command::Import { file } => import(g, file.as_deref()),
        Command::Inspect { file, limit } => crate::inspect::inspect(g, file, *limit),
        Command::Bench(args) => crate::bench::run(g, args),
        Command::Demo => crate::demo::run(),
    }
}

/// A key/value pair as JSON: text when it is UTF-8 and no encoding was asked for, else
/// encoded (`key_hex`, `value_base64`, ...).
fn json_pair(enc: Codec, k: &[u8], v: &[u8]) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (name, b) in [("key", k), ("value", v)] {
        let (field, s) = match (enc, std::str::from_utf8(b)) {
            (Codec::Raw, Ok(s)) => (name.to_string(), s.to_string()),
            (Codec::Hex, _) => (format!("{name}_hex"), crate::codec::hex_encode(b)),
            _ => (format!("{name}_base64"), b64(b)),
        };
        m.insert(field, serde_json::Value::String(s));
    }
    serde_json::Value::Object(m)
}

fn stats(g: &Global, json: bool) -> CmdResult {
    let db = open(g)?;
    let s = db.stats();
    let mut out = Out::new();
    if json {
        let files: Vec<serde_json::Value> = s
            .files
            .iter()
            .map(|f| {
                serde_json::json!({
                    "file_id": f.file_id.to_string(), "active": f.active, "size": f.size,
                    "live_keys": f.live_keys, "live_bytes": f.live_bytes,
                    "dead_keys": f.dead_keys, "dead_bytes": f.dead_bytes,
                    "fragmentation": f.fragmentation(),
                })
            })
            .collect();
        let v = serde_json::json!({
            "keys": s.keys, "files": files, "live_bytes": s.live_bytes, "dead_bytes": s.dead_bytes,
            "disk_bytes": s.disk_bytes, "fragmentation": s.fragmentation(),
        });
        out.text(&v.to_string())?;
    } else {
        out.text(&format!("keys          {}", s.keys))?;
        out.text(&format!("files         {}", s.files.len()))?;
        out.text(&format!("disk use      {}", size(s.disk_bytes)))?;
        out.text(&format!("live bytes    {}", size(s.live_bytes)))?;
        out.text(&format!(
            "dead bytes    {} ({:.1}%)",
            size(s.dead_bytes),
            s.fragmentation() * 100.0
        ))?;
        out.text("")?;
        out.text("file              size        live keys  dead keys  fragmentation")?;
        for f in &s.files {
            out.text(&format!(
                "{}{} {:>10} {:>10} {:>10} {:>8.1}%",
                f.file_id,
                if f.active { "*" } else { " " },
                size(f.size),
                f.live_keys,
                f.dead_keys,
                f.fragmentation() * 100.0
            ))?;
        }
    }
    out.flush()?;
    Ok(0)
}

fn check(g: &Global) -> CmdResult {
    let d = dir(g)?;
    let pb = bar(0, "check");
    let report = bitcask_core::check(d, |done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })
    .map_err(context(format!("checking {}", d.display())))?;
    pb.finish_and_clear();
    let mut out = Out::new();
    for f in &report.files {
        for p in &f.problems {
            out.text(&format!(
                "{}: offset {}, {} bytes: {}",
                f.path.display(),
                p.offset,
                p.len,
                p.detail
            ))?;
        }
    }
    out.flush()?;
    let records: u64 = report
        .files
        .iter()
        .filter(|f| f.kind == bitcask_core::CheckedKind::Data)
        .map(|f| f.records)
        .sum();
    if report.is_clean() {
        eprintln!("ok: {} files, {} records verified", report.files.len(), records);
        Ok(0)
    } else {
        eprintln!(
            "damage found: {} problems in {} of {} files ({} valid records); `bitcask repair` can salvage them",
            report.problem_count(),
            report.files.iter().filter(|f| !f.problems.is_empty()).count(),
            report.files.len(),
            records
        );
        Ok(EXIT_CORRUPTION)
    }
}

fn repair(g: &Global, yes: bool, backup: Option<PathBuf>) -> CmdResult {
    let d = dir(g)?;
    let report =
        bitcask_core::check(d, |_, _| {}).map_err(context(format!("checking {}", d.display())))?;
    if report.is_clean() {
        eprintln!("nothing to repair: every record and hint file is valid");
        return Ok(0);
    }
    let stamp = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let backup = backup.unwrap_or_else(|| d.join(format!("repair-backup-{stamp}")));
    eprintln!("damaged files:");
    for f in report.files.iter().filter(|f| !f.problems.is_empty()) {
        let lost: u64 = f.problems.iter().map(|p| p.len).sum();
        eprintln!("  {} ({} problems, {} bytes)", f.path.display(), f.problems.len(), lost);
    }
    eprintln!("originals will be moved to {}", backup.display());
    if !yes {
        if !io::stdin().is_terminal() {
            return Err(usage("repair needs confirmation: pass --yes"));
        }
        eprint!("rewrite these files? [y/N] ");
        let mut answer = String::new();
        io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing changed");
            return Ok(EXIT_OTHER);
        }
    }
    let r =
        bitcask_core::repair(d, &backup).map_err(context(format!("repairing {}", d.display())))?;
    let mut out = Out::new();
    for f in &r.files {
        out.text(&format!(
            "{}: kept {} records; original in {}",
            f.path.display(),
            f.records_kept,
            f.backup.display()
        ))?;
        for p in &f.lost {
            out.text(&format!("  lost offset {}, {} bytes: {}", p.offset, p.len, p.detail))?;
        }
    }
    out.flush()?;
    eprintln!("repaired {} files; {} bytes could not be saved", r.files.len(), r.bytes_lost());
    Ok(0)
}

fn export(g: &Global, file: Option<&Path>) -> CmdResult {
    let db = open(g)?;
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
    eprintln!("exported {n} keys");
    Ok(0)
}

fn import(g: &Global, file: Option<&Path>) -> CmdResult {
    let db = open(g)?;
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
    eprintln!(
        "imported {n} keys in {:.2?} ({expired} already expired, skipped)",
        started.elapsed()
    );
    Ok(0)
}
