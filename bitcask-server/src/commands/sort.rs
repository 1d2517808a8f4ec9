//! SORT and SORT_RO: the elements of a list, set or sorted set, ordered by their own value
//! or by keys their value names (BY), numerically or by bytes (ALPHA), a LIMIT of them,
//! replied as they are or as the keys they name (GET), or stored as a list (STORE).

use bitcask_collections::Kind;

use super::args::{Args, Failure, Res};
use super::members::read;
use super::spec::{Cx, Spec, F_READONLY, F_WRITE, STORE_KEY};
use crate::notify::{GENERIC, LIST};
use crate::tx::Value;

/// The commands.
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    Spec { name: "sort", arity: -2, flags: F_WRITE, keys: (1, STORE_KEY, 1), group: "generic", summary: "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.", run: sort, ..Spec::NONE },
    Spec { name: "sort_ro", arity: -2, flags: F_READONLY, keys: (1, 1, 1), group: "generic", summary: "Returns the sorted elements of a list, a set, or a sorted set.", run: sort_ro, ..Spec::NONE },
];

/// What SORT was asked.
#[derive(Default)]
struct Opts<'a> {
    by: Option<&'a [u8]>,
    gets: Vec<&'a [u8]>,
    offset: i64,
    count: i64,
    desc: bool,
    alpha: bool,
    store: Option<&'a [u8]>,
}

fn parse<'a>(cx: &Cx<'_>, args: &mut Args<'a>, ro: bool) -> Result<Opts<'a>, Failure> {
    let mut o = Opts { count: -1, ..Opts::default() };
    let cluster = cx.srv.cluster.is_some();
    while let Some(a) = args.next() {
        let is = |w: &str| super::args::is(a, w);
        match () {
            _ if is("asc") => o.desc = false,
            _ if is("desc") => o.desc = true,
            _ if is("alpha") => o.alpha = true,
            _ if is("limit") && args.left() >= 2 => {
                (o.offset, o.count) = (args.int()?, args.int()?)
            }
            _ if is("store") && !ro && args.left() >= 1 => o.store = Some(args.key()),
            _ if is("by") && args.left() >= 1 => {
                o.by = Some(args.key());
                if cluster && o.by.is_some_and(|p| p.contains(&b'*')) {
                    return Err(Failure::err("BY option of SORT denied in Cluster mode."));
                }
            }
            _ if is("get") && args.left() >= 1 => {
                if cluster {
                    return Err(Failure::err("GET option of SORT denied in Cluster mode."));
                }
                o.gets.push(args.key());
            }
            _ => return Err(Failure::syntax()),
        }
    }
    Ok(o)
}

/// The value a pattern names for `element`: `#` is the element; the first `*` is replaced
/// by it, and `key->field` reads a hash's field. A pattern without `*`, a missing key or a
/// key of another type names nothing.
fn lookup(cx: &Cx<'_>, pattern: &[u8], element: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(element.to_vec());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let (head, tail) = pattern.split_at(star);
    let tail = tail.get(1..).unwrap_or_default();
    let arrow = tail.windows(2).position(|w| w == b"->").filter(|&i| i + 2 < tail.len());
    let (rest, field) = match arrow {
        Some(i) => (tail.get(..i).unwrap_or_default(), tail.get(i + 2..)),
        None => (tail, None),
    };
    let key = [head, element, rest].concat();
    match field {
        Some(f) => read(cx, &key, Kind::Hash, |h| h.value(f)).ok()??.ok()?,
        None => cx.tx.get(&key).ok()?.map(|(v, _)| v),
    }
}

/// The elements of `key` (a list in order, a set, a sorted set by score; empty when
/// absent), and whether it is a set.
fn elements(cx: &Cx<'_>, key: &[u8], desc: bool) -> Result<(Vec<Vec<u8>>, bool), Failure> {
    let kind = cx.tx.kind_of(key);
    let all = match kind {
        Some(Kind::List) => {
            read(cx, key, Kind::List, |l| l.range_values(0..l.len()))?.transpose()?
        }
        Some(Kind::Set) => {
            read(cx, key, Kind::Set, |s| s.members().iter().map(|m| m.to_vec()).collect())?
        }
        Some(Kind::Zset) => read(cx, key, Kind::Zset, |z| {
            let ranked = z.ranked().iter().map(|(_, m)| m.to_vec());
            if desc {
                ranked.rev().collect()
            } else {
                ranked.collect()
            }
        })?,
        Some(Kind::Hash) => return Err(Failure::wrong_type()),
        None => match cx.tx.exists(key)? {
            true => return Err(Failure::wrong_type()),
            false => None,
        },
    };
    Ok((all.unwrap_or_default(), kind == Some(Kind::Set)))
}

/// An element with what it sorts by.
struct Item {
    element: Vec<u8>,
    score: f64,
    by: Option<Vec<u8>>,
}

fn compare(a: &Item, b: &Item, o: &Opts<'_>) -> std::cmp::Ordering {
    let cmp = match (o.alpha, o.by.is_some()) {
        (false, _) => a.score.total_cmp(&b.score).then_with(|| a.element.cmp(&b.element)),
        // A missing BY value sorts first.
        (true, true) => a.by.cmp(&b.by),
        (true, false) => a.element.cmp(&b.element),
    };
    if o.desc {
        cmp.reverse()
    } else {
        cmp
    }
}

/// The elements in order (all of them when `sorted` is false: BY a constant).
fn order(
    cx: &Cx<'_>,
    all: Vec<Vec<u8>>,
    o: &Opts<'_>,
    sorted: bool,
) -> Result<Vec<Vec<u8>>, Failure> {
    if !sorted {
        return Ok(all);
    }
    let mut items = Vec::with_capacity(all.len());
    for element in all {
        let by = match o.by {
            Some(p) => lookup(cx, p, &element),
            None => None,
        };
        let mut score = 0.0;
        if !o.alpha {
            let text = if o.by.is_some() { by.as_deref() } else { Some(element.as_slice()) };
            if let Some(t) = text {
                score = super::zsets::parse_score(t).ok_or_else(|| {
                    Failure::err("One or more scores can't be converted into double")
                })?;
            }
        }
        items.push(Item { element, score, by });
    }
    items.sort_by(|a, b| compare(a, b, o));
    Ok(items.into_iter().map(|i| i.element).collect())
}

fn run(cx: &mut Cx<'_>, args: &mut Args<'_>, ro: bool) -> Res {
    let key = args.key();
    let mut o = parse(cx, args, ro)?;
    let (all, is_set) = elements(cx, key, o.desc)?;
    let mut sorted = o.by.is_none_or(|p| p.contains(&b'*'));
    // A set BY a constant is still sorted (by bytes) when stored or in a script, so the
    // result does not depend on the set's internal order.
    if !sorted && is_set && (o.store.is_some() || cx.in_exec) {
        (sorted, o.alpha, o.by) = (true, true, None);
    }
    let all = order(cx, all, &o, sorted)?;
    let len = all.len() as i64;
    let start = o.offset.max(0);
    let end = if o.count < 0 { len - 1 } else { start.saturating_add(o.count) - 1 };
    let (start, end) = if start >= len { (len - 1, len - 2) } else { (start, end.min(len - 1)) };
    let picked =
        all.get(start.max(0) as usize..(end + 1).max(start.max(0)) as usize).unwrap_or_default();
    let mut out: Vec<Option<Vec<u8>>> = Vec::new();
    for e in picked {
        if o.gets.is_empty() {
            out.push(Some(e.clone()));
        }
        for g in &o.gets {
            out.push(lookup(cx, g, e));
        }
    }
    match o.store {
        Some(dst) => store(cx, dst, out),
        None => {
            cx.out.array(out.len());
            for v in out {
                cx.out.opt_bulk(v.as_deref());
            }
            Ok(())
        }
    }
}

/// STORE: `dst` becomes a list of `out` (a missing GET an empty string), or is deleted when
/// there is nothing to store.
fn store(cx: &mut Cx<'_>, dst: &[u8], out: Vec<Option<Vec<u8>>>) -> Res {
    let n = out.len();
    if n == 0 {
        if cx.tx.delete(dst)? {
            cx.tx.notify(GENERIC, "del", dst);
        }
    } else {
        let values = out.into_iter().map(|v| (Vec::new(), v.unwrap_or_default())).collect();
        cx.tx.put_value(dst, Value::Collection(Kind::List, values), 0)?;
        cx.tx.notify(LIST, "sortstore", dst);
        cx.srv.pushed.notify_waiters();
    }
    cx.out.int(n as i64);
    Ok(())
}

fn sort(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    run(cx, args, false)
}

fn sort_ro(cx: &mut Cx<'_>, args: &mut Args<'_>) -> Res {
    run(cx, args, true)
}
