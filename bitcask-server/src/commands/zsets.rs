//! Sorted-set commands on single members and pops: each member one record whose key carries
//! its score; the members, their scores and their order in RAM. Ranges are in zranges.rs,
//! unions, intersections and differences in zsetops.rs.

use bitcask_collections::Kind;

use super::args::{is, Args, Failure, Res};
use super::members::{distinct, mpop_args, pick, rand_count, read, removed, write, ScanOpts};
use super::spec::{Cx, Spec, F_FAST, F_LOCKREAD, F_READONLY, F_WRITE, NUMKEYS};
use crate::notify::ZSET;
use crate::number::parse_i64;
use crate::tx::Editor;

const RD: u32 = F_READONLY | F_LOCKREAD;

/// The commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "zadd", arity: -4, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "sorted-set", summary: "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", run: zadd, ..Spec::NONE },
    Spec { name: "zincrby", arity: 4, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "sorted-set", summary: "Increments the score of a member in a sorted set.", run: zincrby, ..Spec::NONE },
    Spec { name: "zrem", arity: -3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "sorted-set", summary: "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", run: zrem, ..Spec::NONE },
    Spec { name: "zcard", arity: 2, flags: RD | F_FAST, keys: (1, 1, 1), group: "sorted-set", summary: "Returns the number of members in a sorted set.", run: zcard, ..Spec::NONE },
    Spec { name: "zscore", arity: 3, flags: RD | F_FAST, keys: (1, 1, 1), group: "sorted-set", summary: "Returns the score of a member in a sorted set.", run: zscore, ..Spec::NONE },
    Spec { name: "zmscore", arity: -3, flags: RD | F_FAST, keys: (1, 1, 1), group: "sorted-set", summary: "Returns the score of one or more members in a sorted set.", run: zmscore, ..Spec::NONE },
    Spec { name: "zrank", arity: 3, flags: RD | F_FAST, keys: (1, 1, 1), group: "sorted-set", summary: "Returns the index of a member in a sorted set ordered by ascending scores.", run: zrank, ..Spec::NONE },
    Spec { name: "zrevrank", arity: 3, flags: RD | F_FAST, keys: (1, 1, 1), group: "sorted-set", summary: "Returns the index of a member in a sorted set ordered by descending scores.", run: zrevrank, ..Spec::NONE },
    Spec { name: "zpopmin", arity: -2, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "sorted-set", summary: "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", run: zpopmin, ..Spec::NONE },
    Spec { name: "zpopmax", arity: -2, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "sorted-set", summary: "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", run: zpopmax, ..Spec::NONE },
    Spec { name: "zmpop", arity: -4, flags: F_WRITE, keys: (2, NUMKEYS, 1), group: "sorted-set", summary: "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", run: zmpop, ..Spec::NONE },
    Spec { name: "zrandmember", arity: -2, flags: RD, keys: (1, 1, 1), group: "sorted-set", summary: "Returns one or more random members from a sorted set.", run: zrandmember, ..Spec::NONE },
    Spec { name: "zscan", arity: -3, flags: RD, keys: (1, 1, 1), group: "sorted-set", summary: "Iterates over members and scores of a sorted set.", run: zscan, ..Spec::NONE },
];

/// A member with its score.
pub type Scored = (Vec<u8>, f64);

/// A score argument (`ERR value is not a valid float`): a float as Redis's `strtod` reads
/// one, refusing NaN and a finite number too big for a double.
pub fn score_arg(arg: &[u8]) -> Result<f64, Failure> {
    parse_score(arg).ok_or_else(|| Failure::err("value is not a valid float"))
}

/// A float as Redis reads a score: not NaN, no spaces, and not out of a double's range
/// (`1e400` is refused, `inf` is not).
pub fn parse_score(arg: &[u8]) -> Option<f64> {
    let v = crate::number::parse_f64(arg)?;
    let named = arg.iter().any(|b| b.eq_ignore_ascii_case(&b'i'));
    (v.is_finite() || named).then_some(v)
}

/// The replies of members with their scores: `[m, s, ...]` flat, or `[[m, s], ...]` when
/// `nested` (RESP3's form), or the members alone.
pub fn reply_scored(cx: &mut Cx<'_>, all: &[Scored], withscores: bool, nested: bool) {
    let nested = withscores && nested;
    cx.out.array(if withscores && !nested { all.len() * 2 } else { all.len() });
    for (m, s) in all {
        if nested {
            cx.out.array(2);
        }
        cx.out.bulk(m);
        if withscores {
            cx.out.double(*s);
        }
    }
}

/// ZADD's flags.
#[derive(Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What ZADD did to one member.
enum Added {
    /// Nothing (NX, XX, GT, LT said no).
    Nop,
    /// Added with this score.
    New(f64),
    /// Its score is now this (`true`: changed).
    Scored(f64, bool),
}

fn add_flags(args: &mut Args<'_>) -> AddFlags {
    let mut f = AddFlags::default();
    loop {
        match () {
            _ if args.eat("nx") => f.nx = true,
            _ if args.eat("xx") => f.xx = true,
            _ if args.eat("gt") => f.gt = true,
            _ if args.eat("lt") => f.lt = true,
            _ if args.eat("ch") => f.ch = true,
            _ if args.eat("incr") => f.incr = true,
            _ => return f,
        }
    }
}

/// ZADD's checks, in Redis's order, after its flags.
fn check_add(f: &AddFlags, pairs: &[&[u8]]) -> Result<Vec<f64>, Failure> {
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(Failure::syntax());
    }
    if f.nx && f.xx {
        return Err(Failure::err("XX and NX options at the same time are not compatible"));
    }
    if (f.gt || f.lt) && f.nx || f.gt && f.lt {
        return Err(Failure::err("GT, LT, and/or NX options at the same time are not compatible"));
    }
    if f.incr && pairs.len() > 2 {
        return Err(Failure::err("INCR option supports a single increment-element pair"));
    }
    pairs.iter().step_by(2).map(|s| score_arg(s)).collect()
}

fn add_one(z: &mut Editor<'_>, f: &AddFlags, member: &[u8], score: f64) -> Result<Added, Failure> {
    let Some(cur) = z.score(member) else {
        if f.xx {
            return Ok(Added::Nop);
        }
        z.set_score(member, score);
        return Ok(Added::New(score));
    };
    if f.nx {
        return Ok(Added::Nop);
    }
    let new = if f.incr { cur + score } else { score };
    if new.is_nan() {
        return Err(Failure::err("resulting score is not a number (NaN)"));
    }
    if (f.lt && new >= cur) || (f.gt && new <= cur) {
        return Ok(Added::Nop);
    }
    if new != cur {
        z.set_score(member, new);
    }
    Ok(Added::Scored(new, new != cur))
}

fn zadd(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let f = add_flags(args);
    let pairs = args.rest();
    let scores = check_add(&f, pairs)?;
    add(cx, key, &f, pairs, &scores)
}

fn zincrby(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let pair = args.rest();
    let f = AddFlags { incr: true, ..AddFlags::default() };
    let scores = check_add(&f, pair)?;
    add(cx, key, &f, pair, &scores)
}

/// Adds (or updates) the members of `pairs` with `scores` as `f` says, and replies.
fn add(cx: &mut Cx<'_>, key: &[u8], f: &AddFlags, pairs: &[&[u8]], scores: &[f64]) -> Res {
    let members = pairs.iter().skip(1).step_by(2);
    let done = write(cx, key, Kind::Zset, !f.xx, |z| {
        let (mut added, mut changed, mut last) = (0, 0, None);
        for (m, &s) in members.zip(scores) {
            match add_one(z, f, m, s)? {
                Added::Nop => {}
                Added::New(s) => (added, last) = (added + 1, Some(s)),
                Added::Scored(s, c) => (changed, last) = (changed + usize::from(c), Some(s)),
            }
        }
        Ok::<_, Failure>((added, changed, last))
    })?;
    let (added, changed, last) = done.transpose()?.unwrap_or((0, 0, None));
    if added + changed > 0 {
        cx.tx.notify(ZSET, if f.incr { "zincr" } else { "zadd" }, key);
    }
    if added > 0 {
        cx.srv.pushed.notify_waiters();
    }
    match (f.incr, last) {
        (true, Some(s)) => cx.out.double(s),
        (true, None) => cx.out.null(),
        (false, _) => cx.out.int((if f.ch { added + changed } else { added }) as i64),
    }
    Ok(())
}

fn zrem(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let members = args.rest();
    let n = write(cx, key, Kind::Zset, false, |z| {
        members.iter().filter(|m| z.remove_scored(m).is_some()).count()
    })?;
    let n = n.unwrap_or(0);
    if n > 0 {
        removed(cx, ZSET, "zrem", key);
    }
    cx.out.int(n as i64);
    Ok(())
}

fn zcard(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let n = read(cx, args.key(), Kind::Zset, |z| z.len())?;
    cx.out.int(n.unwrap_or(0) as i64);
    Ok(())
}

fn zscore(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (key, member) = (args.key(), args.key());
    match read(cx, key, Kind::Zset, |z| z.score(member))?.flatten() {
        Some(s) => cx.out.double(s),
        None => cx.out.null(),
    }
    Ok(())
}

fn zmscore(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let members = args.rest();
    let found = read(cx, key, Kind::Zset, |z| members.iter().map(|m| z.score(m)).collect())?;
    let found: Vec<Option<f64>> = found.unwrap_or_else(|| vec![None; members.len()]);
    cx.out.array(found.len());
    for s in found {
        match s {
            Some(s) => cx.out.double(s),
            None => cx.out.null(),
        }
    }
    Ok(())
}

fn rank(cx: &mut Cx<'_>, args: &mut Args<'_>, rev: bool) -> Res {
    let (key, member) = (args.key(), args.key());
    let r = read(cx, key, Kind::Zset, |z| z.rank(member).map(|r| (r, z.len())))?.flatten();
    match r {
        Some((r, len)) => cx.out.int(if rev { len - 1 - r } else { r } as i64),
        None => cx.out.null(),
    }
    Ok(())
}

fn zrank(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    rank(cx, args, false)
}

fn zrevrank(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    rank(cx, args, true)
}

/// Which end a pop takes from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The lowest scores.
    Min,
    /// The highest.
    Max,
}

impl End {
    /// MIN or MAX (any case).
    pub fn parse(arg: &[u8]) -> Result<End, Failure> {
        match () {
            _ if is(arg, "min") => Ok(End::Min),
            _ if is(arg, "max") => Ok(End::Max),
            _ => Err(Failure::syntax()),
        }
    }
}

/// Pops up to `count` members from the `end` of sorted set `key` (`None`: absent).
pub fn pop_scored(
    cx: &mut Cx<'_>,
    key: &[u8],
    end: End,
    count: usize,
) -> Result<Option<Vec<Scored>>, Failure> {
    let popped = write(cx, key, Kind::Zset, false, |z| {
        let mut out = Vec::with_capacity(count.min(z.len()));
        while out.len() < count {
            let edge = match end {
                End::Min => z.ranked().first(),
                End::Max => z.ranked().last(),
            };
            let Some((s, m)) = edge.map(|(s, m)| (s.0, m.to_vec())) else { break };
            z.remove_scored(&m);
            out.push((m, s));
        }
        out
    })?;
    if popped.as_ref().is_some_and(|p| !p.is_empty()) {
        removed(cx, ZSET, if end == End::Min { "zpopmin" } else { "zpopmax" }, key);
    }
    Ok(popped)
}

fn zpop(cx: &mut Cx<'_>, args: &mut Args<'_>, end: End) -> Res {
    let key = args.key();
    if args.left() > 1 {
        return Err(Failure::syntax());
    }
    let count = match args.next() {
        None => None,
        Some(c) => match parse_i64(c) {
            Some(n) if n >= 0 => Some(n as usize),
            Some(_) => return Err(Failure::err("value is out of range, must be positive")),
            None => return Err(Failure::not_int()),
        },
    };
    let popped = pop_scored(cx, key, end, count.unwrap_or(1))?.unwrap_or_default();
    let nested = cx.out.resp3 && count.is_some();
    reply_scored(cx, &popped, true, nested);
    Ok(())
}

fn zpopmin(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    zpop(cx, args, End::Min)
}

fn zpopmax(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    zpop(cx, args, End::Max)
}

/// A key and the members popped from it.
pub type KeyPopped = (Vec<u8>, Vec<Scored>);

/// Pops up to `count` members from the first non-empty sorted set of `keys`.
pub fn mpop_scored(
    cx: &mut Cx<'_>,
    keys: &[&[u8]],
    end: End,
    count: usize,
) -> Result<Option<KeyPopped>, Failure> {
    for k in keys {
        if let Some(popped) = pop_scored(cx, k, end, count)? {
            return Ok(Some((k.to_vec(), popped)));
        }
    }
    Ok(None)
}

/// ZMPOP's reply: `[key, [[member, score], ...]]`.
pub fn reply_mpop(cx: &mut Cx<'_>, key: &[u8], popped: &[Scored]) {
    cx.out.array(2);
    cx.out.bulk(key);
    reply_scored(cx, popped, true, true);
}

fn zmpop(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (keys, end, count) = mpop_args(args, End::parse)?;
    match mpop_scored(cx, keys, end, count)? {
        Some((k, popped)) => reply_mpop(cx, &k, &popped),
        None => cx.out.null_array(),
    }
    Ok(())
}

fn zrandmember(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let Some(count) = args.next() else {
        let m = read(cx, key, Kind::Zset, |z| {
            z.members().get_index(pick(z.len())).map(|m| m.to_vec())
        })?;
        cx.out.opt_bulk(m.flatten().as_deref());
        return Ok(());
    };
    let count = parse_i64(count).ok_or_else(Failure::not_int)?;
    let withscores = match args.next() {
        None => false,
        Some(w) if is(w, "withscores") && args.left() == 0 => true,
        Some(_) => return Err(Failure::syntax()),
    };
    let (n, repeat) = rand_count(count, withscores)?;
    let picked = read(cx, key, Kind::Zset, |z| {
        let positions: Vec<usize> = match (repeat, n >= z.len()) {
            (true, _) => (0..n).map(|_| pick(z.len())).collect(),
            (false, true) => (0..z.len()).collect(),
            (false, false) => distinct(z.len(), n),
        };
        let scored = positions.into_iter().filter_map(|p| {
            let m = z.members().get_index(p)?;
            Some((m.to_vec(), *z.scores().get(p)?))
        });
        scored.collect::<Vec<Scored>>()
    })?;
    let nested = cx.out.resp3;
    reply_scored(cx, &picked.unwrap_or_default(), withscores, nested);
    Ok(())
}

fn zscan(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let (cursor, opts) = ScanOpts::parse(args)?;
    let step = read(cx, key, Kind::Zset, |z| {
        let (m, next) = opts.step(z.members(), cursor);
        let scored = m.into_iter().map(|m| (m.to_vec(), z.score(m).unwrap_or(0.0)));
        (scored.collect::<Vec<Scored>>(), next)
    })?;
    let (scored, next) = step.unwrap_or_default();
    cx.out.array(2);
    cx.out.bulk(next.to_string().as_bytes());
    cx.out.array(scored.len() * 2);
    for (m, s) in scored {
        cx.out.bulk(&m);
        cx.out.bulk(crate::number::format_double(s).as_bytes());
    }
    Ok(())
}

/// Makes `dst` the sorted set of `all`, replacing what it held (any type), and notes
/// `event`; an empty `all` deletes `dst` (noting `del` if it was there).
pub fn store_scored(
    cx: &mut Cx<'_>,
    dst: &[u8],
    all: &[Scored],
    event: &'static str,
) -> Result<(), Failure> {
    let existed = cx.tx.delete(dst)?;
    if all.is_empty() {
        if existed {
            cx.tx.notify(crate::notify::GENERIC, "del", dst);
        }
        return Ok(());
    }
    write(cx, dst, Kind::Zset, true, |z| {
        for (m, s) in all {
            z.set_score(m, *s);
        }
    })?;
    cx.tx.notify(ZSET, event, dst);
    cx.srv.pushed.notify_waiters();
    Ok(())
}
