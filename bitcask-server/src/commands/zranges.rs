//! Sorted-set ranges: by rank, by score, by member (lex); read (the ZRANGE family), counted
//! (ZCOUNT, ZLEXCOUNT), stored (ZRANGESTORE) or removed (ZREMRANGEBY*).

use std::ops::Bound;

use bitcask_collections::{Kind, Score};

use super::args::{Args, Failure, Res};
use super::members::{read, removed, write};
use super::spec::{Cx, Spec, F_FAST, F_LOCKREAD, F_READONLY, F_WRITE};
use super::zsets::{parse_score, reply_scored, store_scored, Scored};
use crate::notify::ZSET;
use crate::number::parse_i64;
use crate::tx::Editor;

const RD: u32 = F_READONLY | F_LOCKREAD;

/// The commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "zrange", arity: -4, flags: RD, keys: (1, 1, 1), group: "sorted-set", summary: "Returns members in a sorted set within a range of indexes.", run: zrange, ..Spec::NONE },
    Spec { name: "zrangestore", arity: -5, flags: F_WRITE, keys: (1, 2, 1), group: "sorted-set", summary: "Stores a range of members from sorted set in a key.", run: zrangestore, ..Spec::NONE },
    Spec { name: "zrevrange", arity: -4, flags: RD, keys: (1, 1, 1), group: "sorted-set", summary: "Returns members in a sorted set within a range of indexes in reverse order.", run: zrevrange, ..Spec::NONE },
    Spec { name: "zrangebyscore", arity: -4, flags: RD, keys: (1, 1, 1), group: "sorted-set", summary: "Returns members in a sorted set within a range of scores.", run: zrangebyscore, ..Spec::NONE },
    Spec { name: "zrevrangebyscore", arity: -4, flags: RD, keys: (1, 1, 1), group: "sorted-set", summary: "Returns members in a sorted set within a range of scores in reverse order.", run: zrevrangebyscore, ..Spec::NONE },
    Spec { name: "zrangebylex", arity: -4, flags: RD, keys: (1, 1, 1), group: "sorted-set", summary: "Returns members in a sorted set within a lexicographical range.", run: zrangebylex, ..Spec::NONE },
    Spec { name: "zrevrangebylex", arity: -4, flags: RD, keys: (1, 1, 1), group: "sorted-set", summary: "Returns members in a sorted set within a lexicographical range in reverse order.", run: zrevrangebylex, ..Spec::NONE },
    Spec { name: "zcount", arity: 4, flags: RD | F_FAST, keys: (1, 1, 1), group: "sorted-set", summary: "Returns the count of members in a sorted set that have scores within a range.", run: zcount, ..Spec::NONE },
    Spec { name: "zlexcount", arity: 4, flags: RD | F_FAST, keys: (1, 1, 1), group: "sorted-set", summary: "Returns the number of members in a sorted set within a lexicographical range.", run: zlexcount, ..Spec::NONE },
    Spec { name: "zremrangebyrank", arity: 4, flags: F_WRITE, keys: (1, 1, 1), group: "sorted-set", summary: "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", run: zremrangebyrank, ..Spec::NONE },
    Spec { name: "zremrangebyscore", arity: 4, flags: F_WRITE, keys: (1, 1, 1), group: "sorted-set", summary: "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", run: zremrangebyscore, ..Spec::NONE },
    Spec { name: "zremrangebylex", arity: 4, flags: F_WRITE, keys: (1, 1, 1), group: "sorted-set", summary: "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", run: zremrangebylex, ..Spec::NONE },
];

/// A range of scores: `min` and `max`, each inclusive unless marked `(`.
#[derive(Clone, Copy)]
pub struct Scores {
    min: f64,
    max: f64,
    min_ex: bool,
    max_ex: bool,
}

impl Scores {
    /// Reads a range (`ERR min or max is not a float`).
    pub fn parse(min: &[u8], max: &[u8]) -> Result<Scores, Failure> {
        let bound = |a: &[u8]| match a.split_first() {
            Some((b'(', rest)) => parse_score(rest).map(|v| (v, true)),
            _ => parse_score(a).map(|v| (v, false)),
        };
        match (bound(min), bound(max)) {
            (Some((min, min_ex)), Some((max, max_ex))) => Ok(Scores { min, max, min_ex, max_ex }),
            _ => Err(Failure::err("min or max is not a float")),
        }
    }

    fn above_min(&self, s: f64) -> bool {
        if self.min_ex {
            s > self.min
        } else {
            s >= self.min
        }
    }

    fn below_max(&self, s: f64) -> bool {
        if self.max_ex {
            s < self.max
        } else {
            s <= self.max
        }
    }

    fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_ex || self.max_ex))
    }
}

/// One end of a lex range.
enum Lex {
    /// `-`: below every member.
    Lowest,
    /// `+`: above every member.
    Highest,
    /// `[m` (inclusive) or `(m` (exclusive: `true`).
    At(Vec<u8>, bool),
}

/// A range of members (when all scores are equal, their order).
pub struct Lexes {
    min: Lex,
    max: Lex,
}

impl Lexes {
    /// Reads a range (`ERR min or max not valid string range item`).
    pub fn parse(min: &[u8], max: &[u8]) -> Result<Lexes, Failure> {
        let bound = |a: &[u8]| match a.split_first() {
            Some((b'-', [])) => Some(Lex::Lowest),
            Some((b'+', [])) => Some(Lex::Highest),
            Some((b'[', m)) => Some(Lex::At(m.to_vec(), false)),
            Some((b'(', m)) => Some(Lex::At(m.to_vec(), true)),
            _ => None,
        };
        match (bound(min), bound(max)) {
            (Some(min), Some(max)) => Ok(Lexes { min, max }),
            _ => Err(Failure::err("min or max not valid string range item")),
        }
    }

    fn above_min(&self, m: &[u8]) -> bool {
        match &self.min {
            Lex::Lowest => true,
            Lex::Highest => false,
            Lex::At(x, ex) => m > x.as_slice() || (!ex && m == x.as_slice()),
        }
    }

    fn below_max(&self, m: &[u8]) -> bool {
        match &self.max {
            Lex::Lowest => false,
            Lex::Highest => true,
            Lex::At(x, ex) => m < x.as_slice() || (!ex && m == x.as_slice()),
        }
    }

    fn is_empty(&self) -> bool {
        match (&self.min, &self.max) {
            (Lex::Highest, _) | (_, Lex::Lowest) => true,
            (Lex::At(a, ax), Lex::At(b, bx)) => a > b || (a == b && (*ax || *bx)),
            _ => false,
        }
    }
}

/// What a range selects.
pub enum Range {
    /// Ranks `start` to `stop` (inclusive; negative from the end).
    Rank(i64, i64),
    /// Scores.
    Score(Scores),
    /// Members.
    Lex(Lexes),
}

/// A range with its direction and LIMIT.
pub struct Query {
    /// The range.
    pub range: Range,
    /// From the highest score down.
    pub rev: bool,
    /// LIMIT's offset (negative: nothing).
    pub offset: i64,
    /// LIMIT's count (negative: all).
    pub limit: i64,
}

type Entry = (Score, Box<[u8]>);

/// The smallest double above `x` (`None` above +inf).
fn above(x: f64) -> Option<f64> {
    let x = x + 0.0;
    match x {
        f64::INFINITY => None,
        0.0 => Some(f64::from_bits(1)),
        x if x > 0.0 => Some(f64::from_bits(x.to_bits() + 1)),
        x => Some(f64::from_bits(x.to_bits() - 1)),
    }
}

/// The members `q` selects from `z`, in its direction.
fn select<'z>(z: &'z Editor<'_>, q: &Query) -> Vec<&'z Entry> {
    let ranked = z.ranked();
    let all: Box<dyn Iterator<Item = &Entry>> = match (&q.range, q.rev) {
        (Range::Rank(start, stop), rev) => {
            let len = ranked.len() as i64;
            let norm = |i: i64| if i < 0 { i + len } else { i };
            let (start, stop) = (norm(*start).max(0), norm(*stop).min(len - 1));
            if start > stop || start >= len {
                return Vec::new();
            }
            let n = (stop - start + 1) as usize;
            match rev {
                false => Box::new(ranked.iter().skip(start as usize).take(n)),
                true => Box::new(ranked.iter().rev().skip(start as usize).take(n)),
            }
        }
        (Range::Score(r), _) if r.is_empty() => return Vec::new(),
        (Range::Score(r), false) => {
            let from = Bound::Included((Score(r.min), Box::default()));
            let r = *r;
            let it = ranked.range((from, Bound::Unbounded));
            Box::new(
                it.skip_while(move |e| !r.above_min(e.0 .0))
                    .take_while(move |e| r.below_max(e.0 .0)),
            )
        }
        (Range::Score(r), true) => {
            let to = above(r.max)
                .map_or(Bound::Unbounded, |a| Bound::Excluded((Score(a), Box::default())));
            let r = *r;
            let it = ranked.range((Bound::Unbounded, to)).rev();
            Box::new(
                it.skip_while(move |e| !r.below_max(e.0 .0))
                    .take_while(move |e| r.above_min(e.0 .0)),
            )
        }
        (Range::Lex(r), _) if r.is_empty() => return Vec::new(),
        (Range::Lex(r), false) => Box::new(
            ranked.iter().skip_while(|e| !r.above_min(&e.1)).take_while(|e| r.below_max(&e.1)),
        ),
        (Range::Lex(r), true) => Box::new(
            ranked
                .iter()
                .rev()
                .skip_while(|e| !r.below_max(&e.1))
                .take_while(|e| r.above_min(&e.1)),
        ),
    };
    if q.offset < 0 {
        return Vec::new();
    }
    let limit = if q.limit < 0 { usize::MAX } else { q.limit as usize };
    all.skip(q.offset as usize).take(limit).collect()
}

/// The members `q` selects from sorted set `key`, with their scores (empty when absent).
pub fn range_of(cx: &Cx<'_>, key: &[u8], q: &Query) -> Result<Vec<Scored>, Failure> {
    let got = read(cx, key, Kind::Zset, |z| {
        select(z, q).into_iter().map(|(s, m)| (m.to_vec(), s.0)).collect()
    })?;
    Ok(got.unwrap_or_default())
}

/// How a ZRANGE-family command reads its range.
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Rank,
    Score,
    Lex,
}

/// The options after a range: (query, WITHSCORES). `fixed` is the legacy commands' kind and
/// direction (their options may not change them).
fn range_opts(
    args: &mut Args<'_>,
    fixed: Option<(By, bool)>,
    store: bool,
) -> Result<(Query, bool), Failure> {
    let (min, max) = (args.key(), args.key());
    let (mut by, mut rev) = (fixed.map(|f| f.0), fixed.map(|f| f.1));
    let (mut withscores, mut offset, mut limit) = (false, 0, -1);
    while let Some(a) = args.next() {
        let is = |w: &str| super::args::is(a, w);
        match () {
            _ if !store && is("withscores") => withscores = true,
            _ if is("limit") && args.left() >= 2 => (offset, limit) = (args.int()?, args.int()?),
            _ if rev.is_none() && is("rev") => rev = Some(true),
            _ if by.is_none() && is("bylex") => by = Some(By::Lex),
            _ if by.is_none() && is("byscore") => by = Some(By::Score),
            _ => return Err(Failure::syntax()),
        }
    }
    let (by, rev) = (by.unwrap_or(By::Rank), rev.unwrap_or(false));
    if limit != -1 && by == By::Rank {
        return Err(Failure::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && by == By::Lex {
        return Err(Failure::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (min, max) = if rev && by != By::Rank { (max, min) } else { (min, max) };
    let range = match by {
        By::Rank => {
            let int = |a: &[u8]| parse_i64(a).ok_or_else(Failure::not_int);
            Range::Rank(int(min)?, int(max)?)
        }
        By::Score => Range::Score(Scores::parse(min, max)?),
        By::Lex => Range::Lex(Lexes::parse(min, max)?),
    };
    Ok((Query { range, rev, offset, limit }, withscores))
}

fn range_cmd(cx: &mut Cx<'_>, args: &mut Args<'_>, fixed: Option<(By, bool)>) -> Res {
    let key = args.key();
    let (q, withscores) = range_opts(args, fixed, false)?;
    let all = range_of(cx, key, &q)?;
    let nested = cx.out.resp3;
    reply_scored(cx, &all, withscores, nested);
    Ok(())
}

fn zrange(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    range_cmd(cx, args, None)
}

fn zrevrange(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    range_cmd(cx, args, Some((By::Rank, true)))
}

fn zrangebyscore(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    range_cmd(cx, args, Some((By::Score, false)))
}

fn zrevrangebyscore(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    range_cmd(cx, args, Some((By::Score, true)))
}

fn zrangebylex(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    range_cmd(cx, args, Some((By::Lex, false)))
}

fn zrevrangebylex(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    range_cmd(cx, args, Some((By::Lex, true)))
}

fn zrangestore(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (dst, src) = (args.key(), args.key());
    let (q, _) = range_opts(args, None, true)?;
    let all = range_of(cx, src, &q)?;
    store_scored(cx, dst, &all, "zrangestore")?;
    cx.out.int(all.len() as i64);
    Ok(())
}

fn count(cx: &mut Cx<'_>, key: &[u8], range: Range) -> Res {
    let q = Query { range, rev: false, offset: 0, limit: -1 };
    let n = read(cx, key, Kind::Zset, |z| select(z, &q).len())?;
    cx.out.int(n.unwrap_or(0) as i64);
    Ok(())
}

fn zcount(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let r = Scores::parse(args.key(), args.key())?;
    count(cx, key, Range::Score(r))
}

fn zlexcount(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let r = Lexes::parse(args.key(), args.key())?;
    count(cx, key, Range::Lex(r))
}

fn remove_range(cx: &mut Cx<'_>, key: &[u8], range: Range, event: &'static str) -> Res {
    let q = Query { range, rev: false, offset: 0, limit: -1 };
    let n = write(cx, key, Kind::Zset, false, |z| {
        let gone: Vec<Vec<u8>> = select(z, &q).into_iter().map(|(_, m)| m.to_vec()).collect();
        gone.iter().filter(|m| z.remove_scored(m).is_some()).count()
    })?;
    let n = n.unwrap_or(0);
    if n > 0 {
        removed(cx, ZSET, event, key);
    }
    cx.out.int(n as i64);
    Ok(())
}

fn zremrangebyrank(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let (start, stop) = (args.int()?, args.int()?);
    remove_range(cx, key, Range::Rank(start, stop), "zremrangebyrank")
}

fn zremrangebyscore(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let r = Scores::parse(args.key(), args.key())?;
    remove_range(cx, key, Range::Score(r), "zremrangebyscore")
}

fn zremrangebylex(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let r = Lexes::parse(args.key(), args.key())?;
    remove_range(cx, key, Range::Lex(r), "zremrangebylex")
}
