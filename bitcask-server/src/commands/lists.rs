//! List commands: each value one record of the store at its position, the positions in
//! RAM. The blocking forms (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) are in `blocking.rs`.

use bitcask_collections::Kind;

use super::args::{is, Args, Failure, Res};
use super::members::{mpop_args, read, removed, write};
use super::spec::{Cx, Spec, F_FAST, F_LOCKREAD, F_READONLY, F_WRITE, NUMKEYS};
use crate::notify::LIST;
use crate::number::parse_i64;
use crate::tx::Editor;

const RD: u32 = F_READONLY | F_LOCKREAD;

/// The list commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "lpush", arity: -3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "list", summary: "Prepends one or more elements to a list. Creates the key if it doesn't exist.", run: lpush, ..Spec::NONE },
    Spec { name: "rpush", arity: -3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "list", summary: "Appends one or more elements to a list. Creates the key if it doesn't exist.", run: rpush, ..Spec::NONE },
    Spec { name: "lpushx", arity: -3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "list", summary: "Prepends one or more elements to a list only when the list exists.", run: lpushx, ..Spec::NONE },
    Spec { name: "rpushx", arity: -3, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "list", summary: "Appends an element to a list only when the list exists.", run: rpushx, ..Spec::NONE },
    Spec { name: "lpop", arity: -2, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "list", summary: "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", run: lpop, ..Spec::NONE },
    Spec { name: "rpop", arity: -2, flags: F_WRITE | F_FAST, keys: (1, 1, 1), group: "list", summary: "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", run: rpop, ..Spec::NONE },
    Spec { name: "llen", arity: 2, flags: RD | F_FAST, keys: (1, 1, 1), group: "list", summary: "Returns the length of a list.", run: llen, ..Spec::NONE },
    Spec { name: "lindex", arity: 3, flags: RD, keys: (1, 1, 1), group: "list", summary: "Returns an element from a list by its index.", run: lindex, ..Spec::NONE },
    Spec { name: "lrange", arity: 4, flags: RD, keys: (1, 1, 1), group: "list", summary: "Returns a range of elements from a list.", run: lrange, ..Spec::NONE },
    Spec { name: "lset", arity: 4, flags: F_WRITE, keys: (1, 1, 1), group: "list", summary: "Sets the value of an element in a list by its index.", run: lset, ..Spec::NONE },
    Spec { name: "ltrim", arity: 4, flags: F_WRITE, keys: (1, 1, 1), group: "list", summary: "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", run: ltrim, ..Spec::NONE },
    Spec { name: "lrem", arity: 4, flags: F_WRITE, keys: (1, 1, 1), group: "list", summary: "Removes elements from a list. Deletes the list if the last element was removed.", run: lrem, ..Spec::NONE },
    Spec { name: "linsert", arity: 5, flags: F_WRITE, keys: (1, 1, 1), group: "list", summary: "Inserts an element before or after another element in a list.", run: linsert, ..Spec::NONE },
    Spec { name: "lpos", arity: -3, flags: RD, keys: (1, 1, 1), group: "list", summary: "Returns the index of matching elements in a list.", run: lpos, ..Spec::NONE },
    Spec { name: "lmove", arity: 5, flags: F_WRITE, keys: (1, 2, 1), group: "list", summary: "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", run: lmove, ..Spec::NONE },
    Spec { name: "rpoplpush", arity: 3, flags: F_WRITE, keys: (1, 2, 1), group: "list", summary: "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", run: rpoplpush, ..Spec::NONE },
    Spec { name: "lmpop", arity: -4, flags: F_WRITE, keys: (2, NUMKEYS, 1), group: "list", summary: "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", run: lmpop, ..Spec::NONE },
];

/// A list's end.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

impl End {
    /// LEFT or RIGHT (any case).
    pub fn parse(arg: &[u8]) -> Result<End, Failure> {
        match () {
            _ if is(arg, "left") => Ok(End::Left),
            _ if is(arg, "right") => Ok(End::Right),
            _ => Err(Failure::syntax()),
        }
    }

    fn pop_event(self) -> &'static str {
        if self == End::Left {
            "lpop"
        } else {
            "rpop"
        }
    }

    fn push_event(self) -> &'static str {
        if self == End::Left {
            "lpush"
        } else {
            "rpush"
        }
    }
}

fn push_generic(cx: &mut Cx<'_>, args: &mut Args<'_>, end: End, create: bool) -> Res {
    let key = args.key();
    let values = args.rest();
    let len = write(cx, key, Kind::List, create, |l| {
        for v in values {
            l.push(end == End::Left, v.to_vec());
        }
        l.len()
    })?;
    if len.is_some() {
        cx.tx.notify(LIST, end.push_event(), key);
        cx.srv.pushed.notify_waiters();
    }
    cx.out.int(len.unwrap_or(0) as i64);
    Ok(())
}

fn lpush(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    push_generic(cx, args, End::Left, true)
}

fn rpush(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    push_generic(cx, args, End::Right, true)
}

fn lpushx(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    push_generic(cx, args, End::Left, false)
}

fn rpushx(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    push_generic(cx, args, End::Right, false)
}

/// Pops up to `n` values from `end` of list `key` (`None`: the key is absent).
pub fn pop_values(
    cx: &mut Cx<'_>,
    key: &[u8],
    end: End,
    n: usize,
) -> Result<Option<Vec<Vec<u8>>>, Failure> {
    let popped = write(cx, key, Kind::List, false, |l| {
        let mut out = Vec::new();
        while out.len() < n && l.len() > 0 {
            let i = if end == End::Left { 0 } else { l.len() - 1 };
            match l.take(i)? {
                Some(v) => out.push(v),
                None => break,
            }
        }
        Ok::<_, bitcask_core::Error>(out)
    })?;
    let popped = popped.transpose()?;
    if popped.as_ref().is_some_and(|p| !p.is_empty()) {
        removed(cx, LIST, end.pop_event(), key);
    }
    Ok(popped)
}

fn pop_generic(cx: &mut Cx<'_>, args: &mut Args<'_>, end: End) -> Res {
    let key = args.key();
    if args.left() > 1 {
        return Err(Failure::arity(if end == End::Left { "lpop" } else { "rpop" }));
    }
    let count = match args.next() {
        None => None,
        Some(c) => match parse_i64(c) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err(Failure::err("value is out of range, must be positive")),
        },
    };
    if count == Some(0) {
        // Redis answers an empty array for an existing list without popping.
        match read(cx, key, Kind::List, |_| ())? {
            Some(()) => cx.out.array(0),
            None => cx.out.null_array(),
        }
        return Ok(());
    }
    let popped = pop_values(cx, key, end, count.unwrap_or(1))?;
    match (popped, count) {
        (None, None) => cx.out.null(),
        (None, Some(_)) => cx.out.null_array(),
        (Some(v), None) => cx.out.opt_bulk(v.first().map(Vec::as_slice)),
        (Some(v), Some(_)) => {
            cx.out.array(v.len());
            for x in v {
                cx.out.bulk(&x);
            }
        }
    }
    Ok(())
}

fn lpop(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    pop_generic(cx, args, End::Left)
}

fn rpop(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    pop_generic(cx, args, End::Right)
}

fn llen(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let n = read(cx, args.key(), Kind::List, |l| l.len())?;
    cx.out.int(n.unwrap_or(0) as i64);
    Ok(())
}

/// `index` (negative from the tail) as a position in a list of `len`.
fn index_of(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { len as i64 + index } else { index };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// A start and stop (negative from the tail, both included) as a range in a list of
/// `len`; empty when it selects nothing.
fn range_of(start: i64, stop: i64, len: usize) -> std::ops::Range<usize> {
    let n = len as i64;
    let start = if start < 0 { (n + start).max(0) } else { start };
    let stop = if stop < 0 { n + stop } else { stop.min(n - 1) };
    if start > stop || start >= n {
        return 0..0;
    }
    start as usize..stop as usize + 1
}

fn lindex(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let index = args.int()?;
    let v = read(cx, key, Kind::List, |l| match index_of(index, l.len()) {
        Some(i) => l.get(i),
        None => Ok(None),
    })?;
    cx.out.opt_bulk(v.transpose()?.flatten().as_deref());
    Ok(())
}

/// The values of `range` of a list.
fn values_in(
    l: &Editor<'_>,
    range: std::ops::Range<usize>,
) -> Result<Vec<Vec<u8>>, bitcask_core::Error> {
    l.range_values(range)
}

fn lrange(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let (start, stop) = (args.int()?, args.int()?);
    let values = read(cx, key, Kind::List, |l| values_in(l, range_of(start, stop, l.len())))?;
    let values = values.transpose()?.unwrap_or_default();
    cx.out.array(values.len());
    for v in values {
        cx.out.bulk(&v);
    }
    Ok(())
}

fn lset(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let index = args.int()?;
    let value = args.key();
    let set = write(cx, key, Kind::List, false, |l| match index_of(index, l.len()) {
        Some(i) => {
            l.set(i, value.to_vec());
            true
        }
        None => false,
    })?;
    match set {
        None => return Err(Failure::err("no such key")),
        Some(false) => return Err(Failure::err("index out of range")),
        Some(true) => {}
    }
    cx.tx.notify(LIST, "lset", key);
    cx.out.ok();
    Ok(())
}

fn ltrim(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let (start, stop) = (args.int()?, args.int()?);
    let done = write(cx, key, Kind::List, false, |l| {
        let keep = range_of(start, stop, l.len());
        let (head, tail) = (keep.start, l.len() - keep.end.max(keep.start));
        let head = if keep.is_empty() { l.len() } else { head };
        for _ in 0..tail.min(l.len()) {
            let last = l.len() - 1;
            l.take(last)?;
        }
        for _ in 0..head.min(l.len()) {
            l.take(0)?;
        }
        Ok::<_, bitcask_core::Error>(())
    })?;
    if done.transpose()?.is_some() {
        removed(cx, LIST, "ltrim", key);
    }
    cx.out.ok();
    Ok(())
}

fn lrem(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let count = args.int()?;
    let value = args.key();
    let taken = write(cx, key, Kind::List, false, |l| {
        let all = values_in(l, 0..l.len())?;
        let mut hits: Vec<usize> =
            all.iter().enumerate().filter(|(_, v)| *v == value).map(|(i, _)| i).collect();
        if count < 0 {
            hits.reverse();
        }
        if count != 0 {
            hits.truncate(count.unsigned_abs() as usize);
        }
        hits.sort_unstable();
        for &i in hits.iter().rev() {
            l.take(i)?;
        }
        Ok::<_, bitcask_core::Error>(hits.len())
    })?;
    let n = taken.transpose()?.unwrap_or(0);
    if n > 0 {
        removed(cx, LIST, "lrem", key);
    }
    cx.out.int(n as i64);
    Ok(())
}

fn linsert(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let key = args.key();
    let after = match args.key() {
        w if is(w, "after") => true,
        w if is(w, "before") => false,
        _ => return Err(Failure::syntax()),
    };
    let (pivot, value) = (args.key(), args.key());
    let len = write(cx, key, Kind::List, false, |l| {
        for i in 0..l.len() {
            if l.get(i)?.as_deref() == Some(pivot) {
                l.insert_at(i + usize::from(after), value.to_vec());
                return Ok(l.len() as i64);
            }
        }
        Ok::<_, bitcask_core::Error>(-1)
    })?;
    let len = len.transpose()?.unwrap_or(0);
    if len > 0 {
        cx.tx.notify(LIST, "linsert", key);
    }
    cx.out.int(len);
    Ok(())
}

/// LPOS's options: RANK, COUNT, MAXLEN.
fn lpos_opts(args: &mut Args<'_>) -> Result<(i64, Option<usize>, usize), Failure> {
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0usize);
    while args.left() > 0 {
        let opt = args.key();
        let v = args.next().ok_or_else(Failure::syntax)?;
        let n = parse_i64(v).ok_or_else(Failure::not_int)?;
        match () {
            _ if is(opt, "rank") => {
                if n == 0 || n == i64::MIN {
                    return Err(Failure::err("RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
                }
                rank = n;
            }
            _ if is(opt, "count") && n < 0 => return Err(Failure::err("COUNT can't be negative")),
            _ if is(opt, "count") => count = Some(n as usize),
            _ if is(opt, "maxlen") && n < 0 => {
                return Err(Failure::err("MAXLEN can't be negative"))
            }
            _ if is(opt, "maxlen") => maxlen = n as usize,
            _ => return Err(Failure::syntax()),
        }
    }
    Ok((rank, count, maxlen))
}

fn lpos(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (key, value) = (args.key(), args.key());
    let (rank, count, maxlen) = lpos_opts(args)?;
    let found = read(cx, key, Kind::List, |l| {
        let len = l.len();
        let limit = if maxlen == 0 { len } else { maxlen.min(len) };
        let want = match count {
            Some(0) => usize::MAX,
            Some(n) => n,
            None => 1,
        };
        let mut skip = rank.unsigned_abs() - 1;
        let mut hits = Vec::new();
        for step in 0..limit {
            let i = if rank > 0 { step } else { len - 1 - step };
            if l.get(i)?.as_deref() == Some(value) {
                if skip > 0 {
                    skip -= 1;
                } else {
                    hits.push(i as i64);
                    if hits.len() >= want {
                        break;
                    }
                }
            }
        }
        Ok::<_, bitcask_core::Error>(hits)
    })?;
    let hits = found.transpose()?.unwrap_or_default();
    match count {
        None => match hits.first() {
            Some(&i) => cx.out.int(i),
            None => cx.out.null(),
        },
        Some(_) => {
            cx.out.array(hits.len());
            for i in hits {
                cx.out.int(i);
            }
        }
    }
    Ok(())
}

/// Moves one value from `from` of list `src` to `to` of list `dst`: the value, `None` when
/// `src` is absent. WRONGTYPE when either key holds another type.
pub fn move_value(
    cx: &mut Cx<'_>,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Result<Option<Vec<u8>>, Failure> {
    // An absent source answers nil before the destination's type is looked at.
    if read(cx, src, Kind::List, |_| ())?.is_none() {
        return Ok(None);
    }
    read(cx, dst, Kind::List, |_| ())?;
    let Some(v) = pop_values(cx, src, from, 1)?.and_then(|mut v| v.pop()) else {
        return Ok(None);
    };
    write(cx, dst, Kind::List, true, |l| l.push(to == End::Left, v.clone()))?;
    cx.tx.notify(LIST, to.push_event(), dst);
    cx.srv.pushed.notify_waiters();
    Ok(Some(v))
}

fn lmove(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (src, dst) = (args.key(), args.key());
    let (from, to) = (End::parse(args.key())?, End::parse(args.key())?);
    let v = move_value(cx, src, dst, from, to)?;
    cx.out.opt_bulk(v.as_deref());
    Ok(())
}

fn rpoplpush(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (src, dst) = (args.key(), args.key());
    let v = move_value(cx, src, dst, End::Right, End::Left)?;
    cx.out.opt_bulk(v.as_deref());
    Ok(())
}

/// A key and the values popped from it.
pub type Popped = (Vec<u8>, Vec<Vec<u8>>);

/// Pops up to `count` values from the first non-empty list of `keys`: its key and values.
pub fn mpop(
    cx: &mut Cx<'_>,
    keys: &[&[u8]],
    end: End,
    count: usize,
) -> Result<Option<Popped>, Failure> {
    for k in keys {
        if let Some(v) = pop_values(cx, k, end, count)? {
            return Ok(Some((k.to_vec(), v)));
        }
    }
    Ok(None)
}

/// The reply of a pop from one of several keys: [key, values] (or [key, value]).
pub fn reply_keyed(cx: &mut Cx<'_>, key: &[u8], values: &[Vec<u8>], nested: bool) {
    cx.out.array(2);
    cx.out.bulk(key);
    if nested {
        cx.out.array(values.len());
    }
    for v in values {
        cx.out.bulk(v);
    }
}

fn lmpop(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    let (keys, end, count) = mpop_args(args, End::parse)?;
    match mpop(cx, keys, end, count)? {
        Some((k, v)) => reply_keyed(cx, &k, &v, true),
        None => cx.out.null_array(),
    }
    Ok(())
}
