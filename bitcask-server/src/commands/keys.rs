//! Keyspace commands: DEL, EXISTS, RENAME, COPY, expiry, TYPE, KEYS, SCAN, RANDOMKEY,
//! DBSIZE, FLUSHDB/FLUSHALL.

use super::args::{is, shown, Args, Failure, Res};
use super::databases::db_index;
use super::spec::{Cx, Spec, F_ALLKEYS, F_FAST, F_READONLY, F_WRITE};
use crate::glob;
use crate::notify::GENERIC;

/// The keyspace commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "del", arity: -2, flags: F_WRITE, keys: (1, -1, 1), group: "generic", summary: "Deletes one or more keys.", run: del, ..Spec::NONE },
    Spec { name: "unlink", arity: -2, flags: F_WRITE | F_FAST, keys: (1, -1, 1), group: "generic", summary: "Deletes one or more keys.", run: del, ..Spec::NONE },
    Spec { name: "exists", arity: -2, flags: F_READONLY | F_FAST, keys: (1, -1, 1), group: "generic", summary: "Determines whether one or more keys exist.", run: exists, ..Spec::NONE },
    Spec { name: "touch", arity: -2, flags: F_READONLY | F_FAST, keys: (1, -1, 1), group: "generic", summary: "Returns the number of existing keys out of those specified.", run: exists, ..Spec::NONE },
    Spec { name: "rename", arity: 3, flags: F_WRITE, keys: (1, 2, 1), group: "generic", summary: "Renames a key and overwrites the destination.", run: rename, ..Spec::NONE },
    Spec { name: "renamenx", arity: 3, flags: F_WRITE | F_FAST, keys: (1, 2, 1), group: "generic", summary: "Renames a key only when the target key name doesn't exist.", run: renamenx, ..Spec::NONE },
    Spec { name: "copy", arity: -3, flags: F_WRITE, keys: (1, 2, 1), group: "generic", summary: "Copies the value of a key to a new key.", run: copy, ..Spec::NONE },
    Spec { name: "expire", arity: -3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "generic", summary: "Sets the expiration time of a key in seconds.", run: expire, ..Spec::NONE },
    Spec { name: "pexpire", arity: -3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "generic", summary: "Sets the expiration time of a key in milliseconds.", run: pexpire, ..Spec::NONE },
    Spec { name: "expireat", arity: -3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "generic", summary: "Sets the expiration time of a key to a Unix timestamp.", run: expireat, ..Spec::NONE },
    Spec { name: "pexpireat", arity: -3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "generic", summary: "Sets the expiration time of a key to a Unix milliseconds timestamp.", run: pexpireat, ..Spec::NONE },
    Spec { name: "expiretime", arity: 2, flags: F_READONLY | F_FAST, keys: (1, 1, 1), group: "generic", summary: "Returns the expiration time of a key as a Unix timestamp.", run: expiretime, ..Spec::NONE },
    Spec { name: "pexpiretime", arity: 2, flags: F_READONLY | F_FAST, keys: (1, 1, 1), group: "generic", summary: "Returns the expiration time of a key as a Unix milliseconds timestamp.", run: pexpiretime, ..Spec::NONE },
    Spec { name: "ttl", arity: 2, flags: F_READONLY | F_FAST, keys: (1, 1, 1), group: "generic", summary: "Returns the expiration time in seconds of a key.", run: ttl, ..Spec::NONE },
    Spec { name: "pttl", arity: 2, flags: F_READONLY | F_FAST, keys: (1, 1, 1), group: "generic", summary: "Returns the expiration time in milliseconds of a key.", run: pttl, ..Spec::NONE },
    Spec { name: "persist", arity: 2, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "generic", summary: "Removes the expiration time of a key.", run: persist, ..Spec::NONE },
    Spec { name: "type", arity: 2, flags: F_READONLY | F_FAST, keys: (1, 1, 1), group: "generic", summary: "Determines the type of value stored at a key.", run: type_, ..Spec::NONE },
    Spec { name: "keys", arity: 2, flags: F_READONLY, group: "generic", summary: "Returns all key names that match a pattern.", run: keys, ..Spec::NONE },
    Spec { name: "scan", arity: -2, flags: F_READONLY, group: "generic", summary: "Iterates over the key names in the database.", run: scan, ..Spec::NONE },
    Spec { name: "randomkey", arity: 1, flags: F_READONLY, group: "generic", summary: "Returns a random key name from the database.", run: randomkey, ..Spec::NONE },
    Spec { name: "dbsize", arity: 1, flags: F_READONLY | F_FAST, group: "server", summary: "Returns the number of keys in the database.", run: dbsize, ..Spec::NONE },
    Spec { name: "flushdb", arity: -1, flags: F_WRITE | F_ALLKEYS, group: "server", summary: "Removes all keys from the current database.", run: flushdb, ..Spec::NONE },
    Spec { name: "flushall", arity: -1, flags: F_WRITE | F_ALLKEYS, group: "server", summary: "Removes all keys from all databases.", run: flushall, ..Spec::NONE },
];

fn del(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let mut n = 0;
    for key in args.rest() {
        if cx.tx.delete(key)? {
            cx.tx.notify(GENERIC, "del", key);
            n += 1;
        }
    }
    cx.out.int(n);
    Ok(())
}

fn exists(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let mut n = 0;
    for key in args.rest() {
        n += i64::from(cx.tx.exists(key)?);
    }
    cx.out.int(n);
    Ok(())
}

fn rename_generic(cx: &mut Cx<'_>, args: &mut Args<'_>, nx: bool) -> Res {
    let (src, dst) = (args.key(), args.key());
    let Some((v, at)) = cx.tx.value(src)? else { return Err(Failure::err("no such key")) };
    let done = |cx: &mut Cx<'_>, moved: bool| {
        if nx {
            cx.out.int(i64::from(moved));
        } else {
            cx.out.ok();
        }
        Ok(())
    };
    if src == dst || (nx && cx.tx.exists(dst)?) {
        return done(cx, false);
    }
    // The destination is written first: across a crash between two shards' writes the key
    // is at worst in both places, never in neither.
    cx.tx.put_value(dst, v, at)?;
    cx.tx.delete(src)?;
    cx.tx.notify(GENERIC, "rename_from", src);
    cx.tx.notify(GENERIC, "rename_to", dst);
    done(cx, true)
}

fn rename(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    rename_generic(cx, args, false)
}

fn renamenx(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    rename_generic(cx, args, true)
}

fn copy(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (src, dst) = (args.key(), args.key());
    let (mut replace, mut to) = (false, cx.tx.db);
    while args.left() > 0 {
        if args.eat("replace") {
            replace = true;
        } else if args.left() > 1 && args.eat("db") {
            let n = args.int()?;
            if cx.srv.cluster.is_some() && n != 0 {
                return Err(Failure::err(
                    "Copying to another database is not allowed in cluster mode",
                ));
            }
            to = db_index(cx, n)?;
        } else {
            return Err(Failure::syntax());
        }
    }
    if src == dst && to == cx.tx.db {
        return Err(Failure::err("source and destination objects are the same"));
    }
    let found = cx.tx.value(src)?;
    // Only the source's lookup is a keyspace hit or miss (as Redis).
    cx.tx.count_reads.set(false);
    let copied = match found {
        Some((v, at)) if replace || !cx.tx.in_db(to, |tx| tx.exists(dst))? => {
            cx.tx.in_db(to, |tx| {
                // `new` (when dst is new) goes before `copy_to`, as Redis sends them.
                tx.put_value(dst, v, at)?;
                tx.notify(GENERIC, "copy_to", dst);
                Ok::<_, bitcask_core::Error>(())
            })?;
            1
        }
        _ => 0,
    };
    cx.out.int(copied);
    Ok(())
}

/// EXPIRE's NX, XX, GT and LT.
#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl ExpireFlags {
    /// Reads the options, with Redis's errors for unknown and incompatible ones.
    fn parse(opts: &[&[u8]]) -> Result<ExpireFlags, Failure> {
        let mut f = ExpireFlags::default();
        for o in opts {
            match () {
                _ if is(o, "nx") => f.nx = true,
                _ if is(o, "xx") => f.xx = true,
                _ if is(o, "gt") => f.gt = true,
                _ if is(o, "lt") => f.lt = true,
                _ => return Err(Failure::err(format!("Unsupported option {}", shown(o)))),
            }
        }
        if f.nx && (f.xx || f.gt || f.lt) {
            return Err(Failure::err(
                "NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if f.gt && f.lt {
            return Err(Failure::err("GT and LT options at the same time are not compatible"));
        }
        Ok(f)
    }

    /// Whether a key whose expiry is `cur` (0: none, an endless TTL for GT and LT) takes
    /// the expiry `new`.
    fn allow(&self, cur: u64, new: u64) -> bool {
        let refused = [
            self.nx && cur != 0,
            self.xx && cur == 0,
            self.gt && (cur == 0 || new <= cur),
            self.lt && cur != 0 && new >= cur,
        ];
        !refused.contains(&true)
    }
}

fn expire_generic(
    cx: &mut Cx<'_>,
    args: &mut Args<'_>,
    unit: i64,
    absolute: bool,
    cmd: &str,
) -> Res {
    let (key, when) = (args.key(), args.key());
    // The options are checked before the time, as Redis does.
    let flags = ExpireFlags::parse(args.rest())?;
    let v = crate::number::parse_i64(when).ok_or_else(Failure::not_int)?;
    let at = v.checked_mul(unit).and_then(|ms| {
        if absolute {
            Some(ms)
        } else {
            ms.checked_add(cx.tx.now as i64)
        }
    });
    let at = at.ok_or_else(|| Failure::err(format!("invalid expire time in '{cmd}' command")))?;
    let new = at.max(0) as u64;
    let changed = match cx.tx.expiry(key)? {
        Some(cur) if !flags.allow(cur, new) => false,
        None => false,
        // A time in the past deletes the key.
        Some(_) if new <= cx.tx.now => {
            cx.tx.notify(GENERIC, "del", key);
            cx.tx.delete(key)?
        }
        Some(_) => {
            cx.tx.set_expiry(key, new)?;
            cx.tx.notify(GENERIC, "expire", key);
            true
        }
    };
    cx.out.int(i64::from(changed));
    Ok(())
}

fn expire(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    expire_generic(cx, args, 1000, false, "expire")
}

fn pexpire(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    expire_generic(cx, args, 1, false, "pexpire")
}

fn expireat(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    expire_generic(cx, args, 1000, true, "expireat")
}

fn pexpireat(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    expire_generic(cx, args, 1, true, "pexpireat")
}

/// The expiry of the key: -2 absent, -1 none, else `f(at, now)`.
fn ttl_generic(cx: &mut Cx<'_>, args: &mut Args<'_>, f: impl FnOnce(u64, u64) -> i64) -> Res {
    let at = cx.tx.expiry(args.key())?;
    cx.out.int(match at {
        None => -2,
        Some(0) => -1,
        Some(at) => f(at, cx.tx.now),
    });
    Ok(())
}

fn ttl(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    ttl_generic(cx, args, |at, now| (at.saturating_sub(now) as i64 + 500) / 1000)
}

fn pttl(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    ttl_generic(cx, args, |at, now| at.saturating_sub(now) as i64)
}

fn expiretime(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    ttl_generic(cx, args, |at, _| (at / 1000) as i64)
}

fn pexpiretime(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    ttl_generic(cx, args, |at, _| at as i64)
}

fn persist(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let changed = match cx.tx.expiry(key)? {
        Some(at) if at != 0 => {
            cx.tx.set_expiry(key, 0)?;
            cx.tx.notify(GENERIC, "persist", key);
            true
        }
        _ => false,
    };
    cx.out.int(i64::from(changed));
    Ok(())
}

fn type_(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let kind = match cx.tx.kind_of(key) {
        Some(k) => k.name(),
        None if cx.tx.exists(key)? => "string",
        None => "none",
    };
    cx.out.simple(kind);
    Ok(())
}

/// KEYS walks the keyspace as SCAN does, a thousand keys at a time: no lock is held while
/// the pattern is matched, and no part of the keydir for longer than a thousand entries
/// take to copy. Outside a transaction it runs on a blocking thread, so the other
/// connections of its network thread go on meanwhile.
fn keys(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let pattern = glob::Pattern::new(args.key());
    if cx.in_exec {
        return matching_keys(cx.srv, cx.out, &pattern, cx.tx.db);
    }
    let db = cx.tx.db;
    cx.sess.deferred = Some(Box::new(move |srv, out| {
        if let Err(f) = matching_keys(srv, out, &pattern, db) {
            f.reply(out);
        }
        false
    }));
    Ok(())
}

/// The KEYS reply: every key `pattern` matches.
fn matching_keys(
    srv: &crate::shared::Shared,
    out: &mut crate::reply::Out,
    pattern: &glob::Pattern,
    db: u8,
) -> Res {
    let mut found = Vec::new();
    let mut cursor = 0;
    loop {
        let (keys, next) = srv.ks.scan_keys(db, cursor, 1000)?;
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
    Ok(())
}

/// SCAN's options: MATCH, COUNT and TYPE (only `string` finds keys).
/// SCAN's options: MATCH's pattern, COUNT, TYPE's name.
type ScanOpts<'a> = (Option<&'a [u8]>, usize, Option<&'a [u8]>);

fn scan_opts<'a>(args: &mut Args<'a>) -> Result<ScanOpts<'a>, Failure> {
    let (mut pattern, mut count, mut only) = (None, 10usize, None);
    while args.left() > 0 {
        if args.left() < 2 {
            return Err(Failure::syntax());
        } else if args.eat("match") {
            pattern = Some(args.key());
        } else if args.eat("count") {
            count = match args.int()? {
                n if n >= 1 => n as usize,
                _ => return Err(Failure::syntax()),
            };
        } else if args.eat("type") {
            only = Some(args.key());
        } else {
            return Err(Failure::syntax());
        }
    }
    Ok((pattern, count, only))
}

fn scan(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let cursor = std::str::from_utf8(args.key()).ok().and_then(|s| s.parse::<u64>().ok());
    let cursor = cursor.ok_or(Failure::err("invalid cursor"))?;
    let (pattern, count, only) = scan_opts(args)?;
    let (keys, next) = cx.srv.ks.scan_keys(cx.tx.db, cursor, count)?;
    let pattern = pattern.map(glob::Pattern::new);
    // TYPE keeps the keys of that type (the name as TYPE gives it, any case).
    let of_type = |k: &[u8]| {
        only.is_none_or(|t| is(t, cx.tx.kind_of(k).map_or("string", |kind| kind.name())))
    };
    let keys: Vec<&Vec<u8>> = keys
        .iter()
        .filter(|k| pattern.as_ref().is_none_or(|p| p.matches(k)) && of_type(k))
        .collect();
    cx.out.array(2);
    cx.out.bulk(next.to_string().as_bytes());
    cx.out.array(keys.len());
    for k in keys {
        cx.out.bulk(k);
    }
    Ok(())
}

/// RANDOMKEY: the walk from a random place (a shard and a part of its keydir) to the first
/// keys it finds, wrapping around once; a random one of those. A keydir left sparse by
/// deletes costs more steps, never a wrong "empty".
fn randomkey(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    let ks = &cx.srv.ks;
    let r = random();
    let shard = r % ks.shard_count() as u64;
    let mut cursor = (shard << 38) | (((r >> 16) % 64) << 32);
    let mut wrapped = false;
    loop {
        let (keys, next) = ks.scan_keys(cx.tx.db, cursor, 16)?;
        if let Some(k) = keys.get((r >> 32) as usize % keys.len().max(1)) {
            cx.out.bulk(k);
            return Ok(());
        }
        match next {
            0 if wrapped => {
                cx.out.null();
                return Ok(());
            }
            0 => (cursor, wrapped) = (0, true),
            n => cursor = n,
        }
    }
}

/// A pseudo-random number that differs on every call (calls within one millisecond too).
pub(super) fn random() -> u64 {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // SplitMix64 of the clock and the call count.
    let mut z = crate::keyspace::now_ms() ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn dbsize(cx: &mut Cx<'_>, _: &mut Args<'_>) -> Res {
    cx.out.int(cx.srv.ks.dbsize(cx.tx.db)? as i64);
    Ok(())
}

fn flush(cx: &mut Cx<'_>, args: &mut Args<'_>, db: Option<u8>) -> Res {
    let _ = args.eat("async") || args.eat("sync");
    args.done()?;
    cx.tx.delete_all(db)?;
    cx.out.ok();
    Ok(())
}

fn flushall(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    flush(cx, args, None)
}

fn flushdb(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let db = cx.tx.db;
    flush(cx, args, Some(db))
}
