//! Conversions as Redis documents them: a command's RESP reply into the Lua value
//! `redis.call` returns (RESP2 or RESP3, as the script chose with `redis.setresp`), and a
//! script's Lua result into the reply its client reads (in the client's protocol).

use mlua::{Lua, Table, Value};

use crate::number::parse_i64;
use crate::reply::Out;

/// How deep a reply or a result may nest before it is cut (as Redis guards its C stack).
const MAX_DEPTH: usize = 1000;

/// One RESP reply from `bytes` at `*at` as a Lua value; whether it is an error.
pub fn from_resp(lua: &Lua, bytes: &[u8], at: &mut usize) -> mlua::Result<(Value, bool)> {
    let line = next_line(bytes, at);
    let (kind, body) = match line.split_first() {
        Some((k, b)) => (*k, b),
        None => return Ok((Value::Nil, false)),
    };
    // A count past what is left of the input is cut to it (the server's own replies are
    // well-formed; this keeps a bad one from looping or reserving without end).
    let left = bytes.len().saturating_sub(*at) as i64;
    let n = || parse_i64(body).unwrap_or(-1).min(left);
    let int = || parse_i64(body).unwrap_or(0);
    let text = |t: &[u8]| lua.create_string(t).map(Value::String);
    let tagged = |key: &str, v: Value| -> mlua::Result<Value> {
        let t = lua.create_table()?;
        t.raw_set(key, v)?;
        Ok(Value::Table(t))
    };
    let v = match kind {
        b'+' => tagged("ok", text(body)?)?,
        b'-' => {
            // Counted in INFO errorstats when the command failed: not again if the script
            // returns it (the field Redis uses).
            let t = lua.create_table()?;
            t.raw_set("err", text(body)?)?;
            t.raw_set("ignore_error_stats_update", true)?;
            return Ok((Value::Table(t), true));
        }
        b':' => Value::Integer(int()),
        b'$' if n() < 0 => Value::Boolean(false),
        b'$' => text(take(bytes, at, n() as usize))?,
        b'*' if n() < 0 => Value::Boolean(false),
        b'*' | b'>' => {
            let t = lua.create_table_with_capacity(n().max(0) as usize, 0)?;
            for i in 1..=n() {
                t.raw_set(i, from_resp(lua, bytes, at)?.0)?;
            }
            Value::Table(t)
        }
        b'%' => {
            let m = lua.create_table()?;
            for _ in 0..n() {
                let k = from_resp(lua, bytes, at)?.0;
                m.raw_set(k, from_resp(lua, bytes, at)?.0)?;
            }
            tagged("map", Value::Table(m))?
        }
        b'~' => {
            let s = lua.create_table()?;
            for _ in 0..n() {
                s.raw_set(from_resp(lua, bytes, at)?.0, true)?;
            }
            tagged("set", Value::Table(s))?
        }
        b'_' => Value::Nil,
        b'#' => Value::Boolean(body == b"t"),
        b',' => {
            let f = std::str::from_utf8(body).ok().and_then(|s| s.parse().ok()).unwrap_or(0.0);
            tagged("double", Value::Number(f))?
        }
        b'(' => tagged("big_number", text(body)?)?,
        b'=' => {
            let all = take(bytes, at, n().max(0) as usize);
            let (format, s) = all.split_at(all.len().min(4));
            let t = lua.create_table()?;
            t.raw_set("format", lua.create_string(format.strip_suffix(b":").unwrap_or(format))?)?;
            t.raw_set("string", lua.create_string(s)?)?;
            tagged("verbatim_string", Value::Table(t))?
        }
        _ => Value::Nil,
    };
    Ok((v, false))
}

fn next_line<'a>(bytes: &'a [u8], at: &mut usize) -> &'a [u8] {
    let rest = bytes.get(*at..).unwrap_or_default();
    let end = rest.windows(2).position(|w| w == b"\r\n").unwrap_or(rest.len());
    *at = at.saturating_add(end + 2);
    rest.get(..end).unwrap_or_default()
}

fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> &'a [u8] {
    let end = at.saturating_add(n);
    let v = bytes.get(*at..end).unwrap_or_default();
    *at = end.saturating_add(2);
    v
}

/// Writes a script's result as its client's reply: numbers truncated to integers, strings
/// as bulk strings, `true` as 1 (RESP3: true), `false` and `nil` as null, a table with an
/// `err` or `ok` string as an error or a status, RESP3's `double`, `map`, `set` and
/// `big_number` tables, and any other table as the array of its items up to the first nil.
/// A boolean is a RESP3 boolean only when the script chose RESP3 (`script_resp3`), as in
/// Redis. Returns whether the reply is an error, and if so whether it was already counted
/// (an error a command the script called returned).
pub fn to_reply(out: &mut Out, v: &Value, script_resp3: bool) -> Option<bool> {
    write(out, v, 0, script_resp3);
    match v {
        Value::Table(t) if matches!(field(t, "err"), Value::String(_)) => {
            Some(matches!(field(t, "ignore_error_stats_update"), Value::Boolean(true)))
        }
        _ => None,
    }
}

fn write(out: &mut Out, v: &Value, depth: usize, r3: bool) {
    match v {
        Value::Nil => out.null(),
        Value::Boolean(b) if r3 => out.boolean(*b),
        Value::Boolean(true) => out.int(1),
        Value::Boolean(false) => out.null(),
        Value::Integer(i) => out.int(*i),
        Value::Number(f) => out.int(c_integer(*f)),
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Table(_) if depth >= MAX_DEPTH => out.err("reached lua stack limit"),
        Value::Table(t) => table(out, t, depth, r3),
        _ => out.null(),
    }
}

/// A Lua number as Redis turns it into an integer reply: C's `(long long)` cast as x86 does
/// it, so NaN and numbers out of range all become the smallest integer.
fn c_integer(f: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || !(-LIMIT..LIMIT).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

fn field(t: &Table, name: &str) -> Value {
    t.raw_get(name).unwrap_or(Value::Nil)
}

fn table(out: &mut Out, t: &Table, depth: usize, r3: bool) {
    if let Value::String(e) = field(t, "err") {
        out.buf.push(b'-');
        out.buf
            .extend(e.as_bytes().iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        out.buf.extend_from_slice(b"\r\n");
        return;
    }
    if let Value::String(s) = field(t, "ok") {
        return out.status_bytes(&s.as_bytes());
    }
    match field(t, "double") {
        Value::Number(f) => return out.double(f),
        Value::Integer(i) => return out.double(i as f64),
        _ => {}
    }
    if let Value::String(s) = field(t, "big_number") {
        return out.bulk(&s.as_bytes());
    }
    if let Value::Table(m) = field(t, "map") {
        let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().filter_map(Result::ok).collect();
        out.map(pairs.len());
        for (k, v) in &pairs {
            write(out, k, depth + 1, r3);
            write(out, v, depth + 1, r3);
        }
        return;
    }
    if let Value::Table(s) = field(t, "set") {
        let members: Vec<Value> =
            s.pairs::<Value, Value>().filter_map(|p| p.ok().map(|p| p.0)).collect();
        out.set(members.len());
        for m in &members {
            write(out, m, depth + 1, r3);
        }
        return;
    }
    let items: Vec<Value> = (1..)
        .map(|i| t.raw_get::<Value>(i).unwrap_or(Value::Nil))
        .take_while(|v| !matches!(v, Value::Nil))
        .collect();
    out.array(items.len());
    for v in &items {
        write(out, v, depth + 1, r3);
    }
}
