//! String commands: GET, SET and its relatives, MGET/MSET, counters, APPEND and ranges.

use super::{check, int_arg, is, store_error, wrong_args, Cx};
use crate::number::{format_f64, itoa, parse_f64, parse_i64};

/// The largest string a command may build (as Redis's `proto-max-bulk-len`).
const MAX_STRING: u64 = 512 << 20;

fn too_big(cx: &mut Cx<'_>) {
    cx.out.err("string exceeds maximum allowed size (proto-max-bulk-len)");
}

/// An expiry argument as an absolute time in ms: `unit` ms per unit, `absolute` for
/// EXAT/PXAT. Replies the error (naming `cmd`) and returns `None` when it is invalid.
pub fn expiry_arg(
    cx: &mut Cx<'_>,
    arg: &[u8],
    unit: i64,
    absolute: bool,
    cmd: &str,
) -> Option<u64> {
    let v = int_arg(cx.out, arg)?;
    let at = v.checked_mul(unit).filter(|_| v > 0).and_then(|ms| {
        if absolute {
            Some(ms)
        } else {
            ms.checked_add(cx.tx.now as i64)
        }
    });
    match at {
        Some(at) if at > 0 => Some(at as u64),
        _ => {
            cx.out.err(&format!("invalid expire time in '{cmd}' command"));
            None
        }
    }
}

pub fn get(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let key = argv.get(1).copied().unwrap_or_default();
    let out = &mut *cx.out;
    match cx.tx.with_value(key, |v| out.bulk(v)) {
        Ok(Some(())) => {}
        Ok(None) => out.null(),
        Err(e) => store_error(out, &e),
    }
}

/// SET's options.
#[derive(Default)]
struct SetOpts {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    /// (argument index, ms per unit, absolute).
    expire: Option<(usize, i64, bool)>,
}

fn set_opts(argv: &[&[u8]]) -> Option<SetOpts> {
    let mut o = SetOpts::default();
    let mut i = 3;
    while let Some(opt) = argv.get(i) {
        let has_value = i + 1 < argv.len();
        let unit = if is(opt, "ex") || is(opt, "exat") { 1000 } else { 1 };
        if is(opt, "nx") && !o.xx {
            o.nx = true;
        } else if is(opt, "xx") && !o.nx {
            o.xx = true;
        } else if is(opt, "get") {
            o.get = true;
        } else if is(opt, "keepttl") && o.expire.is_none() {
            o.keepttl = true;
        } else if ["ex", "px", "exat", "pxat"].iter().any(|w| is(opt, w))
            && !o.keepttl
            && o.expire.is_none()
            && has_value
        {
            let absolute = is(opt, "exat") || is(opt, "pxat");
            o.expire = Some((i + 1, unit, absolute));
            i += 1;
        } else {
            return None;
        }
        i += 1;
    }
    Some(o)
}

pub fn set(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let (key, value) =
        (argv.get(1).copied().unwrap_or_default(), argv.get(2).copied().unwrap_or_default());
    let Some(o) = set_opts(argv) else { return cx.out.err("syntax error") };
    let mut at = 0;
    if let Some((i, unit, absolute)) = o.expire {
        let Some(t) =
            expiry_arg(cx, argv.get(i).copied().unwrap_or_default(), unit, absolute, "set")
        else {
            return;
        };
        at = t;
    }
    if !o.nx && !o.xx && !o.get && !o.keepttl && !cx.in_exec {
        // The common case: one write, no read.
        return match cx.tx.ks().put(key, value, at) {
            Ok(()) => {
                cx.sess.wrote = true;
                cx.out.ok();
            }
            Err(e) => store_error(cx.out, &e),
        };
    }
    let Some(old) = check(cx.out, cx.tx.get(key)) else { return };
    let reply_old = |cx: &mut Cx<'_>, old: &Option<(Vec<u8>, u64)>| {
        cx.out.opt_bulk(old.as_ref().map(|(v, _)| v.as_slice()));
    };
    if (o.nx && old.is_some()) || (o.xx && old.is_none()) {
        return if o.get { reply_old(cx, &old) } else { cx.out.null() };
    }
    if o.keepttl {
        at = old.as_ref().map_or(0, |(_, t)| *t);
    }
    cx.tx.put(key, value.to_vec(), at);
    if o.get {
        reply_old(cx, &old);
    } else {
        cx.out.ok();
    }
}

pub fn setnx(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let (key, value) =
        (argv.get(1).copied().unwrap_or_default(), argv.get(2).copied().unwrap_or_default());
    let Some(exists) = check(cx.out, cx.tx.exists(key)) else { return };
    if !exists {
        cx.tx.put(key, value.to_vec(), 0);
    }
    cx.out.int(i64::from(!exists));
}

fn set_expiring(cx: &mut Cx<'_>, argv: &[&[u8]], unit: i64, cmd: &str) {
    let key = argv.get(1).copied().unwrap_or_default();
    let Some(at) = expiry_arg(cx, argv.get(2).copied().unwrap_or_default(), unit, false, cmd)
    else {
        return;
    };
    cx.tx.put(key, argv.get(3).copied().unwrap_or_default().to_vec(), at);
    cx.out.ok();
}

pub fn setex(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    set_expiring(cx, argv, 1000, "setex");
}

pub fn psetex(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    set_expiring(cx, argv, 1, "psetex");
}

pub fn getdel(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let key = argv.get(1).copied().unwrap_or_default();
    let Some(old) = check(cx.out, cx.tx.get(key)) else { return };
    if old.is_some() && check(cx.out, cx.tx.delete(key)).is_none() {
        return;
    }
    cx.out.opt_bulk(old.as_ref().map(|(v, _)| v.as_slice()));
}

pub fn getex(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let key = argv.get(1).copied().unwrap_or_default();
    // None: leave the expiry; Some(0): PERSIST; Some(t): expire at t.
    let new_at = match argv.get(2..).unwrap_or_default() {
        [] => None,
        [opt] if is(opt, "persist") => Some(0),
        [opt, v] => {
            let (unit, absolute) = match () {
                _ if is(opt, "ex") => (1000, false),
                _ if is(opt, "px") => (1, false),
                _ if is(opt, "exat") => (1000, true),
                _ if is(opt, "pxat") => (1, true),
                _ => return cx.out.err("syntax error"),
            };
            match expiry_arg(cx, v, unit, absolute, "getex") {
                Some(t) => Some(t),
                None => return,
            }
        }
        _ => return cx.out.err("syntax error"),
    };
    let Some(old) = check(cx.out, cx.tx.get(key)) else { return };
    if let (Some((v, at)), Some(new)) = (&old, new_at) {
        if *at != new {
            cx.tx.put(key, v.clone(), new);
        }
    }
    cx.out.opt_bulk(old.as_ref().map(|(v, _)| v.as_slice()));
}

pub fn mget(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let keys = argv.get(1..).unwrap_or_default();
    cx.out.array(keys.len());
    for key in keys {
        let out = &mut *cx.out;
        match cx.tx.with_value(key, |v| out.bulk(v)) {
            Ok(Some(())) => {}
            Ok(None) => out.null(),
            Err(e) => {
                // Keep the array well-formed: an error element.
                store_error(out, &e);
            }
        }
    }
}

pub fn mset(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    if argv.len().is_multiple_of(2) {
        return wrong_args(cx.out, "mset");
    }
    for pair in argv.get(1..).unwrap_or_default().chunks_exact(2) {
        if let [k, v] = pair {
            cx.tx.put(k, v.to_vec(), 0);
        }
    }
    cx.out.ok();
}

pub fn msetnx(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    if argv.len().is_multiple_of(2) {
        return wrong_args(cx.out, "msetnx");
    }
    let pairs = argv.get(1..).unwrap_or_default();
    for pair in pairs.chunks_exact(2) {
        let Some(exists) = check(cx.out, cx.tx.exists(pair.first().copied().unwrap_or_default()))
        else {
            return;
        };
        if exists {
            return cx.out.int(0);
        }
    }
    for pair in pairs.chunks_exact(2) {
        if let [k, v] = pair {
            cx.tx.put(k, v.to_vec(), 0);
        }
    }
    cx.out.int(1);
}

/// The current value of `key` as an integer (0 when absent) and its expiry.
fn current_int(cx: &mut Cx<'_>, key: &[u8]) -> Option<(i64, u64)> {
    let old = check(cx.out, cx.tx.get(key))?;
    match old {
        None => Some((0, 0)),
        Some((v, at)) => match parse_i64(&v) {
            Some(n) => Some((n, at)),
            None => {
                cx.out.err("value is not an integer or out of range");
                None
            }
        },
    }
}

fn incr_by(cx: &mut Cx<'_>, key: &[u8], delta: i64) {
    let Some((n, at)) = current_int(cx, key) else { return };
    let Some(new) = n.checked_add(delta) else {
        return cx.out.err("increment or decrement would overflow");
    };
    let mut b = [0u8; 20];
    cx.tx.put(key, itoa(new, &mut b).to_vec(), at);
    cx.out.int(new);
}

pub fn incr(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    incr_by(cx, argv.get(1).copied().unwrap_or_default(), 1);
}

pub fn decr(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    incr_by(cx, argv.get(1).copied().unwrap_or_default(), -1);
}

pub fn incrby(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let Some(d) = int_arg(cx.out, argv.get(2).copied().unwrap_or_default()) else { return };
    incr_by(cx, argv.get(1).copied().unwrap_or_default(), d);
}

pub fn decrby(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let Some(d) = int_arg(cx.out, argv.get(2).copied().unwrap_or_default()) else { return };
    let Some(d) = d.checked_neg() else {
        return cx.out.err("decrement would overflow");
    };
    incr_by(cx, argv.get(1).copied().unwrap_or_default(), d);
}

pub fn incrbyfloat(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let key = argv.get(1).copied().unwrap_or_default();
    let Some(by) = parse_f64(argv.get(2).copied().unwrap_or_default()) else {
        return cx.out.err("value is not a valid float");
    };
    let Some(old) = check(cx.out, cx.tx.get(key)) else { return };
    let (n, at) = match &old {
        None => (0.0, 0),
        Some((v, at)) => match parse_f64(v) {
            Some(n) => (n, *at),
            None => return cx.out.err("value is not a valid float"),
        },
    };
    let new = n + by;
    if !new.is_finite() {
        return cx.out.err("increment would produce NaN or Infinity");
    }
    let text = format_f64(new);
    cx.tx.put(key, text.clone().into_bytes(), at);
    cx.out.bulk(text.as_bytes());
}

pub fn append(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let (key, more) =
        (argv.get(1).copied().unwrap_or_default(), argv.get(2).copied().unwrap_or_default());
    let Some(old) = check(cx.out, cx.tx.get(key)) else { return };
    let (mut v, at) = old.unwrap_or_default();
    if (v.len() + more.len()) as u64 > MAX_STRING {
        return too_big(cx);
    }
    v.extend_from_slice(more);
    let len = v.len();
    cx.tx.put(key, v, at);
    cx.out.int(len as i64);
}

pub fn strlen(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let key = argv.get(1).copied().unwrap_or_default();
    if let Some(len) = check(cx.out, cx.tx.with_value(key, <[u8]>::len)) {
        cx.out.int(len.unwrap_or(0) as i64);
    }
}

pub fn getrange(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let key = argv.get(1).copied().unwrap_or_default();
    let Some(start) = int_arg(cx.out, argv.get(2).copied().unwrap_or_default()) else { return };
    let Some(end) = int_arg(cx.out, argv.get(3).copied().unwrap_or_default()) else { return };
    let out = &mut *cx.out;
    let r = cx.tx.with_value(key, |v| {
        let len = v.len() as i64;
        let fix = |i: i64| if i < 0 { (len + i).max(0) } else { i };
        let (s, e) = (fix(start), fix(end).min(len - 1));
        if (start < 0 && end < 0 && start > end) || len == 0 || s > e {
            out.bulk(b"");
        } else {
            out.bulk(v.get(s as usize..=e as usize).unwrap_or_default());
        }
    });
    match r {
        Ok(Some(())) => {}
        Ok(None) => out.bulk(b""),
        Err(e) => store_error(out, &e),
    }
}

pub fn setrange(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let key = argv.get(1).copied().unwrap_or_default();
    let Some(offset) = int_arg(cx.out, argv.get(2).copied().unwrap_or_default()) else { return };
    let part = argv.get(3).copied().unwrap_or_default();
    if offset < 0 {
        return cx.out.err("offset is out of range");
    }
    let Some(old) = check(cx.out, cx.tx.get(key)) else { return };
    if part.is_empty() {
        return cx.out.int(old.map_or(0, |(v, _)| v.len() as i64));
    }
    let end = offset as u64 + part.len() as u64;
    if end > MAX_STRING {
        return too_big(cx);
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
    cx.out.int(len as i64);
}
