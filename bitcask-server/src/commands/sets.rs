//! Set commands: members without values, each member one record of the store, the members
//! in RAM.

use bitcask_collections::Kind;

use super::args::{is, Args, Failure, Res};
use super::members::{distinct, pick, rand_count, read, removed, write, ScanOpts};
use super::spec::{Cx, Spec, F_FAST, F_LOCKREAD, F_READONLY, F_WRITE, NUMKEYS};
use crate::notify::{GENERIC, SET};
use crate::number::parse_i64;

const RD: u32 = F_READONLY | F_LOCKREAD;

/// The set commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "sadd", arity: -3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "set", summary: "Adds one or more members to a set. Creates the key if it doesn't exist.", run: sadd, ..Spec::NONE },
    Spec { name: "srem", arity: -3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "set", summary: "Removes one or more members from a set. Deletes the set if the last member was removed.", run: srem, ..Spec::NONE },
    Spec { name: "smembers", arity: 2, flags: RD, keys: (1, 1, 1), group: "set", summary: "Returns all members of a set.", run: smembers, ..Spec::NONE },
    Spec { name: "sismember", arity: 3, flags: RD | F_FAST, keys: (1, 1, 1), group: "set", summary: "Determines whether a member belongs to a set.", run: sismember, ..Spec::NONE },
    Spec { name: "smismember", arity: -3, flags: RD | F_FAST, keys: (1, 1, 1), group: "set", summary: "Determines whether multiple members belong to a set.", run: smismember, ..Spec::NONE },
    Spec { name: "scard", arity: 2, flags: RD | F_FAST, keys: (1, 1, 1), group: "set", summary: "Returns the number of members in a set.", run: scard, ..Spec::NONE },
    Spec { name: "spop", arity: -2, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "set", summary: "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", run: spop, ..Spec::NONE },
    Spec { name: "srandmember", arity: -2, flags: RD, keys: (1, 1, 1), group: "set", summary: "Get one or multiple random members from a set", run: srandmember, ..Spec::NONE },
    Spec { name: "smove", arity: 4, flags: F_WRITE | F_FAST, keys: (1, 2, 1), group: "set", summary: "Moves a member from one set to another.", run: smove, ..Spec::NONE },
    Spec { name: "sinter", arity: -2, flags: RD, keys: (1, -1, 1), group: "set", summary: "Returns the intersect of multiple sets.", run: sinter, ..Spec::NONE },
    Spec { name: "sinterstore", arity: -3, flags: F_WRITE, keys: (1, -1, 1), group: "set", summary: "Stores the intersect of multiple sets in a key.", run: sinterstore, ..Spec::NONE },
    Spec { name: "sintercard", arity: -3, flags: RD, keys: (2, NUMKEYS, 1), group: "set", summary: "Returns the number of members of the intersect of multiple sets.", run: sintercard, ..Spec::NONE },
    Spec { name: "sunion", arity: -2, flags: RD, keys: (1, -1, 1), group: "set", summary: "Returns the union of multiple sets.", run: sunion, ..Spec::NONE },
    Spec { name: "sunionstore", arity: -3, flags: F_WRITE, keys: (1, -1, 1), group: "set", summary: "Stores the union of multiple sets in a key.", run: sunionstore, ..Spec::NONE },
    Spec { name: "sdiff", arity: -2, flags: RD, keys: (1, -1, 1), group: "set", summary: "Returns the difference of multiple sets.", run: sdiff, ..Spec::NONE },
    Spec { name: "sdiffstore", arity: -3, flags: F_WRITE, keys: (1, -1, 1), group: "set", summary: "Stores the difference of multiple sets in a key.", run: sdiffstore, ..Spec::NONE },
    Spec { name: "sscan", arity: -3, flags: RD, keys: (1, 1, 1), group: "set", summary: "Iterates over members of a set.", run: sscan, ..Spec::NONE },
];

type Member = Vec<u8>;

fn sadd(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let members = args.rest();
    let n = write(cx, key, Kind::Set, true, |s| {
        members.iter().filter(|m| !s.contains(m) && s.insert(m, Vec::new())).count()
    })?;
    let n = n.unwrap_or(0);
    if n > 0 {
        cx.tx.notify(SET, "sadd", key);
    }
    cx.out.int(n as i64);
    Ok(())
}

fn srem(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let members = args.rest();
    let n = write(cx, key, Kind::Set, false, |s| members.iter().filter(|m| s.remove(m)).count())?;
    let n = n.unwrap_or(0);
    if n > 0 {
        removed(cx, SET, "srem", key);
    }
    cx.out.int(n as i64);
    Ok(())
}

/// The members of set `key` (empty when absent).
fn members_of(cx: &Cx<'_>, key: &[u8]) -> Result<Vec<Member>, Failure> {
    let m = read(cx, key, Kind::Set, |s| s.members().iter().map(|m| m.to_vec()).collect())?;
    Ok(m.unwrap_or_default())
}

fn reply_set(cx: &mut Cx<'_>, members: &[Member]) {
    cx.out.set(members.len());
    for m in members {
        cx.out.bulk(m);
    }
}

fn smembers(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let m = members_of(cx, args.key())?;
    reply_set(cx, &m);
    Ok(())
}

fn sismember(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (key, member) = (args.key(), args.key());
    let found = read(cx, key, Kind::Set, |s| s.contains(member))?;
    cx.out.int(i64::from(found.unwrap_or(false)));
    Ok(())
}

fn smismember(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let members = args.rest();
    let found = read(cx, key, Kind::Set, |s| members.iter().map(|m| s.contains(m)).collect())?;
    let found: Vec<bool> = found.unwrap_or_else(|| vec![false; members.len()]);
    cx.out.array(found.len());
    for f in found {
        cx.out.int(i64::from(f));
    }
    Ok(())
}

fn scard(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let n = read(cx, args.key(), Kind::Set, |s| s.len())?;
    cx.out.int(n.unwrap_or(0) as i64);
    Ok(())
}

fn spop(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let count = match args.next() {
        None => None,
        Some(c) => match parse_i64(c) {
            Some(n) if n >= 0 && args.left() == 0 => Some(n as usize),
            Some(_) if args.left() == 0 => {
                return Err(Failure::err("value is out of range, must be positive"))
            }
            _ if args.left() > 0 => return Err(Failure::syntax()),
            _ => return Err(Failure::not_int()),
        },
    };
    let n = count.unwrap_or(1);
    let popped = write(cx, key, Kind::Set, false, |s| {
        let mut out = Vec::with_capacity(n.min(s.len()));
        while out.len() < n && s.len() > 0 {
            let Some(m) = s.members().get_index(pick(s.len())).map(|m| m.to_vec()) else { break };
            s.remove(&m);
            out.push(m);
        }
        out
    })?;
    let popped = popped.unwrap_or_default();
    if !popped.is_empty() {
        removed(cx, SET, "spop", key);
    }
    match count {
        None => cx.out.opt_bulk(popped.first().map(Vec::as_slice)),
        Some(_) => reply_set(cx, &popped),
    }
    Ok(())
}

fn srandmember(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let Some(count) = args.next() else {
        let m =
            read(cx, key, Kind::Set, |s| s.members().get_index(pick(s.len())).map(|m| m.to_vec()))?;
        cx.out.opt_bulk(m.flatten().as_deref());
        return Ok(());
    };
    if args.left() > 0 {
        return Err(Failure::syntax());
    }
    let count = parse_i64(count).ok_or_else(Failure::not_int)?;
    let (n, repeat) = rand_count(count, false)?;
    let picked = read(cx, key, Kind::Set, |s| {
        let positions: Vec<usize> = match (repeat, n >= s.len()) {
            (true, _) => (0..n).map(|_| pick(s.len())).collect(),
            (false, true) => (0..s.len()).collect(),
            (false, false) => distinct(s.len(), n),
        };
        positions
            .into_iter()
            .filter_map(|p| s.members().get_index(p))
            .map(|m| m.to_vec())
            .collect::<Vec<_>>()
    })?;
    let picked = picked.unwrap_or_default();
    cx.out.array(picked.len());
    for m in picked {
        cx.out.bulk(&m);
    }
    Ok(())
}

fn smove(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (src, dst, member) = (args.key(), args.key(), args.key());
    // Both keys must be sets (or absent) before anything moves.
    let in_src = read(cx, src, Kind::Set, |s| s.contains(member))?;
    read(cx, dst, Kind::Set, |_| ())?;
    let moved = match in_src {
        Some(true) if src == dst => true,
        Some(true) => {
            write(cx, src, Kind::Set, false, |s| s.remove(member))?;
            removed(cx, SET, "srem", src);
            write(cx, dst, Kind::Set, true, |s| {
                !s.contains(member) && s.insert(member, Vec::new())
            })?;
            cx.tx.notify(SET, "sadd", dst);
            true
        }
        _ => false,
    };
    cx.out.int(i64::from(moved));
    Ok(())
}

/// How sets combine.
#[derive(Clone, Copy)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// The members of `op` over the sets `keys` (absent keys are empty sets), stopping at
/// `limit` members (0: none).
fn combine(cx: &Cx<'_>, op: Op, keys: &[&[u8]], limit: usize) -> Result<Vec<Member>, Failure> {
    let mut sets = Vec::with_capacity(keys.len());
    for k in keys {
        sets.push(members_of(cx, k)?);
    }
    let Some((first, rest)) = sets.split_first() else { return Ok(Vec::new()) };
    let rest: Vec<std::collections::HashSet<&[u8]>> =
        rest.iter().map(|s| s.iter().map(Vec::as_slice).collect()).collect();
    let mut out: Vec<Member> = Vec::new();
    match op {
        Op::Inter | Op::Diff => {
            let keep = |m: &[u8]| match op {
                Op::Inter => rest.iter().all(|s| s.contains(m)),
                _ => !rest.iter().any(|s| s.contains(m)),
            };
            for m in first {
                if limit != 0 && out.len() >= limit {
                    break;
                }
                if keep(m) {
                    out.push(m.clone());
                }
            }
        }
        Op::Union => {
            let mut seen = std::collections::HashSet::new();
            for m in sets.iter().flatten() {
                if seen.insert(m.as_slice()) {
                    out.push(m.clone());
                }
            }
        }
    }
    Ok(out)
}

fn read_op(cx: &mut Cx<'_>, args: &mut Args<'_>, op: Op) -> Res {
    let keys = args.rest();
    let m = combine(cx, op, keys, 0)?;
    reply_set(cx, &m);
    Ok(())
}

fn store_op(cx: &mut Cx<'_>, args: &mut Args<'_>, op: Op, event: &'static str) -> Res {
    let dst = args.key();
    let keys = args.rest();
    let m = combine(cx, op, keys, 0)?;
    let existed = cx.tx.delete(dst)?;
    if !m.is_empty() {
        write(cx, dst, Kind::Set, true, |s| {
            for x in &m {
                s.insert(x, Vec::new());
            }
        })?;
        cx.tx.notify(SET, event, dst);
    } else if existed {
        cx.tx.notify(GENERIC, "del", dst);
    }
    cx.out.int(m.len() as i64);
    Ok(())
}

fn sinter(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    read_op(cx, args, Op::Inter)
}

fn sunion(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    read_op(cx, args, Op::Union)
}

fn sdiff(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    read_op(cx, args, Op::Diff)
}

fn sinterstore(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    store_op(cx, args, Op::Inter, "sinterstore")
}

fn sunionstore(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    store_op(cx, args, Op::Union, "sunionstore")
}

fn sdiffstore(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    store_op(cx, args, Op::Diff, "sdiffstore")
}

fn sintercard(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let n = match parse_i64(args.key()) {
        Some(n) if n > 0 => n as usize,
        _ => return Err(Failure::err("numkeys should be greater than 0")),
    };
    if n > args.left() {
        return Err(Failure::err("Number of keys can't be greater than number of args"));
    }
    let all = args.rest();
    let (keys, opts) = all.split_at(n);
    let limit = match opts {
        [] => 0,
        [l, v] if is(l, "limit") => match parse_i64(v) {
            Some(v) if v >= 0 => v as usize,
            _ => return Err(Failure::err("LIMIT can't be negative")),
        },
        _ => return Err(Failure::syntax()),
    };
    let m = combine(cx, Op::Inter, keys, limit)?;
    cx.out.int(m.len() as i64);
    Ok(())
}

fn sscan(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let (cursor, opts) = ScanOpts::parse(args)?;
    let step = read(cx, key, Kind::Set, |s| {
        let (m, next) = opts.step(s.members(), cursor);
        (m.into_iter().map(<[u8]>::to_vec).collect::<Vec<_>>(), next)
    })?;
    let (members, next) = step.unwrap_or_default();
    cx.out.array(2);
    cx.out.bulk(next.to_string().as_bytes());
    cx.out.array(members.len());
    for m in members {
        cx.out.bulk(&m);
    }
    Ok(())
}
