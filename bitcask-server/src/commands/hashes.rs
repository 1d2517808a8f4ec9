//! Hash commands: fields with values, each field one record of the store, the fields in
//! RAM.

use bitcask_collections::Kind;

use super::args::{Args, Failure, Res};
use super::members::{distinct, pick, rand_count, read, removed, write, ScanOpts};
use super::spec::{Cx, Spec, F_FAST, F_LOCKREAD, F_READONLY, F_WRITE};
use crate::notify::HASH;
use crate::number::{format_f64, parse_f64, parse_i64};

const RD: u32 = F_READONLY | F_LOCKREAD;

/// A field with its value.
type Pair = (Vec<u8>, Vec<u8>);

/// The hash commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "hset", arity: -4, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "hash", summary: "Creates or modifies the value of a field in a hash.", run: hset, ..Spec::NONE },
    Spec { name: "hmset", arity: -4, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "hash", summary: "Sets the values of multiple fields.", run: hmset, ..Spec::NONE },
    Spec { name: "hsetnx", arity: 4, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "hash", summary: "Sets the value of a field in a hash only when the field doesn't exist.", run: hsetnx, ..Spec::NONE },
    Spec { name: "hget", arity: 3, flags: RD | F_FAST, keys: (1, 1, 1), group: "hash", summary: "Returns the value of a field in a hash.", run: hget, ..Spec::NONE },
    Spec { name: "hmget", arity: -3, flags: RD | F_FAST, keys: (1, 1, 1), group: "hash", summary: "Returns the values of all fields in a hash.", run: hmget, ..Spec::NONE },
    Spec { name: "hgetall", arity: 2, flags: RD, keys: (1, 1, 1), group: "hash", summary: "Returns all fields and values in a hash.", run: hgetall, ..Spec::NONE },
    Spec { name: "hkeys", arity: 2, flags: RD, keys: (1, 1, 1), group: "hash", summary: "Returns all fields in a hash.", run: hkeys, ..Spec::NONE },
    Spec { name: "hvals", arity: 2, flags: RD, keys: (1, 1, 1), group: "hash", summary: "Returns all values in a hash.", run: hvals, ..Spec::NONE },
    Spec { name: "hlen", arity: 2, flags: RD | F_FAST, keys: (1, 1, 1), group: "hash", summary: "Returns the number of fields in a hash.", run: hlen, ..Spec::NONE },
    Spec { name: "hexists", arity: 3, flags: RD | F_FAST, keys: (1, 1, 1), group: "hash", summary: "Determines whether a field exists in a hash.", run: hexists, ..Spec::NONE },
    Spec { name: "hstrlen", arity: 3, flags: RD | F_FAST, keys: (1, 1, 1), group: "hash", summary: "Returns the length of the value of a field.", run: hstrlen, ..Spec::NONE },
    Spec { name: "hdel", arity: -3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "hash", summary: "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", run: hdel, ..Spec::NONE },
    Spec { name: "hincrby", arity: 4, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "hash", summary: "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", run: hincrby, ..Spec::NONE },
    Spec { name: "hincrbyfloat", arity: 4, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "hash", summary: "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", run: hincrbyfloat, ..Spec::NONE },
    Spec { name: "hrandfield", arity: -2, flags: RD, keys: (1, 1, 1), group: "hash", summary: "Returns one or more random fields from a hash.", run: hrandfield, ..Spec::NONE },
    Spec { name: "hscan", arity: -3, flags: RD, keys: (1, 1, 1), group: "hash", summary: "Iterates over fields and values of a hash.", run: hscan, ..Spec::NONE },
];

/// Sets the field/value pairs after the key; how many fields are new.
fn set_pairs(cx: &mut Cx<'_>, args: &mut Args<'_>, cmd: &str) -> Result<i64, Failure> {
    let key = args.key();
    let pairs = args.rest();
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(Failure::arity(cmd));
    }
    let new = write(cx, key, Kind::Hash, true, |h| {
        pairs.chunks_exact(2).filter(|p| h.insert(p[0], p[1].to_vec())).count()
    })?;
    cx.tx.notify(HASH, "hset", key);
    Ok(new.unwrap_or(0) as i64)
}

fn hset(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let n = set_pairs(cx, args, "hset")?;
    cx.out.int(n);
    Ok(())
}

fn hmset(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    set_pairs(cx, args, "hmset")?;
    cx.out.ok();
    Ok(())
}

fn hsetnx(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (key, field, value) = (args.key(), args.key(), args.key());
    let set = write(cx, key, Kind::Hash, true, |h| {
        !h.contains(field) && h.insert(field, value.to_vec())
    })?;
    let set = set.unwrap_or(false);
    if set {
        cx.tx.notify(HASH, "hset", key);
    }
    cx.out.int(i64::from(set));
    Ok(())
}

fn hget(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (key, field) = (args.key(), args.key());
    let out = &mut *cx.out;
    let found = cx.tx.read_collection(key, Kind::Hash, |h| h.with_value(field, |v| out.bulk(v)))?;
    if found.transpose()?.flatten().is_none() {
        cx.out.null();
    }
    Ok(())
}

fn hmget(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let fields = args.rest();
    let values = read(cx, key, Kind::Hash, |h| {
        fields.iter().map(|f| h.value(f)).collect::<Result<Vec<_>, _>>()
    })?;
    let values = values.transpose()?.unwrap_or_else(|| vec![None; fields.len()]);
    cx.out.array(values.len());
    for v in values {
        cx.out.opt_bulk(v.as_deref());
    }
    Ok(())
}

/// Every (field, value) of hash `key` (empty when absent).
fn pairs_of(cx: &Cx<'_>, key: &[u8]) -> Result<Vec<Pair>, Failure> {
    let all = read(cx, key, Kind::Hash, |h| {
        let fields: Vec<&[u8]> = h.members().iter().map(|f| &**f).collect();
        let values = h.values_of(&fields)?;
        Ok::<_, bitcask_core::Error>(fields.iter().map(|f| f.to_vec()).zip(values).collect())
    })?;
    Ok(all.transpose()?.unwrap_or_default())
}

fn hgetall(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let all = pairs_of(cx, args.key())?;
    cx.out.map(all.len());
    for (f, v) in all {
        cx.out.bulk(&f);
        cx.out.bulk(&v);
    }
    Ok(())
}

fn hkeys(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let fields = read(cx, args.key(), Kind::Hash, |h| {
        h.members().iter().map(|f| f.to_vec()).collect::<Vec<_>>()
    })?;
    let fields = fields.unwrap_or_default();
    cx.out.array(fields.len());
    for f in fields {
        cx.out.bulk(&f);
    }
    Ok(())
}

fn hvals(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let all = pairs_of(cx, args.key())?;
    cx.out.array(all.len());
    for (_, v) in all {
        cx.out.bulk(&v);
    }
    Ok(())
}

fn hlen(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let n = read(cx, args.key(), Kind::Hash, |h| h.len())?;
    cx.out.int(n.unwrap_or(0) as i64);
    Ok(())
}

fn hexists(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (key, field) = (args.key(), args.key());
    let found = read(cx, key, Kind::Hash, |h| h.contains(field))?;
    cx.out.int(i64::from(found.unwrap_or(false)));
    Ok(())
}

fn hstrlen(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (key, field) = (args.key(), args.key());
    let len = read(cx, key, Kind::Hash, |h| h.with_value(field, <[u8]>::len))?;
    cx.out.int(len.transpose()?.flatten().unwrap_or(0) as i64);
    Ok(())
}

fn hdel(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let fields = args.rest();
    let n = write(cx, key, Kind::Hash, false, |h| fields.iter().filter(|f| h.remove(f)).count())?;
    let n = n.unwrap_or(0);
    if n > 0 {
        removed(cx, HASH, "hdel", key);
    }
    cx.out.int(n as i64);
    Ok(())
}

/// Replaces the value of `field` with `f(old)` (`None`: absent); what `f` returned.
fn update<T>(
    cx: &mut Cx<'_>,
    key: &[u8],
    field: &[u8],
    f: impl FnOnce(Option<&[u8]>) -> Result<(Vec<u8>, T), Failure>,
) -> Result<T, Failure> {
    let done = write(cx, key, Kind::Hash, true, |h| {
        let old = h.value(field)?;
        let (new, t) = match f(old.as_deref()) {
            Ok(r) => r,
            // Nothing changed: an empty hash made for this goes again.
            Err(e) => return Ok(Err(e)),
        };
        h.insert(field, new);
        Ok::<_, bitcask_core::Error>(Ok(t))
    })?;
    match done {
        Some(r) => r?,
        None => Err(Failure::err("no such key")),
    }
}

fn hincrby(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (key, field) = (args.key(), args.key());
    let by = args.int()?;
    let n = update(cx, key, field, |old| {
        let cur = match old {
            None => 0,
            Some(v) => parse_i64(v).ok_or(Failure::err("hash value is not an integer"))?,
        };
        let n = cur.checked_add(by).ok_or(Failure::err("increment or decrement would overflow"))?;
        Ok((n.to_string().into_bytes(), n))
    })?;
    cx.tx.notify(HASH, "hincrby", key);
    cx.out.int(n);
    Ok(())
}

fn hincrbyfloat(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (key, field) = (args.key(), args.key());
    let by = args.float()?;
    if !by.is_finite() {
        return Err(Failure::err("value is NaN or Infinity"));
    }
    let text = update(cx, key, field, |old| {
        let cur = match old {
            None => 0.0,
            Some(v) => parse_f64(v).ok_or(Failure::err("hash value is not a float"))?,
        };
        let n = cur + by;
        if !n.is_finite() {
            return Err(Failure::err("increment would produce NaN or Infinity"));
        }
        let text = format_f64(n);
        Ok((text.clone().into_bytes(), text))
    })?;
    cx.tx.notify(HASH, "hincrbyfloat", key);
    cx.out.bulk(text.as_bytes());
    Ok(())
}

fn hrandfield(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let Some(count) = args.next() else {
        let f = read(cx, key, Kind::Hash, |h| {
            h.members().get_index(pick(h.len())).map(|f| f.to_vec())
        })?;
        cx.out.opt_bulk(f.flatten().as_deref());
        return Ok(());
    };
    let count = parse_i64(count).ok_or_else(Failure::not_int)?;
    let with_values = match args.next() {
        None => false,
        Some(w) if super::args::is(w, "withvalues") && args.left() == 0 => true,
        Some(_) => return Err(Failure::syntax()),
    };
    let (n, repeat) = rand_count(count, with_values)?;
    let picked = read(cx, key, Kind::Hash, |h| {
        let positions: Vec<usize> = match (repeat, n >= h.len()) {
            (true, _) => (0..n).map(|_| pick(h.len())).collect(),
            (false, true) => (0..h.len()).collect(),
            (false, false) => distinct(h.len(), n),
        };
        let mut out = Vec::with_capacity(positions.len());
        for p in positions {
            if let Some(f) = h.members().get_index(p) {
                let v = if with_values { h.value(f)?.unwrap_or_default() } else { Vec::new() };
                out.push((f.to_vec(), v));
            }
        }
        Ok::<_, bitcask_core::Error>(out)
    })?;
    let picked = picked.transpose()?.unwrap_or_default();
    reply_random(cx, &picked, with_values);
    Ok(())
}

fn reply_random(cx: &mut Cx<'_>, picked: &[Pair], with_values: bool) {
    let resp3 = cx.out.resp3;
    match (with_values, resp3) {
        (false, _) => cx.out.array(picked.len()),
        (true, false) => cx.out.array(2 * picked.len()),
        (true, true) => cx.out.array(picked.len()),
    }
    for (f, v) in picked {
        if with_values && resp3 {
            cx.out.array(2);
        }
        cx.out.bulk(f);
        if with_values {
            cx.out.bulk(v);
        }
    }
}

fn hscan(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let (cursor, opts) = ScanOpts::parse(args)?;
    let step = read(cx, key, Kind::Hash, |h| {
        let (fields, next) = opts.step(h.members(), cursor);
        let mut out = Vec::with_capacity(fields.len());
        for f in fields {
            out.push((f.to_vec(), h.value(f)?.unwrap_or_default()));
        }
        Ok::<_, bitcask_core::Error>((out, next))
    })?;
    let (pairs, next) = step.transpose()?.unwrap_or_default();
    cx.out.array(2);
    cx.out.bulk(next.to_string().as_bytes());
    cx.out.array(2 * pairs.len());
    for (f, v) in pairs {
        cx.out.bulk(&f);
        cx.out.bulk(&v);
    }
    Ok(())
}
