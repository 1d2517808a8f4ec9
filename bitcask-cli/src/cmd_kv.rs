//! The key/value commands: put, get, delete, keys, scan.

use std::io;
use std::time::Duration;

use crate::codec::{escape, Codec};
use crate::failure::{context, usage, CmdResult, EXIT_NOT_FOUND};
use crate::flags::{Global, KeyArg};
use crate::out::Out;
use crate::store::{decode, key_of, open_to_read, open_to_write, read_limited};

use bitcask_format::MAX_VALUE_LEN;

/// `put KEY [VALUE]`: the value from stdin when omitted or "-".
pub fn put(g: &Global, key: &KeyArg, value: Option<&str>, ttl: Option<Duration>) -> CmdResult {
    // With --key-file, the one argument given is the value.
    let (key, value) = match (&key.key_file, &key.key, value) {
        (Some(_), Some(v), None) => {
            (&KeyArg { key: None, key_file: key.key_file.clone() }, Some(v.as_str()))
        }
        _ => (key, value),
    };
    let k = key_of(g, key)?;
    let v = match value {
        Some("-") | None => {
            if key.key_file.as_deref() == Some(std::path::Path::new("-")) {
                return Err(usage("stdin cannot give both the key and the value"));
            }
            let buf = read_limited(io::stdin().lock(), MAX_VALUE_LEN, "value")?;
            g.codec().decode_bytes(buf).map_err(|e| usage(format!("value: {e}")))?
        }
        Some(s) => decode(g, "value", s)?,
    };
    let db = open_to_write(g)?;
    let r = match ttl {
        Some(t) => db.put_with_ttl(&k, &v, t),
        None => db.put(&k, &v),
    };
    r.map_err(context(format!("put {}", escape(&k))))?;
    db.close()?;
    Ok(0)
}

/// `get KEY`: the raw value to stdout (encoded with --hex/--base64).
pub fn get(g: &Global, key: &KeyArg) -> CmdResult {
    let k = key_of(g, key)?;
    let db = open_to_read(g)?;
    let Some(v) = db.get(&k).map_err(context(format!("get {}", escape(&k))))? else {
        return not_found(&k);
    };
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

/// `ttl KEY`: the remaining time to live in milliseconds, -1 when the key has none.
pub fn ttl(g: &Global, key: &KeyArg) -> CmdResult {
    let k = key_of(g, key)?;
    let db = open_to_read(g)?;
    let Some(ttl) = db.ttl(&k).map_err(context(format!("ttl {}", escape(&k))))? else {
        return not_found(&k);
    };
    let mut out = Out::new();
    out.text(&ttl.map_or(-1, |d| d.as_millis() as i64).to_string())?;
    out.flush()?;
    Ok(0)
}

/// `delete KEY`.
pub fn delete(g: &Global, key: &KeyArg) -> CmdResult {
    let k = key_of(g, key)?;
    let db = open_to_write(g)?;
    let existed = db.delete(&k).map_err(context(format!("delete {}", escape(&k))))?;
    db.close()?;
    if existed {
        Ok(0)
    } else {
        not_found(&k)
    }
}

/// Says the key is absent; exit code 1.
fn not_found(k: &[u8]) -> CmdResult {
    note!("bitcask: key {} not found", escape(k));
    Ok(EXIT_NOT_FOUND)
}

fn prefix_of(g: &Global, prefix: Option<&str>) -> Result<Vec<u8>, crate::failure::Failure> {
    Ok(prefix.map(|s| decode(g, "prefix", s)).transpose()?.unwrap_or_default())
}

/// One field of a text line: encoded, or raw with line-breaking bytes escaped.
fn field(enc: Codec, b: &[u8]) -> Vec<u8> {
    match enc {
        Codec::Raw => crate::codec::line_safe(b).into_owned(),
        _ => enc.encode(b),
    }
}

/// `keys [--prefix P] [--limit N]`.
pub fn keys(g: &Global, prefix: Option<&str>, limit: Option<usize>) -> CmdResult {
    let p = prefix_of(g, prefix)?;
    let db = open_to_read(g)?;
    let mut out = Out::new();
    let enc = g.codec();
    for k in db.keys()?.filter(|k| k.starts_with(&p)).take(limit.unwrap_or(usize::MAX)) {
        out.line(&field(enc, &k))?;
    }
    out.flush()?;
    Ok(0)
}

/// `scan [--prefix P] [--limit N] [--json]`.
pub fn scan(g: &Global, prefix: Option<&str>, limit: Option<usize>, json: bool) -> CmdResult {
    let p = prefix_of(g, prefix)?;
    let db = open_to_read(g)?;
    let mut out = Out::new();
    let enc = g.codec();
    for item in db.scan_prefix(&p)?.entries().take(limit.unwrap_or(usize::MAX)) {
        let e = item.map_err(context("reading a value".into()))?;
        if json {
            out.text(&crate::jsonl::to_line(enc, &e.key, &e.value, e.expires_at))?;
        } else {
            let mut line = field(enc, &e.key);
            line.push(b'\t');
            line.extend(field(enc, &e.value));
            out.line(&line)?;
        }
    }
    out.flush()?;
    Ok(0)
}
