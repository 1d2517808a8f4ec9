//! The key/value commands: put, get, delete, keys, scan.

use std::io::{self, Read};
use std::time::Duration;

use crate::codec::{b64, escape, Codec};
use crate::failure::{context, usage, CmdResult, EXIT_NOT_FOUND};
use crate::flags::Global;
use crate::out::Out;
use crate::store::{decode, open_to_read, open_to_write};

/// `put KEY [VALUE]`: the value from stdin when omitted or "-".
pub fn put(g: &Global, key: &str, value: Option<&str>, ttl: Option<Duration>) -> CmdResult {
    let k = decode(g, "key", key)?;
    let v = match value {
        Some("-") | None => {
            let mut buf = Vec::new();
            io::stdin().read_to_end(&mut buf)?;
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
pub fn get(g: &Global, key: &str) -> CmdResult {
    let k = decode(g, "key", key)?;
    let db = open_to_read(g)?;
    let Some(v) = db.get(&k).map_err(context(format!("get {}", escape(&k))))? else {
        note!("bitcask: key {} not found", escape(&k));
        return Ok(EXIT_NOT_FOUND);
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
pub fn ttl(g: &Global, key: &str) -> CmdResult {
    let k = decode(g, "key", key)?;
    let db = open_to_read(g)?;
    let Some(ttl) = db.ttl(&k).map_err(context(format!("ttl {}", escape(&k))))? else {
        note!("bitcask: key {} not found", escape(&k));
        return Ok(EXIT_NOT_FOUND);
    };
    let mut out = Out::new();
    out.text(&ttl.map_or(-1, |d| d.as_millis() as i64).to_string())?;
    out.flush()?;
    Ok(0)
}

/// `delete KEY`.
pub fn delete(g: &Global, key: &str) -> CmdResult {
    let k = decode(g, "key", key)?;
    let db = open_to_write(g)?;
    let existed = db.delete(&k).map_err(context(format!("delete {}", escape(&k))))?;
    db.close()?;
    if existed {
        Ok(0)
    } else {
        note!("bitcask: key {} not found", escape(&k));
        Ok(EXIT_NOT_FOUND)
    }
}

fn prefix_of(g: &Global, prefix: Option<&str>) -> Result<Vec<u8>, crate::failure::Failure> {
    Ok(prefix.map(|s| decode(g, "prefix", s)).transpose()?.unwrap_or_default())
}

/// `keys [--prefix P] [--limit N]`.
pub fn keys(g: &Global, prefix: Option<&str>, limit: Option<usize>) -> CmdResult {
    let p = prefix_of(g, prefix)?;
    let db = open_to_read(g)?;
    let mut out = Out::new();
    let enc = g.codec();
    for k in db.keys()?.filter(|k| k.starts_with(&p)).take(limit.unwrap_or(usize::MAX)) {
        out.line(&enc.encode(&k))?;
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
        if json {
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
