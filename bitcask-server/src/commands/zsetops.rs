//! Unions, intersections and differences of sorted sets (and plain sets, whose members
//! score 1): ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD.

use std::collections::HashMap;

use bitcask_collections::Kind;

use super::args::{is, Args, Failure, Res};
use super::members::read;
use super::spec::{Cx, Spec, DEST_NUMKEYS, F_LOCKREAD, F_READONLY, F_WRITE, NUMKEYS};
use super::zsets::{parse_score, reply_scored, store_scored, Scored};
use crate::number::parse_i64;

const RD: u32 = F_READONLY | F_LOCKREAD;

/// The commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "zunion", arity: -3, flags: RD, keys: (2, NUMKEYS, 1), group: "sorted-set", summary: "Returns the union of multiple sorted sets.", run: zunion, ..Spec::NONE },
    Spec { name: "zinter", arity: -3, flags: RD, keys: (2, NUMKEYS, 1), group: "sorted-set", summary: "Returns the intersect of multiple sorted sets.", run: zinter, ..Spec::NONE },
    Spec { name: "zdiff", arity: -3, flags: RD, keys: (2, NUMKEYS, 1), group: "sorted-set", summary: "Returns the difference between multiple sorted sets.", run: zdiff, ..Spec::NONE },
    Spec { name: "zunionstore", arity: -4, flags: F_WRITE, keys: (1, DEST_NUMKEYS, 1), group: "sorted-set", summary: "Stores the union of multiple sorted sets in a key.", run: zunionstore, ..Spec::NONE },
    Spec { name: "zinterstore", arity: -4, flags: F_WRITE, keys: (1, DEST_NUMKEYS, 1), group: "sorted-set", summary: "Stores the intersect of multiple sorted sets in a key.", run: zinterstore, ..Spec::NONE },
    Spec { name: "zdiffstore", arity: -4, flags: F_WRITE, keys: (1, DEST_NUMKEYS, 1), group: "sorted-set", summary: "Stores the difference of multiple sorted sets in a key.", run: zdiffstore, ..Spec::NONE },
    Spec { name: "zintercard", arity: -3, flags: RD, keys: (2, NUMKEYS, 1), group: "sorted-set", summary: "Returns the number of members of the intersect of multiple sorted sets.", run: zintercard, ..Spec::NONE },
];

/// The operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

/// How scores of a member in several inputs combine.
#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            // inf + -inf is NaN: Redis takes 0.
            Aggregate::Sum => Some(a + b).filter(|s| !s.is_nan()).unwrap_or(0.0),
            Aggregate::Min => a.min(b),
            Aggregate::Max => a.max(b),
        }
    }
}

/// What the command asks besides its inputs.
struct Opts {
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    limit: usize,
}

/// The members and scores of sorted set or set `key` (a set's members score 1; empty when
/// absent).
fn input(cx: &Cx<'_>, key: &[u8]) -> Result<Vec<Scored>, Failure> {
    let got = match cx.tx.kind_of(key) {
        Some(Kind::Set) => read(cx, key, Kind::Set, |s| {
            s.members().iter().map(|m| (m.to_vec(), 1.0)).collect::<Vec<_>>()
        })?,
        _ => read(cx, key, Kind::Zset, |z| {
            z.members().iter().map(|m| m.to_vec()).zip(z.scores().iter().copied()).collect()
        })?,
    };
    Ok(got.unwrap_or_default())
}

/// Reads numkeys, the inputs and the options, in Redis's order (a wrong type before a bad
/// option). `name` is the command's, for the error of no input.
fn inputs(
    cx: &Cx<'_>,
    args: &mut Args<'_>,
    op: Op,
    name: &str,
    (store, card): (bool, bool),
) -> Result<(Vec<Vec<Scored>>, Opts), Failure> {
    let n = parse_i64(args.key()).ok_or_else(Failure::not_int)?;
    if n < 1 {
        return Err(Failure::err(format!("at least 1 input key is needed for '{name}' command")));
    }
    if n as usize > args.left() {
        return Err(Failure::syntax());
    }
    let n = n as usize;
    let mut sets = Vec::with_capacity(n);
    for _ in 0..n {
        sets.push(input(cx, args.key())?);
    }
    let mut o =
        Opts { weights: vec![1.0; n], aggregate: Aggregate::Sum, withscores: false, limit: 0 };
    let scored = op != Op::Diff && !card;
    while args.left() > 0 {
        if scored && args.left() > n && args.eat("weights") {
            for w in &mut o.weights {
                *w = parse_score(args.key())
                    .ok_or_else(|| Failure::err("weight value is not a float"))?;
            }
        } else if scored && args.left() >= 2 && args.eat("aggregate") {
            let a = args.key();
            o.aggregate = match () {
                _ if is(a, "sum") => Aggregate::Sum,
                _ if is(a, "min") => Aggregate::Min,
                _ if is(a, "max") => Aggregate::Max,
                _ => return Err(Failure::syntax()),
            };
        } else if !store && !card && args.eat("withscores") {
            o.withscores = true;
        } else if card && args.left() >= 2 && args.eat("limit") {
            o.limit = match parse_i64(args.key()) {
                Some(l) if l >= 0 => l as usize,
                _ => return Err(Failure::err("LIMIT can't be negative")),
            };
        } else {
            return Err(Failure::syntax());
        }
    }
    Ok((sets, o))
}

/// A weighted score (NaN, as 0 × inf, taken as 0).
fn weighted(s: f64, w: f64) -> f64 {
    Some(s * w).filter(|v| !v.is_nan()).unwrap_or(0.0)
}

/// The result of `op` on `sets`, ordered by score then member.
fn combine(op: Op, mut sets: Vec<Vec<Scored>>, o: &Opts) -> Vec<Scored> {
    let mut out: Vec<Scored> = match op {
        Op::Union => {
            let mut acc: HashMap<Vec<u8>, f64> = HashMap::new();
            for (set, &w) in sets.into_iter().zip(&o.weights) {
                for (m, s) in set {
                    let v = weighted(s, w);
                    acc.entry(m).and_modify(|a| *a = o.aggregate.apply(*a, v)).or_insert(v);
                }
            }
            acc.into_iter().collect()
        }
        Op::Inter => {
            let mut weighted_sets: Vec<(Vec<Scored>, f64)> =
                sets.into_iter().zip(o.weights.iter().copied()).collect();
            weighted_sets.sort_by_key(|(s, _)| s.len());
            let mut it = weighted_sets.into_iter();
            let Some((first, w0)) = it.next() else { return Vec::new() };
            let rest: Vec<(HashMap<Vec<u8>, f64>, f64)> =
                it.map(|(s, w)| (s.into_iter().collect(), w)).collect();
            let found = first.into_iter().filter_map(|(m, s)| {
                let mut acc = weighted(s, w0);
                for (other, w) in &rest {
                    acc = o.aggregate.apply(acc, weighted(*other.get(&m)?, *w));
                }
                Some((m, acc))
            });
            found.collect()
        }
        Op::Diff => {
            let first = std::mem::take(&mut sets[0]);
            let others: Vec<std::collections::HashSet<Vec<u8>>> =
                sets.into_iter().skip(1).map(|s| s.into_iter().map(|(m, _)| m).collect()).collect();
            first.into_iter().filter(|(m, _)| !others.iter().any(|o| o.contains(m))).collect()
        }
    };
    out.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    out
}

fn reply(cx: &mut Cx<'_>, args: &mut Args<'_>, op: Op, name: &str) -> Res {
    let (sets, o) = inputs(cx, args, op, name, (false, false))?;
    let all = combine(op, sets, &o);
    let nested = cx.out.resp3;
    reply_scored(cx, &all, o.withscores, nested);
    Ok(())
}

fn store(cx: &mut Cx<'_>, args: &mut Args<'_>, op: Op, name: &'static str) -> Res {
    let dst = args.key();
    let (sets, o) = inputs(cx, args, op, name, (true, false))?;
    let all = combine(op, sets, &o);
    store_scored(cx, dst, &all, name)?;
    cx.out.int(all.len() as i64);
    Ok(())
}

fn zunion(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    reply(cx, args, Op::Union, "zunion")
}

fn zinter(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    reply(cx, args, Op::Inter, "zinter")
}

fn zdiff(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    reply(cx, args, Op::Diff, "zdiff")
}

fn zunionstore(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    store(cx, args, Op::Union, "zunionstore")
}

fn zinterstore(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    store(cx, args, Op::Inter, "zinterstore")
}

fn zdiffstore(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    store(cx, args, Op::Diff, "zdiffstore")
}

fn zintercard(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (sets, o) = inputs(cx, args, Op::Inter, "zintercard", (false, true))?;
    let n = combine(Op::Inter, sets, &o).len();
    cx.out.int(if o.limit > 0 { n.min(o.limit) } else { n } as i64);
    Ok(())
}
