//! Keyspace commands: DEL, EXISTS, RENAME, COPY, expiry, TYPE, KEYS, SCAN, RANDOMKEY,
//! DBSIZE, FLUSHDB/FLUSHALL, MEMORY USAGE.

use super::{check, int_arg, is, store_error, Cx};
use crate::glob;

fn key_arg<'b>(argv: &[&'b [u8]], i: usize) -> &'b [u8] {
    argv.get(i).copied().unwrap_or_default()
}

pub fn del(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let mut n = 0;
    for key in argv.get(1..).unwrap_or_default() {
        match cx.tx.delete(key) {
            Ok(existed) => n += i64::from(existed),
            Err(e) => return store_error(cx.out, &e),
        }
    }
    cx.out.int(n);
}

pub fn exists(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let mut n = 0;
    for key in argv.get(1..).unwrap_or_default() {
        match cx.tx.exists(key) {
            Ok(e) => n += i64::from(e),
            Err(e) => return store_error(cx.out, &e),
        }
    }
    cx.out.int(n);
}

fn rename_generic(cx: &mut Cx<'_>, argv: &[&[u8]], nx: bool) {
    let (src, dst) = (key_arg(argv, 1), key_arg(argv, 2));
    let Some(old) = check(cx.out, cx.tx.get(src)) else { return };
    let Some((v, at)) = old else { return cx.out.err("no such key") };
    if src == dst {
        return if nx { cx.out.int(0) } else { cx.out.ok() };
    }
    if nx {
        let Some(taken) = check(cx.out, cx.tx.exists(dst)) else { return };
        if taken {
            return cx.out.int(0);
        }
    }
    // The destination is written first: across a crash between two shards' writes the key
    // is at worst in both places, never in neither.
    cx.tx.put(dst, v, at);
    if check(cx.out, cx.tx.delete(src)).is_none() {
        return;
    }
    if nx {
        cx.out.int(1);
    } else {
        cx.out.ok();
    }
}

pub fn rename(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    rename_generic(cx, argv, false);
}

pub fn renamenx(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    rename_generic(cx, argv, true);
}

pub fn copy(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let (src, dst) = (key_arg(argv, 1), key_arg(argv, 2));
    let mut replace = false;
    let mut i = 3;
    while let Some(opt) = argv.get(i) {
        if is(opt, "replace") {
            replace = true;
        } else if is(opt, "db") && i + 1 < argv.len() {
            let Some(db) = int_arg(cx.out, key_arg(argv, i + 1)) else { return };
            if db != 0 {
                return cx.out.err("DB index is out of range");
            }
            i += 1;
        } else {
            return cx.out.err("syntax error");
        }
        i += 1;
    }
    if src == dst {
        return cx.out.err("source and destination objects are the same");
    }
    let Some(old) = check(cx.out, cx.tx.get(src)) else { return };
    let Some((v, at)) = old else { return cx.out.int(0) };
    let Some(taken) = check(cx.out, cx.tx.exists(dst)) else { return };
    if taken && !replace {
        return cx.out.int(0);
    }
    cx.tx.put(dst, v, at);
    cx.out.int(1);
}

/// EXPIRE's NX/XX/GT/LT, as a condition on the current expiry (0: none) and the new one.
fn expire_condition(cx: &mut Cx<'_>, opts: &[&[u8]]) -> Option<fn(u64, u64) -> bool> {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for o in opts {
        match () {
            _ if is(o, "nx") => nx = true,
            _ if is(o, "xx") => xx = true,
            _ if is(o, "gt") => gt = true,
            _ if is(o, "lt") => lt = true,
            _ => {
                cx.out.err(&format!("Unsupported option {}", String::from_utf8_lossy(o)));
                return None;
            }
        }
    }
    if nx && (xx || gt || lt) {
        cx.out.err("NX and XX, GT or LT options at the same time are not compatible");
        return None;
    }
    if gt && lt {
        cx.out.err("GT and LT options at the same time are not compatible");
        return None;
    }
    Some(match (nx, xx, gt, lt) {
        (true, ..) => |cur, _| cur == 0,
        (_, _, true, _) => |cur, new| cur != 0 && new > cur,
        (_, _, _, true) => |cur, new| cur == 0 || new < cur,
        (_, true, ..) => |cur, _| cur != 0,
        _ => |_, _| true,
    })
}

fn expire_generic(cx: &mut Cx<'_>, argv: &[&[u8]], unit: i64, absolute: bool, cmd: &str) {
    let key = key_arg(argv, 1);
    let Some(v) = int_arg(cx.out, key_arg(argv, 2)) else { return };
    let at = v.checked_mul(unit).and_then(|ms| {
        if absolute {
            Some(ms)
        } else {
            ms.checked_add(cx.tx.now as i64)
        }
    });
    let Some(at) = at else {
        return cx.out.err(&format!("invalid expire time in '{cmd}' command"));
    };
    let Some(cond) = expire_condition(cx, argv.get(3..).unwrap_or_default()) else { return };
    let Some(old) = check(cx.out, cx.tx.get(key)) else { return };
    let Some((value, cur)) = old else { return cx.out.int(0) };
    let new = at.max(0) as u64;
    if !cond(cur, new) {
        return cx.out.int(0);
    }
    if new <= cx.tx.now {
        // A time in the past deletes the key.
        if check(cx.out, cx.tx.delete(key)).is_none() {
            return;
        }
    } else {
        cx.tx.put(key, value, new);
    }
    cx.out.int(1);
}

pub fn expire(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    expire_generic(cx, argv, 1000, false, "expire");
}

pub fn pexpire(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    expire_generic(cx, argv, 1, false, "pexpire");
}

pub fn expireat(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    expire_generic(cx, argv, 1000, true, "expireat");
}

pub fn pexpireat(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    expire_generic(cx, argv, 1, true, "pexpireat");
}

/// The expiry of the key in `argv[1]`: -2 absent, -1 none, else `f(at)`.
fn ttl_generic(cx: &mut Cx<'_>, argv: &[&[u8]], f: impl FnOnce(u64, u64) -> i64) {
    let Some(at) = check(cx.out, cx.tx.expiry(key_arg(argv, 1))) else { return };
    cx.out.int(match at {
        None => -2,
        Some(0) => -1,
        Some(at) => f(at, cx.tx.now),
    });
}

pub fn ttl(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    ttl_generic(cx, argv, |at, now| (at.saturating_sub(now) as i64 + 500) / 1000);
}

pub fn pttl(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    ttl_generic(cx, argv, |at, now| at.saturating_sub(now) as i64);
}

pub fn expiretime(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    ttl_generic(cx, argv, |at, _| (at / 1000) as i64);
}

pub fn pexpiretime(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    ttl_generic(cx, argv, |at, _| at as i64);
}

pub fn persist(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let key = key_arg(argv, 1);
    let Some(old) = check(cx.out, cx.tx.get(key)) else { return };
    match old {
        Some((v, at)) if at != 0 => {
            cx.tx.put(key, v, 0);
            cx.out.int(1);
        }
        _ => cx.out.int(0),
    }
}

pub fn type_(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    if let Some(e) = check(cx.out, cx.tx.exists(key_arg(argv, 1))) {
        cx.out.simple(if e { "string" } else { "none" });
    }
}

pub fn touch(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    exists(cx, argv);
}

/// KEYS walks the keyspace as SCAN does, a thousand keys at a time: no lock is held while
/// the pattern is matched, and no part of the keydir for longer than a thousand entries
/// take to copy. Outside a transaction it runs on a blocking thread, so the other
/// connections of its network thread go on meanwhile.
pub fn keys(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let pattern = glob::Pattern::new(key_arg(argv, 1));
    if cx.in_exec {
        return matching_keys(cx.srv, cx.out, &pattern);
    }
    cx.sess.deferred = Some(Box::new(move |srv, out| matching_keys(srv, out, &pattern)));
}

/// The KEYS reply: every key `pattern` matches.
fn matching_keys(
    srv: &crate::shared::Shared,
    out: &mut crate::reply::Out,
    pattern: &glob::Pattern,
) {
    let mut found = Vec::new();
    let mut cursor = 0;
    loop {
        let Some((keys, next)) = check(out, srv.ks.db.scan_keys(cursor, 1000)) else { return };
        found.extend(keys.into_iter().filter(|k| pattern.matches(k)));
        if next == 0 {
            break;
        }
        cursor = next;
    }
    out.array(found.len());
    for k in &found {
        out.bulk(k);
    }
}

pub fn scan(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let cursor = std::str::from_utf8(key_arg(argv, 1)).ok().and_then(|s| s.parse::<u64>().ok());
    let Some(cursor) = cursor else { return cx.out.err("invalid cursor") };
    let (mut pattern, mut count, mut only_strings) = (None, 10usize, true);
    let mut i = 2;
    while let (Some(opt), Some(v)) = (argv.get(i), argv.get(i + 1)) {
        if is(opt, "match") {
            pattern = Some(*v);
        } else if is(opt, "count") {
            match crate::number::parse_i64(v) {
                Some(n) if n >= 1 => count = n as usize,
                Some(_) => return cx.out.err("syntax error"),
                None => return cx.out.err("value is not an integer or out of range"),
            }
        } else if is(opt, "type") {
            only_strings = is(v, "string");
        } else {
            return cx.out.err("syntax error");
        }
        i += 2;
    }
    if i != argv.len() {
        return cx.out.err("syntax error");
    }
    let Some((keys, next)) = check(cx.out, cx.srv.ks.db.scan_keys(cursor, count)) else {
        return;
    };
    let pattern = pattern.map(glob::Pattern::new);
    let keys: Vec<&Vec<u8>> = keys
        .iter()
        .filter(|k| only_strings && pattern.as_ref().is_none_or(|p| p.matches(k)))
        .collect();
    cx.out.array(2);
    cx.out.bulk(next.to_string().as_bytes());
    cx.out.array(keys.len());
    for k in keys {
        cx.out.bulk(k);
    }
}

/// RANDOMKEY: the walk from a random place (a shard and a part of its keydir) to the first
/// keys it finds, wrapping around once; a random one of those. A keydir left sparse by
/// deletes costs more steps, never a wrong "empty".
pub fn randomkey(cx: &mut Cx<'_>, _: &[&[u8]]) {
    let db = &cx.srv.ks.db;
    let r = random();
    let shard = r % db.shard_count() as u64;
    let mut cursor = (shard << 38) | (((r >> 16) % 64) << 32);
    let mut wrapped = false;
    loop {
        let Some((keys, next)) = check(cx.out, db.scan_keys(cursor, 16)) else { return };
        if let Some(k) = keys.get((r >> 32) as usize % keys.len().max(1)) {
            return cx.out.bulk(k);
        }
        match next {
            0 if wrapped => return cx.out.null(),
            0 => (cursor, wrapped) = (0, true),
            n => cursor = n,
        }
    }
}

/// A pseudo-random number that differs on every call (calls within one millisecond too).
fn random() -> u64 {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // SplitMix64 of the clock and the call count.
    let mut z = crate::keyspace::now_ms() ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub fn dbsize(cx: &mut Cx<'_>, _: &[&[u8]]) {
    cx.out.int(cx.srv.ks.db.len() as i64);
}

pub fn flushall(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    if let Some(opt) = argv.get(1) {
        if !is(opt, "async") && !is(opt, "sync") {
            return cx.out.err("syntax error");
        }
    }
    if cx.in_exec {
        let Some(keys) = check(cx.out, cx.srv.ks.db.keys_where(|_| true)) else { return };
        for k in keys {
            if check(cx.out, cx.tx.delete(&k)).is_none() {
                return;
            }
        }
        return cx.out.ok();
    }
    match cx.srv.ks.flush() {
        Ok(n) => {
            cx.sess.wrote |= n > 0;
            cx.out.ok();
        }
        Err(e) => store_error(cx.out, &e),
    }
}

pub fn memory(cx: &mut Cx<'_>, argv: &[&[u8]]) {
    let sub = key_arg(argv, 1);
    if is(sub, "usage") && (argv.len() == 3 || argv.len() == 5) {
        let key = key_arg(argv, 2);
        // The record on disk is not memory; the keydir entry (about 48 bytes beside the
        // key) and the value as a read copies it are.
        return match check(cx.out, cx.tx.with_value(key, <[u8]>::len)) {
            Some(Some(len)) => cx.out.int((48 + key.len() + len) as i64),
            Some(None) => cx.out.null(),
            None => {}
        };
    }
    if is(sub, "usage") {
        return super::wrong_args(cx.out, "memory|usage");
    }
    cx.out.err(&format!("unknown subcommand '{}'. Try MEMORY HELP.", String::from_utf8_lossy(sub)));
}
