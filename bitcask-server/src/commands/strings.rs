//! String commands: GET, SET and its relatives (GETSET, GETDEL, GETEX), MGET/MSET, counters,
//! APPEND and ranges (GETRANGE, SUBSTR, SETRANGE).

use super::args::{Args, Failure, Res};
use super::spec::{Cx, Spec, F_FAST, F_LOCKREAD, F_READONLY, F_WRITE};

use crate::notify::{GENERIC, STRING};
use crate::number::{format_f64, itoa, parse_f64, parse_i64};

/// The string commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "get", arity: 2, flags: F_READONLY | F_FAST, keys: (1, 1, 1), group: "string", summary: "Returns the string value of a key.", run: get, ..Spec::NONE },
    Spec { name: "set", arity: -3, flags: F_WRITE, keys: (1, 1, 1), group: "string", summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", run: set, ..Spec::NONE },
    Spec { name: "setnx", arity: 3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "string", summary: "Set the string value of a key only when the key doesn't exist.", run: setnx, ..Spec::NONE },
    Spec { name: "setex", arity: 4, flags: F_WRITE, keys: (1, 1, 1), group: "string", summary: "Sets the string value and expiration time of a key.", run: setex, ..Spec::NONE },
    Spec { name: "psetex", arity: 4, flags: F_WRITE, keys: (1, 1, 1), group: "string", summary: "Sets both string value and expiration time in milliseconds of a key.", run: psetex, ..Spec::NONE },
    Spec { name: "getset", arity: 3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "string", summary: "Returns the previous string value of a key after setting it to a new value.", run: getset, ..Spec::NONE },
    Spec { name: "getdel", arity: 2, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "string", summary: "Returns the string value of a key after deleting the key.", run: getdel, ..Spec::NONE },
    Spec { name: "getex", arity: -2, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "string", summary: "Returns the string value of a key after setting its expiration time.", run: getex, ..Spec::NONE },
    Spec { name: "mget", arity: -2, flags: F_READONLY | F_FAST | F_LOCKREAD, keys: (1, -1, 1), group: "string", summary: "Atomically returns the string values of one or more keys.", run: mget, ..Spec::NONE },
    Spec { name: "mset", arity: -3, flags: F_WRITE, keys: (1, -1, 2), group: "string", summary: "Atomically creates or modifies the string values of one or more keys.", run: mset, ..Spec::NONE },
    Spec { name: "msetnx", arity: -3, flags: F_WRITE, keys: (1, -1, 2), group: "string", summary: "Atomically modifies the string values of one or more keys only when all keys don't exist.", run: msetnx, ..Spec::NONE },
    Spec { name: "incr", arity: 2, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "string", summary: "Increments the integer value of a key by one.", run: incr, ..Spec::NONE },
    Spec { name: "decr", arity: 2, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "string", summary: "Decrements the integer value of a key by one.", run: decr, ..Spec::NONE },
    Spec { name: "incrby", arity: 3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "string", summary: "Increments the integer value of a key by a number.", run: incrby, ..Spec::NONE },
    Spec { name: "decrby", arity: 3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "string", summary: "Decrements a number from the integer value of a key.", run: decrby, ..Spec::NONE },
    Spec { name: "incrbyfloat", arity: 3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "string", summary: "Increment the floating point value of a key by a number.", run: incrbyfloat, ..Spec::NONE },
    Spec { name: "append", arity: 3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "string", summary: "Appends a string to the value of a key.", run: append, ..Spec::NONE },
    Spec { name: "strlen", arity: 2, flags: F_READONLY | F_FAST, keys: (1, 1, 1), group: "string", summary: "Returns the length of a string value.", run: strlen, ..Spec::NONE },
    Spec { name: "getrange", arity: 4, flags: F_READONLY, keys: (1, 1, 1), group: "string", summary: "Returns a substring of the string stored at a key.", run: getrange, ..Spec::NONE },
    Spec { name: "substr", arity: 4, flags: F_READONLY, keys: (1, 1, 1), group: "string", summary: "Returns a substring from a string value.", run: getrange, ..Spec::NONE },
    Spec { name: "setrange", arity: 4, flags: F_WRITE, keys: (1, 1, 1), group: "string", summary: "Overwrites a part of a string value with another by an offset.", run: setrange, ..Spec::NONE },
];

/// The largest string a command may build (as Redis's `proto-max-bulk-len`).
pub const MAX_STRING: u64 = 512 << 20;

/// `ERR string exceeds maximum allowed size (proto-max-bulk-len)`.
pub fn too_big() -> Failure {
    Failure::err("string exceeds maximum allowed size (proto-max-bulk-len)")
}

/// An expiry argument as an absolute time in ms: `unit` ms per unit, `absolute` for
/// EXAT/PXAT; `ERR invalid expire time in 'cmd' command` when it is not after the epoch.
pub fn expiry_arg(
    cx: &Cx<'_>,
    args: &mut Args<'_>,
    unit: i64,
    absolute: bool,
    cmd: &str,
) -> Result<u64, Failure> {
    let v = args.int()?;
    let at = v.checked_mul(unit).filter(|_| v > 0).and_then(|ms| {
        if absolute {
            Some(ms)
        } else {
            ms.checked_add(cx.tx.now as i64)
        }
    });
    match at {
        Some(at) if at > 0 => Ok(at as u64),
        _ => Err(Failure::err(format!("invalid expire time in '{cmd}' command"))),
    }
}

fn get(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let out = &mut *cx.out;
    if cx.tx.with_value(args.key(), |v| out.bulk(v))?.is_none() {
        out.null();
    }
    Ok(())
}

/// SET's options.
#[derive(Default)]
struct SetOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    /// The expiry's argument, ms per unit, absolute.
    expire: Option<(&'a [u8], i64, bool)>,
}

/// The expiry options of SET: (word, ms per unit, absolute).
const SET_EXPIRY: [(&str, i64, bool); 4] =
    [("ex", 1000, false), ("px", 1, false), ("exat", 1000, true), ("pxat", 1, true)];

/// Reads SET's options (any order; an expiry takes the argument after it).
fn set_opts<'a>(args: &mut Args<'a>) -> Result<SetOpts<'a>, Failure> {
    let mut o = SetOpts::default();
    while args.left() > 0 {
        let can_expire = !o.keepttl && o.expire.is_none() && args.left() > 1;
        let expiry = SET_EXPIRY.iter().find(|(w, ..)| can_expire && args.eat(w));
        if let Some(&(_, unit, absolute)) = expiry {
            o.expire = Some((args.key(), unit, absolute));
        } else if !o.xx && args.eat("nx") {
            o.nx = true;
        } else if !o.nx && args.eat("xx") {
            o.xx = true;
        } else if args.eat("get") {
            o.get = true;
        } else if o.expire.is_none() && args.eat("keepttl") {
            o.keepttl = true;
        } else {
            return Err(Failure::syntax());
        }
    }
    Ok(o)
}

fn set(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (key, value) = (args.key(), args.key());
    let o = set_opts(args)?;
    let mut at = 0;
    if let Some((arg, unit, absolute)) = o.expire {
        at = expiry_arg(cx, &mut Args::new(&[arg], 0), unit, absolute, "set")?;
    }
    if !o.nx && !o.xx && !o.get && !o.keepttl {
        // The common case: one write, no read.
        cx.tx.put_now(key, value, at)?;
        set_events(cx, key, at != 0);
        cx.out.ok();
        return Ok(());
    }
    // SET ... GET reads the key as GET does (a keyspace hit or miss); NX and XX do not.
    cx.tx.count_reads.set(o.get);
    let old = cx.tx.get(key)?;
    cx.tx.count_reads.set(false);
    let old_value = |old: &Option<(Vec<u8>, u64)>| old.as_ref().map(|(v, _)| v.clone());
    if (o.nx && old.is_some()) || (o.xx && old.is_none()) {
        if o.get {
            cx.out.opt_bulk(old_value(&old).as_deref());
        } else {
            cx.out.null();
        }
        return Ok(());
    }
    if o.keepttl {
        at = old.as_ref().map_or(0, |(_, t)| *t);
    }
    cx.tx.put(key, value.to_vec(), at);
    set_events(cx, key, o.expire.is_some());
    if o.get {
        cx.out.opt_bulk(old_value(&old).as_deref());
    } else {
        cx.out.ok();
    }
    Ok(())
}

/// The events of a SET: `set`, and `expire` when it set an expiry.
fn set_events(cx: &mut Cx<'_>, key: &[u8], expires: bool) {
    cx.tx.notify(STRING, "set", key);
    if expires {
        cx.tx.notify(GENERIC, "expire", key);
    }
}

fn setnx(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (key, value) = (args.key(), args.key());
    let exists = cx.tx.exists(key)?;
    if !exists {
        cx.tx.put(key, value.to_vec(), 0);
        set_events(cx, key, false);
    }
    cx.out.int(i64::from(!exists));
    Ok(())
}

fn set_expiring(cx: &mut Cx<'_>, args: &mut Args<'_>, unit: i64, cmd: &str) -> Res {
    let key = args.key();
    let at = expiry_arg(cx, args, unit, false, cmd)?;
    cx.tx.put(key, args.key().to_vec(), at);
    set_events(cx, key, true);
    cx.out.ok();
    Ok(())
}

fn setex(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    set_expiring(cx, args, 1000, "setex")
}

fn psetex(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    set_expiring(cx, args, 1, "psetex")
}

fn getset(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (key, value) = (args.key(), args.key());
    let old = cx.tx.get(key)?;
    cx.tx.put(key, value.to_vec(), 0);
    set_events(cx, key, false);
    cx.out.opt_bulk(old.as_ref().map(|(v, _)| v.as_slice()));
    Ok(())
}

fn getdel(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let old = cx.tx.get(key)?;
    if old.is_some() {
        cx.tx.delete(key)?;
        cx.tx.notify(GENERIC, "del", key);
    }
    cx.out.opt_bulk(old.as_ref().map(|(v, _)| v.as_slice()));
    Ok(())
}

fn getex(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    // None: leave the expiry; Some(0): PERSIST; Some(t): expire at t.
    let new_at = match args.left() {
        0 => None,
        1 if args.eat("persist") => Some(0),
        2 => {
            let (unit, absolute) = match () {
                _ if args.eat("ex") => (1000, false),
                _ if args.eat("px") => (1, false),
                _ if args.eat("exat") => (1000, true),
                _ if args.eat("pxat") => (1, true),
                _ => return Err(Failure::syntax()),
            };
            Some(expiry_arg(cx, args, unit, absolute, "getex")?)
        }
        _ => return Err(Failure::syntax()),
    };
    let old = cx.tx.get(key)?;
    if let (Some((v, at)), Some(new)) = (&old, new_at) {
        if *at != new {
            cx.tx.put(key, v.clone(), new);
        }
        match new {
            0 if *at != 0 => cx.tx.notify(GENERIC, "persist", key),
            0 => {}
            t if t <= cx.tx.now => cx.tx.notify(GENERIC, "del", key),
            _ => cx.tx.notify(GENERIC, "expire", key),
        }
    }
    cx.out.opt_bulk(old.as_ref().map(|(v, _)| v.as_slice()));
    Ok(())
}

fn mget(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let keys = args.rest();
    cx.out.array(keys.len());
    for key in keys {
        let out = &mut *cx.out;
        match cx.tx.with_value(key, |v| out.bulk(v)) {
            Ok(Some(())) => {}
            Ok(None) => out.null(),
            // A key of another type is nil, as Redis's.
            Err(crate::tx::TxError::WrongType) => out.null(),
            // Keep the array well-formed: an error element.
            Err(crate::tx::TxError::Store(e)) => Failure::Store(e).reply(out),
        }
    }
    Ok(())
}

/// The (key, value) pairs of MSET and MSETNX.
fn pairs<'a>(args: &mut Args<'a>, cmd: &str) -> Result<&'a [&'a [u8]], Failure> {
    let rest = args.rest();
    if !rest.len().is_multiple_of(2) {
        return Err(Failure::arity(cmd));
    }
    Ok(rest)
}

fn mset(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    for pair in pairs(args, "mset")?.chunks_exact(2) {
        if let [k, v] = pair {
            cx.tx.put(k, v.to_vec(), 0);
            set_events(cx, k, false);
        }
    }
    cx.out.ok();
    Ok(())
}

fn msetnx(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let pairs = pairs(args, "msetnx")?;
    for key in pairs.iter().step_by(2) {
        if cx.tx.exists(key)? {
            cx.out.int(0);
            return Ok(());
        }
    }
    for pair in pairs.chunks_exact(2) {
        if let [k, v] = pair {
            cx.tx.put(k, v.to_vec(), 0);
            set_events(cx, k, false);
        }
    }
    cx.out.int(1);
    Ok(())
}

/// The current value of `key` as an integer (0 when absent) and its expiry.
fn current_int(cx: &Cx<'_>, key: &[u8]) -> Result<(i64, u64), Failure> {
    match cx.tx.get(key)? {
        None => Ok((0, 0)),
        Some((v, at)) => Ok((parse_i64(&v).ok_or_else(Failure::not_int)?, at)),
    }
}

fn incr_by(cx: &mut Cx<'_>, key: &[u8], delta: i64) -> Res {
    let (n, at) = current_int(cx, key)?;
    let new = n.checked_add(delta).ok_or(Failure::err("increment or decrement would overflow"))?;
    let mut b = [0u8; 20];
    cx.tx.put(key, itoa(new, &mut b).to_vec(), at);
    cx.tx.notify(STRING, "incrby", key);
    cx.out.int(new);
    Ok(())
}

fn incr(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    incr_by(cx, args.key(), 1)
}

fn decr(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    incr_by(cx, args.key(), -1)
}

fn incrby(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let by = args.int()?;
    incr_by(cx, key, by)
}

fn decrby(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let by = args.int()?.checked_neg().ok_or(Failure::err("decrement would overflow"))?;
    incr_by(cx, key, by)
}

fn incrbyfloat(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let by = args.float()?;
    let (n, at) = match cx.tx.get(key)? {
        None => (0.0, 0),
        Some((v, at)) => (parse_f64(&v).ok_or(Failure::err("value is not a valid float"))?, at),
    };
    let new = n + by;
    if !new.is_finite() {
        return Err(Failure::err("increment would produce NaN or Infinity"));
    }
    let text = format_f64(new);
    cx.tx.put(key, text.clone().into_bytes(), at);
    cx.tx.notify(STRING, "incrbyfloat", key);
    cx.out.bulk(text.as_bytes());
    Ok(())
}

fn append(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (key, more) = (args.key(), args.key());
    let (mut v, at) = cx.tx.get(key)?.unwrap_or_default();
    if (v.len() + more.len()) as u64 > MAX_STRING {
        return Err(too_big());
    }
    v.extend_from_slice(more);
    let len = v.len();
    cx.tx.put(key, v, at);
    cx.tx.notify(STRING, "append", key);
    cx.out.int(len as i64);
    Ok(())
}

fn strlen(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let len = cx.tx.with_value(args.key(), <[u8]>::len)?;
    cx.out.int(len.unwrap_or(0) as i64);
    Ok(())
}

fn getrange(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let (start, end) = (args.int()?, args.int()?);
    let out = &mut *cx.out;
    let found = cx.tx.with_value(key, |v| {
        let len = v.len() as i64;
        let fix = |i: i64| if i < 0 { (len + i).max(0) } else { i };
        let (s, e) = (fix(start), fix(end).min(len - 1));
        if (start < 0 && end < 0 && start > end) || len == 0 || s > e {
            out.bulk(b"");
        } else {
            out.bulk(v.get(s as usize..=e as usize).unwrap_or_default());
        }
    })?;
    if found.is_none() {
        out.bulk(b"");
    }
    Ok(())
}

fn setrange(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let offset = args.int()?;
    let part = args.key();
    if offset < 0 {
        return Err(Failure::err("offset is out of range"));
    }
    let old = cx.tx.get(key)?;
    if part.is_empty() {
        cx.out.int(old.map_or(0, |(v, _)| v.len() as i64));
        return Ok(());
    }
    let end = offset as u64 + part.len() as u64;
    if end > MAX_STRING {
        return Err(too_big());
    }
    let (mut v, at) = old.unwrap_or_default();
    if v.len() < end as usize {
        v.resize(end as usize, 0);
    }
    if let Some(dst) = v.get_mut(offset as usize..end as usize) {
        dst.copy_from_slice(part);
    }
    let len = v.len();
    cx.tx.put(key, v, at);
    cx.tx.notify(STRING, "setrange", key);
    cx.out.int(len as i64);
    Ok(())
}
